"""Applying a transaction webhook to its order: find it (or recover it), apply the event, write the change."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from bolt_merchant.domain.errors import DependencyUnavailable
from bolt_merchant.domain.order_ids import order_id_for
from bolt_merchant.domain.transactions import (
    MONEY_TYPES,
    ORDER_CREATING_TYPES,
    Alert,
    StaleOrder,
    TransactionEvent,
    Transition,
    apply_event,
)
from bolt_merchant.models.carts import StoredCart
from bolt_merchant.models.orders import Order

_OPTIMISTIC_ATTEMPTS = 5
Result = Literal["applied", "duplicate", "ignored"]


class TransactionStore(Protocol):
    def get_order(self, order_id: str) -> Order | None: ...

    def get_cart(self, cart_id: str) -> StoredCart | None: ...

    def order_id_for_reference(self, reference: str) -> str | None: ...

    def apply_transition(self, before: Order, transition: Transition) -> None:
        """Write the new order, its ledger entries and outbox events (and release stock) in one transaction,
        only if the order is still at before.version. Raises StaleOrder otherwise."""
        ...


class OrderNotCreatedYet(DependencyUnavailable):
    """A webhook for a stored cart whose order does not exist: most likely order.create is still running, so Bolt
    is asked to retry. Counted apart, because when it lasts, Bolt holds money for a checkout we never recorded."""


@dataclass(frozen=True)
class WebhookOutcome:
    result: Result
    order_id: str | None = None
    reason: str = ""
    alerts: list[Alert] = field(default_factory=list)


def _order_id(event: TransactionEvent, store: TransactionStore) -> str | None:
    if event.order_reference:
        return order_id_for(event.order_reference)
    if event.display_id:
        return event.display_id
    for reference in (event.source_reference, event.reference):
        if reference and (order_id := store.order_id_for_reference(reference)):
            return order_id
    return None


def handle_transaction(
    event: TransactionEvent,
    store: TransactionStore,
    recover_order: Callable[[TransactionEvent], None],
    now: datetime,
) -> WebhookOutcome:
    """At-least-once, any order: duplicates and late events are acknowledged without effect."""
    if event.hook_type not in MONEY_TYPES:
        return WebhookOutcome("ignored", reason=f"event type {event.hook_type[:40]} is not processed")
    order_id = _order_id(event, store)
    if order_id is None:
        return WebhookOutcome("ignored", reason="no order or cart reference")
    recovered = False
    for _ in range(_OPTIMISTIC_ATTEMPTS):
        order = store.get_order(order_id)
        if order is None:
            if event.hook_type in ORDER_CREATING_TYPES and event.cart is not None and not recovered:
                recover_order(event)  # dropped order: Bolt authorised a cart order.create never recorded
                recovered = True
                continue
            if event.order_reference and store.get_cart(event.order_reference) is not None:
                # the order is probably being created right now (order.create still running): ask Bolt to retry
                raise OrderNotCreatedYet("order for this cart does not exist yet")
            return WebhookOutcome("ignored", order_id=order_id, reason="unknown order")
        transition = apply_event(order, event, now)
        if not transition.ledger:
            return WebhookOutcome("duplicate", order_id=order_id, alerts=transition.alerts)
        try:
            store.apply_transition(order, transition)
        except StaleOrder:
            continue
        return WebhookOutcome("applied", order_id=order_id, alerts=transition.alerts)
    raise DependencyUnavailable("order kept changing while applying a webhook")
