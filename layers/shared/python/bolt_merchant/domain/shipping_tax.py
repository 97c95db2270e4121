"""The shipping and tax hooks: order.shipping, order.tax, order.shipping_and_tax."""

from bolt_merchant.domain.catalog import CatalogReader, CatalogView
from bolt_merchant.domain.errors import BoltCode, HookError
from bolt_merchant.domain.pricing import price_choice, priced_cart
from bolt_merchant.domain.shipping import DeliveryQuote, PickupQuote, ShippingQuote, quote_shipping
from bolt_merchant.domain.tax import compute_tax, region_key
from bolt_merchant.models.bolt import Address, Cart
from bolt_merchant.models.cart_line import CartLine
from bolt_merchant.models.shipping_tax import (
    PickupAddressOut,
    PickupOptionOut,
    ShippingAndTaxData,
    ShippingData,
    ShippingOptionOut,
    ShippingRequest,
    TaxAmountOut,
    TaxData,
    TaxRequest,
    TaxResultOut,
)


def _pickup_out(quote: PickupQuote, tax_amount: int = 0) -> PickupOptionOut:
    store = quote.store
    return PickupOptionOut(
        reference=store.reference,
        store_name=store.store_name,
        cost=store.cost,
        tax_amount=tax_amount,
        address=PickupAddressOut(**store.address.model_dump()),
        distance=quote.distance_miles,
    )


def _delivery_out(quote: DeliveryQuote, tax_amount: int = 0) -> ShippingOptionOut:
    return ShippingOptionOut(service=quote.service, reference=quote.reference, cost=quote.cost, tax_amount=tax_amount)


def _quote(
    request_cart: Cart, address: Address, catalog: CatalogReader
) -> tuple[CatalogView, list[CartLine], ShippingQuote]:
    view, lines = priced_cart(request_cart, catalog)
    return view, lines, quote_shipping(lines, address, view.settings.shipping)


def shipping_options(request: ShippingRequest, catalog: CatalogReader) -> ShippingData:
    _, _, quote = _quote(request.cart, request.shipping_address, catalog)
    return ShippingData(
        shipping_options=[_delivery_out(d) for d in quote.deliveries],
        in_store_pickup_options=[_pickup_out(p) for p in quote.pickups],
    )


def tax(request: TaxRequest, catalog: CatalogReader) -> TaxData:
    choice = request.shipping_option or request.ship_to_store_option
    if choice is None:
        raise HookError(BoltCode.ADDRESS_OR_CART_INVALID, "No shipping option was chosen")
    view, lines = priced_cart(request.cart, catalog)
    priced = price_choice(lines, view, choice.reference, request.shipping_address)
    items_tax = TaxResultOut(subtotal_amount=priced.tax.items_tax)
    if priced.pickup is not None:
        return TaxData(tax_result=items_tax, in_store_pickup_option=_pickup_out(priced.pickup, priced.tax.shipping_tax))
    return TaxData(
        tax_result=items_tax,
        shipping_option=ShippingOptionOut(
            service=priced.service, reference=priced.reference, cost=priced.cost, tax_amount=priced.tax.shipping_tax
        ),
    )


def shipping_and_tax(request: ShippingRequest, catalog: CatalogReader) -> ShippingAndTaxData:
    """Legacy combined hook: delivery options only, each with the cart's total tax if chosen."""
    view, lines, quote = _quote(request.cart, request.shipping_address, catalog)
    address = request.shipping_address
    region = region_key(address.country, address.region, view.settings.tax)
    options = [
        _delivery_out(d, tax_amount=compute_tax(lines, d.cost, region, view.settings.tax).total)
        for d in quote.deliveries
    ]
    return ShippingAndTaxData(shipping_options=options, tax_result=TaxAmountOut(amount=0))
