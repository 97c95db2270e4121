"""order.shipping: delivery options by country, free over a threshold, and in-store pickup near the address.

The options are built here for order.tax and order.shipping_and_tax too.
"""

from bolt_merchant.domain.catalog import CatalogReader, CatalogView
from bolt_merchant.domain.pricing import priced_cart
from bolt_merchant.domain.shipping import DeliveryQuote, PickupQuote, ShippingQuote, quote_shipping
from bolt_merchant.models.bolt import Address, Cart
from bolt_merchant.models.cart_line import CartLine
from bolt_merchant.models.order_shipping import (
    PickupAddressOut,
    PickupOptionOut,
    ShippingData,
    ShippingOptionOut,
    ShippingRequest,
)


def pickup_option(quote: PickupQuote, tax_amount: int = 0) -> PickupOptionOut:
    store = quote.store
    return PickupOptionOut(
        reference=store.reference,
        store_name=store.store_name,
        cost=store.cost,
        tax_amount=tax_amount,
        address=PickupAddressOut(**store.address.model_dump()),
        distance=quote.distance_miles,
    )


def delivery_option(quote: DeliveryQuote, tax_amount: int = 0) -> ShippingOptionOut:
    return ShippingOptionOut(service=quote.service, reference=quote.reference, cost=quote.cost, tax_amount=tax_amount)


def quoted(
    request_cart: Cart, address: Address, catalog: CatalogReader
) -> tuple[CatalogView, list[CartLine], ShippingQuote]:
    view, lines = priced_cart(request_cart, catalog)
    return view, lines, quote_shipping(lines, address, view.settings.shipping)


def shipping_options(request: ShippingRequest, catalog: CatalogReader) -> ShippingData:
    _, _, quote = quoted(request.cart, request.shipping_address, catalog)
    return ShippingData(
        shipping_options=[delivery_option(d) for d in quote.deliveries],
        in_store_pickup_options=[pickup_option(p) for p in quote.pickups],
    )
