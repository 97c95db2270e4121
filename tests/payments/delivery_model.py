"""What the stateful models of webhook deliveries share: the one over the handler here
(tests/payments/test_webhook_properties.py) and the one that adds faults and the fan-out to it
(tests/reliability/test_stateful.py). Fresh carts, the webhooks a rule may draw and the payload of one, and the
rank an order's payment phase never moves down, and the contradictions an order must be held for."""

import itertools
from typing import Any

from bolt_merchant.orders.models import Order
from hypothesis import Phase

from devstack import bolt_payloads
from tests import seed

MUG = (("MUG-12OZ", 1),)  # 1600 + standard 599 + tax 116 = 2315; 200 in stock, enough for every example
HOOK_TYPES = [
    "pending",
    "auth",
    "capture",
    "payment",
    "credit",
    "void",
    "failed_payment",
    "rejected_reversible",
    "rejected_irreversible",
]
CAPTURE_AMOUNTS = (700, 500, 400)
CREDIT_AMOUNTS = (300, 200, 900)

# Payment phase rank (reliability plan §6): a delivery never moves a payment back; cancelled absorbs. Statuses may:
# an order goes on hold when Bolt's facts contradict it and comes off it when they no longer do.
RANK = {"pending_payment": 0, "review": 1, "authorized": 2}
TERMINAL = {"cancelled"}

# Shrinking replays a failing case hundreds of times through the handlers (minutes here): the examples are small
# already, so a failure is reported as generated, and `@reproduce_failure` in the output replays it.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)

_ids = itertools.count()


def fresh_cart_id(prefix: str) -> str:
    return f"c_{prefix}{next(_ids):05d}"


def drawn_webhook(cart_id: str, bolt_cart: dict[str, Any], kind: str, captures: int, credit: int) -> dict[str, Any]:
    """The transaction webhook a rule drew for the cart: a capture lists the first `captures` of CAPTURE_AMOUNTS, a
    payment captures the whole total, a credit refunds the `credit`-th of CREDIT_AMOUNTS (with its own id)."""
    total = seed.total_of(bolt_cart)
    listed: tuple[tuple[str, int], ...] = ()
    amount = total
    if kind == "capture":
        listed = tuple((bolt_payloads.capture_id(n + 1, cart_id), CAPTURE_AMOUNTS[n]) for n in range(captures))
    elif kind == "payment":
        listed = ((bolt_payloads.capture_id(0, cart_id), total),)
    elif kind == "credit":
        amount = CREDIT_AMOUNTS[credit - 1]
    return bolt_payloads.transaction_webhook(
        kind,
        cart_id=cart_id,
        cart=bolt_cart,
        amount=amount,
        captures=listed,
        credit=bolt_payloads.credit_id(credit, cart_id),
    )


def phase_regressed(before: str | None, after: str) -> bool:
    """Whether an order's payment phase went from `before` (None: not seen yet) to `after` against RANK: out of
    cancelled, or down to a lower rank."""
    if before in TERMINAL:
        return after != before
    return before is not None and after not in TERMINAL and RANK[after] < RANK[before]


def unheld_contradictions(order: Order) -> list[str]:
    """Contradictions between Bolt's facts and the order that the order is not held for (must be none): money
    above what was authorised or captured, money kept on a cancelled payment."""
    found = []
    if (
        order.authorized
        and order.captured > order.authorized + 1
        and "captured_exceeds_authorised" not in order.hold_reasons
    ):
        found.append("captured above authorised")
    if order.refunded > order.captured and "refunded_exceeds_captured" not in order.hold_reasons:
        found.append("refunded above captured")
    kept = order.captured - order.refunded
    if order.phase == "cancelled" and kept > 0 and not order.holds:
        found.append("money kept on a cancelled payment")
    return found
