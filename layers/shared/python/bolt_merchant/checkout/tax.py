"""order.tax: tax on the items and on the option the shopper chose, by region, rounded half up per line."""

from pydantic import AliasChoices, Field

from bolt_merchant.bolt.cart import Address, Cart
from bolt_merchant.bolt.signed import Hook
from bolt_merchant.catalog.models import CatalogReader
from bolt_merchant.catalog.store import catalog
from bolt_merchant.checkout.pricing import price_choice, priced_cart
from bolt_merchant.checkout.shipping import PickupOptionOut, ShippingOptionOut, pickup_option
from bolt_merchant.core.errors import BoltCode, Invalid
from bolt_merchant.core.models import Cents, InboundModel, OwnModel, ShortText


class ShippingOptionChoice(InboundModel):
    """The option the shopper picked, echoed back to us by order.tax."""

    reference: ShortText
    service: ShortText | None = None
    cost: Cents | None = None


class TaxRequest(InboundModel):
    """order.tax: called once the shopper has chosen a delivery or pickup option."""

    cart: Cart
    shipping_address: Address | None = None
    shipping_option: ShippingOptionChoice | None = None
    ship_to_store_option: ShippingOptionChoice | None = Field(
        default=None, validation_alias=AliasChoices("ship_to_store_option", "in_store_pickup_option", "pickup_option")
    )


class TaxResultOut(OwnModel):
    subtotal_amount: int


class TaxData(OwnModel):
    """order.tax: tax on the items, and the chosen option echoed back with the tax on shipping."""

    tax_result: TaxResultOut
    shipping_option: ShippingOptionOut | None = None
    in_store_pickup_option: PickupOptionOut | None = None


def tax(request: TaxRequest, catalog: CatalogReader) -> TaxData:
    choice = request.shipping_option or request.ship_to_store_option
    if choice is None:
        raise Invalid("No shipping option was chosen", BoltCode.ADDRESS_OR_CART_INVALID)
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


TAX = Hook("order.tax", TaxRequest, lambda r: tax(r, catalog()))
