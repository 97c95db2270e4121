"""order.shipping_and_tax (Bolt's legacy combined hook): asked as order.shipping, answered with each delivery
option carrying the cart's whole tax if chosen."""

from bolt_merchant.bolt.signed import Hook
from bolt_merchant.catalog.models import CatalogReader
from bolt_merchant.catalog.store import catalog
from bolt_merchant.checkout.pricing import compute_tax, region_key
from bolt_merchant.checkout.shipping import ShippingOptionOut, ShippingRequest, delivery_option, quoted
from bolt_merchant.core.models import OwnModel


class TaxAmountOut(OwnModel):
    amount: int


class ShippingAndTaxData(OwnModel):
    """order.shipping_and_tax: each option carries the cart's whole tax if chosen (Bolt's combined hook)."""

    shipping_options: list[ShippingOptionOut]
    tax_result: TaxAmountOut


def shipping_and_tax(request: ShippingRequest, catalog: CatalogReader) -> ShippingAndTaxData:
    """Legacy combined hook: delivery options only, each with the cart's total tax if chosen."""
    view, lines, quote = quoted(request.cart, request.shipping_address, catalog)
    address = request.shipping_address
    region = region_key(address.country, address.region, view.settings.tax)
    options = [
        delivery_option(d, tax_amount=compute_tax(lines, d.cost, region, view.settings.tax).total)
        for d in quote.deliveries
    ]
    return ShippingAndTaxData(shipping_options=options, tax_result=TaxAmountOut(amount=0))


SHIPPING_AND_TAX = Hook("order.shipping_and_tax", ShippingRequest, lambda r: shipping_and_tax(r, catalog()))
