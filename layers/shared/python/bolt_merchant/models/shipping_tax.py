"""order.shipping, order.tax and order.shipping_and_tax: what Bolt asks, and what we answer (plain integer cents)."""

from typing import Literal

from pydantic import AliasChoices, Field

from bolt_merchant.models.bolt import Address, Cart
from bolt_merchant.models.common import Cents, InboundModel, OwnModel, ShortText


class ShippingOptionChoice(InboundModel):
    """The option the shopper picked, echoed back to us by order.tax."""

    reference: ShortText
    service: ShortText | None = None
    cost: Cents | None = None


class ShippingRequest(InboundModel):
    """order.shipping and order.shipping_and_tax."""

    cart: Cart
    shipping_address: Address


class TaxRequest(InboundModel):
    """order.tax: called once the shopper has chosen a delivery or pickup option."""

    cart: Cart
    shipping_address: Address | None = None
    shipping_option: ShippingOptionChoice | None = None
    ship_to_store_option: ShippingOptionChoice | None = Field(
        default=None, validation_alias=AliasChoices("ship_to_store_option", "in_store_pickup_option", "pickup_option")
    )


# ---------------------------------------------------------------- answers
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
