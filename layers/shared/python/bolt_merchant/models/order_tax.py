"""order.tax: the cart and the option the shopper chose, and the tax we answer with (plain integer cents)."""

from pydantic import AliasChoices, Field

from bolt_merchant.models.bolt import Address, Cart
from bolt_merchant.models.common import Cents, InboundModel, OwnModel, ShortText
from bolt_merchant.models.order_shipping import PickupOptionOut, ShippingOptionOut


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
