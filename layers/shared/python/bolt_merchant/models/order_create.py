"""order.create (reference §3.6, pre-authorisation): Bolt's order token and cart, and the order we answer with."""

from bolt_merchant.models.bolt import Cart
from bolt_merchant.models.common import CurrencyCode, InboundModel, OwnModel, ShortText


class BoltOrder(InboundModel):
    token: ShortText | None = None
    cart: Cart


class OrderCreateRequest(InboundModel):
    """order.create (pre-authorisation): Bolt's order token and the cart the shopper is paying for."""

    order: BoltOrder
    currency: CurrencyCode | None = None


class OrderCreatedData(OwnModel):
    display_id: str
    order_received_url: str
    total: int
