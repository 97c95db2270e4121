"""order.shipping: the cart and the shopper's address, and the delivery and pickup options we answer with (plain
integer cents). order.shipping_and_tax asks the same, and order.tax answers with the same options."""

from typing import Literal

from bolt_merchant.models.bolt import Address, Cart
from bolt_merchant.models.common import InboundModel, OwnModel


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
