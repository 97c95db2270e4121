"""What the checkout domain needs from storage and from Bolt; adapters implement these."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bolt_merchant.domain.discounts import DiscountRecord
from bolt_merchant.models.carts import StoredCart

if TYPE_CHECKING:  # only order.create's store handles orders: carts and discount codes need no order models
    from bolt_merchant.models.orders import Order, OutboxEvent


@dataclass(frozen=True)
class CheckoutSnapshot:
    """Everything order.create reads, fetched together."""

    cart: StoredCart | None
    order: "Order | None"
    discounts: dict[str, DiscountRecord]


class OrderExists(Exception):
    """The order for this cart was written by someone else first (a retried or concurrent order.create)."""


class OutOfStock(Exception):
    def __init__(self, sku: str) -> None:
        super().__init__(sku)
        self.sku = sku


class DiscountExhausted(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class CartConflict(Exception):
    """The cart changed (or became an order) since it was read."""


class CartStore(Protocol):
    def get_cart(self, cart_id: str) -> StoredCart | None: ...

    def cart_with_discounts(
        self, cart_id: str | None, codes: Iterable[str]
    ) -> tuple[StoredCart | None, dict[str, DiscountRecord]]:
        """The cart (None when cart_id is None or unknown) and the codes found, in one read."""
        ...

    def create_cart(self, cart: StoredCart) -> None: ...

    def replace_cart(self, cart: StoredCart, expected_version: int) -> None:
        """Raises CartConflict when the stored version is not expected_version or the cart is no longer open."""
        ...

    def discounts(self, codes: Iterable[str]) -> dict[str, DiscountRecord]: ...


class CheckoutStore(CartStore, Protocol):
    def get_order(self, order_id: str) -> "Order | None": ...

    def snapshot(self, cart_id: str, order_id: str, codes: Iterable[str]) -> CheckoutSnapshot: ...

    def create_order(self, order: "Order", event: "OutboxEvent", discount_limits: Mapping[str, int | None]) -> None:
        """Atomically: write the order, reserve every line's stock, count each discount use, close the cart,
        and record the event. Raises OrderExists, OutOfStock or DiscountExhausted and writes nothing then."""
        ...


class BoltOrderTokens(Protocol):
    def create_order_token(self, order_request: dict[str, Any]) -> str: ...
