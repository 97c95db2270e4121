"""What we answer to Bolt's hooks (reference §3.2-§3.6). Amounts are plain integer cents."""

from typing import Literal

from bolt_merchant.models.common import OwnModel


class ShippingOptionOut(OwnModel):
    service: str
    reference: str
    cost: int
    tax_amount: int = 0


class PickupAddressOut(OwnModel):
    street_address1: str
    locality: str
    region: str
    postal_code: str
    country_code: str


class PickupOptionOut(OwnModel):
    reference: str
    store_name: str
    cost: int
    tax_amount: int = 0
    address: PickupAddressOut
    distance: float
    distance_unit: Literal["mile"] = "mile"


class ShippingData(OwnModel):
    """order.shipping: delivery options carry no tax; pickup options come from stores near the address."""

    shipping_options: list[ShippingOptionOut]
    in_store_pickup_options: list[PickupOptionOut]


class TaxResultOut(OwnModel):
    subtotal_amount: int


class TaxData(OwnModel):
    """order.tax: tax on the items, and the chosen option echoed back with the tax on shipping."""

    tax_result: TaxResultOut
    shipping_option: ShippingOptionOut | None = None
    in_store_pickup_option: PickupOptionOut | None = None


class TaxAmountOut(OwnModel):
    amount: int


class ShippingAndTaxData(OwnModel):
    """order.shipping_and_tax: each option carries the cart's whole tax if chosen (Bolt's combined hook)."""

    shipping_options: list[ShippingOptionOut]
    tax_result: TaxAmountOut
