"""order.shipping: delivery options by country, free over a threshold, and in-store pickup near the address
(plain integer cents). order.shipping_and_tax asks the same, and order.tax answers with the same options."""

from typing import Literal

from bolt_merchant.bolt.cart import Address, Cart
from bolt_merchant.bolt.signed import Hook
from bolt_merchant.catalog.models import CatalogReader, CatalogView
from bolt_merchant.catalog.store import catalog
from bolt_merchant.checkout.pricing import DeliveryQuote, PickupQuote, ShippingQuote, priced_cart, quote_shipping
from bolt_merchant.core.models import CartLine, InboundModel, OwnModel


class ShippingRequest(InboundModel):
    """order.shipping and order.shipping_and_tax."""

    cart: Cart
    shipping_address: Address


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


SHIPPING = Hook("order.shipping", ShippingRequest, lambda r: shipping_options(r, catalog()))
