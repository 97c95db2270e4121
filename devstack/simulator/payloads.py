"""What Bolt knows about the shopper's checkout at each step, and the payloads it sends for it: the hooks' data, the
order.create cart and the transaction webhooks, all built by devstack/bolt_payloads.py from this state."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from devstack import bolt_payloads as bolt
from devstack.bolt_payloads import SF_ADDRESS, Line

sign = bolt.sign  # devstack/bench reads it from here


@dataclass(frozen=True)
class Delivery:
    """The option the shopper chose: a delivery option or a pickup store, as the hooks priced it."""

    reference: str
    service: str
    cost: int
    pickup: bool = False
    shipping_tax: int = 0  # from order.tax


@dataclass(frozen=True)
class Discount:
    code: str
    amount: int


@dataclass
class CartState:
    """Everything Bolt knows about the shopper's cart at a point of the checkout."""

    cart_id: str
    currency: str
    lines: list[Line]
    address: Mapping[str, Any] = field(default_factory=lambda: dict(SF_ADDRESS))
    token: str | None = None
    delivery: Delivery | None = None
    items_tax: int = 0
    discount: Discount | None = None
    display_id: str = ""

    @property
    def subtotal(self) -> int:
        return sum(line.total for line in self.lines)

    @property
    def tax(self) -> int:
        return self.items_tax + (self.delivery.shipping_tax if self.delivery else 0)

    @property
    def shipping(self) -> int:
        return self.delivery.cost if self.delivery else 0

    @property
    def discount_amount(self) -> int:
        return self.discount.amount if self.discount else 0

    @property
    def total(self) -> int:
        """What the shopper pays, from the hooks' answers: items - discount + shipping + tax."""
        return self.subtotal - self.discount_amount + self.shipping + self.tax


def _hook_cart(cart: CartState) -> dict[str, Any]:
    return bolt.hook_cart(cart.cart_id, cart.lines, display_id=cart.display_id, address=cart.address)


def shipping_request(cart: CartState) -> dict[str, Any]:
    return bolt.shipping_request(_hook_cart(cart), address=cart.address, token=cart.token)


def tax_request(cart: CartState, delivery: Delivery) -> dict[str, Any]:
    """order.tax once the shopper chose: pickup stores go as ship_to_store_option (§3.5)."""
    option = {"reference": delivery.reference, "service": delivery.service, "cost": delivery.cost}
    return bolt.tax_request(option, _hook_cart(cart), pickup=delivery.pickup, address=cart.address, token=cart.token)


def order_cart(cart: CartState) -> dict[str, Any]:
    """The cart of order.create, of discounts.code.apply and of every transaction's order (§3.3)."""
    delivery = cart.delivery
    return bolt.order_cart(
        cart.cart_id,
        cart.lines,
        shipping=(delivery.reference, delivery.service, delivery.cost) if delivery else None,
        tax=cart.tax,
        discounts=[(cart.discount.code, cart.discount.amount)] if cart.discount else [],
        display_id=cart.display_id,
        address=cart.address,
    )


def discount_request(cart: CartState, code: str) -> dict[str, Any]:
    return bolt.discount_apply(code, order_cart(cart), cart.address)


def order_create_request(cart: CartState) -> dict[str, Any]:
    return bolt.order_create(order_cart(cart), cart.token)


@dataclass(frozen=True)
class Capture:
    id: str
    amount: int


@dataclass
class Payment:
    """The shopper's cc_payment transaction at Bolt, and the captures and credits made on it so far."""

    id: str
    reference: str
    amount: int
    currency: str
    cart: CartState
    captures: list[Capture] = field(default_factory=list)
    refunded: int = 0

    @property
    def captured(self) -> int:
        return sum(c.amount for c in self.captures)


def transaction(
    payment: Payment, status: str, captures: Sequence[Capture] = (), authorization: str = "succeeded"
) -> dict[str, Any]:
    """The payment transaction (§4.3), as the webhook's data."""
    return bolt.transaction(
        id=payment.id,
        reference=payment.reference,
        status=status,
        amount=payment.amount,
        cart=order_cart(payment.cart),
        token=payment.cart.token,
        currency=payment.currency,
        captures=[(capture.id, capture.amount) for capture in captures],
        authorization=authorization,
        refunded=payment.refunded,
    )


def credit_transaction(payment: Payment, credit_id: str, credit_reference: str, amount: int) -> dict[str, Any]:
    """A refund: its own cc_credit transaction pointing at the payment."""
    paid = transaction(payment, "completed", payment.captures)
    return bolt.credit_transaction(paid, id=credit_id, reference=credit_reference, amount=amount)
