"""order.tax: tax on the items and on the option the shopper chose, by region, rounded half up per line."""

from bolt_merchant.domain.catalog import CatalogReader
from bolt_merchant.domain.errors import BoltCode, HookError
from bolt_merchant.domain.order_shipping import pickup_option
from bolt_merchant.domain.pricing import price_choice, priced_cart
from bolt_merchant.models.order_shipping import ShippingOptionOut
from bolt_merchant.models.order_tax import TaxData, TaxRequest, TaxResultOut


def tax(request: TaxRequest, catalog: CatalogReader) -> TaxData:
    choice = request.shipping_option or request.ship_to_store_option
    if choice is None:
        raise HookError(BoltCode.ADDRESS_OR_CART_INVALID, "No shipping option was chosen")
    view, lines = priced_cart(request.cart, catalog)
    priced = price_choice(lines, view, choice.reference, request.shipping_address)
    items_tax = TaxResultOut(subtotal_amount=priced.tax.items_tax)
    if priced.pickup is not None:
        pickup = pickup_option(priced.pickup, priced.tax.shipping_tax)
        return TaxData(tax_result=items_tax, in_store_pickup_option=pickup)
    return TaxData(
        tax_result=items_tax,
        shipping_option=ShippingOptionOut(
            service=priced.service, reference=priced.reference, cost=priced.cost, tax_amount=priced.tax.shipping_tax
        ),
    )
