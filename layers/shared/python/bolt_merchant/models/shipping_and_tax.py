"""order.shipping_and_tax (Bolt's legacy combined hook): asked as order.shipping, answered with each delivery
option carrying the cart's whole tax if chosen."""

from bolt_merchant.models.common import OwnModel
from bolt_merchant.models.order_shipping import ShippingOptionOut


class TaxAmountOut(OwnModel):
    amount: int


class ShippingAndTaxData(OwnModel):
    """order.shipping_and_tax: each option carries the cart's whole tax if chosen (Bolt's combined hook)."""

    shipping_options: list[ShippingOptionOut]
    tax_result: TaxAmountOut
