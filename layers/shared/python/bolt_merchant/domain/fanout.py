"""Outbox fan-out: how an order event travels to the consumer queues, and what each consumer does with it.

Every consumer queue receives every event (the queue is that consumer's log) and each consumer picks what it acts
on here, so a new event type or a new interest needs no publisher change. No AWS in this module: adapters
implement the ports below.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, Protocol

from bolt_merchant.models.orders import Order, OutboxEvent

CONFIRMATION_EVENTS = frozenset({"order.authorized", "order.paid"})


class FulfilmentAction(StrEnum):
    SUBMIT = "submit"
    CANCEL = "cancel"


_FULFILMENT_ACTIONS = {
    "order.authorized": FulfilmentAction.SUBMIT,
    "order.paid": FulfilmentAction.SUBMIT,
    "order.cancelled": FulfilmentAction.CANCEL,
}


class OrderMissing(Exception):
    """An event names an order that is not stored: a data fault, left to the DLQ and its alarm."""


@dataclass(frozen=True)
class QueueMessage:
    group_id: str
    deduplication_id: str
    body: str


def queue_message(event: OutboxEvent) -> QueueMessage:
    """One order's events stay in order (group = order); a re-published event is dropped by SQS inside its
    5-minute deduplication window (dedup id = event id), and consumers are idempotent beyond it."""
    return QueueMessage(group_id=event.order_id, deduplication_id=event.event_id, body=event.model_dump_json())


class OrderReader(Protocol):
    def get_order(self, order_id: str) -> Order | None: ...


# ---------------------------------------------------------------- order confirmation email
@dataclass(frozen=True)
class EmailMessage:
    subject: str
    text: str


class Mailer(Protocol):
    def send(self, to: str, message: EmailMessage) -> None: ...


ConfirmationOutcome = Literal["sent", "no_contact", "order_cancelled"]


def wants_confirmation(event: OutboxEvent) -> bool:
    return event.event_type in CONFIRMATION_EVENTS


def _amount(cents: int, currency: str) -> str:
    return f"{currency} {cents // 100}.{cents % 100:02d}"


def confirmation_email(order: Order) -> EmailMessage:
    totals = order.totals
    text = [f"Thank you for your order {order.order_id}.", ""]
    text += [f"  {line.quantity} x {line.name}: {_amount(line.total, order.currency)}" for line in order.lines]
    text += ["", f"Subtotal: {_amount(totals.subtotal, order.currency)}"]
    if totals.discount:
        text.append(f"Discount: -{_amount(totals.discount, order.currency)}")
    text += [
        f"Shipping: {_amount(totals.shipping, order.currency)}",
        f"Tax: {_amount(totals.tax, order.currency)}",
        f"Total: {_amount(totals.total, order.currency)}",
        "",
        "We will let you know when it ships.",
    ]
    return EmailMessage(subject=f"Your order {order.order_id} is confirmed", text="\n".join(text))


def send_confirmation(order_id: str, orders: OrderReader, mailer: Mailer) -> ConfirmationOutcome:
    """Email the shopper that the order is confirmed. Called at most once per order (the caller's idempotency)."""
    order = orders.get_order(order_id)
    if order is None:
        raise OrderMissing(order_id)
    if order.status == "cancelled":  # the event was late: never confirm an order the shopper saw cancelled
        return "order_cancelled"
    if not order.contact_email:
        return "no_contact"
    mailer.send(order.contact_email, confirmation_email(order))
    return "sent"


# ---------------------------------------------------------------- fulfilment hand-off
class OrderManagement(Protocol):
    def submit(self, order: Mapping[str, Any], idempotency_key: str) -> None: ...

    def cancel(self, cancellation: Mapping[str, Any], idempotency_key: str) -> None: ...


FulfilmentOutcome = Literal["submitted", "cancelled", "never_submitted"]


def fulfilment_action(event: OutboxEvent) -> FulfilmentAction | None:
    return _FULFILMENT_ACTIONS.get(event.event_type)


def oms_order(order: Order) -> dict[str, Any]:
    """What the OMS needs to pick, pack and ship: no payment details, no contact data."""
    return {
        "order_id": order.order_id,
        "currency": order.currency,
        "items": [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "needs_shipping": line.needs_shipping,
            }
            for line in order.lines
        ],
        "shipping": order.shipping.model_dump() if order.shipping else None,
        "totals": order.totals.model_dump(),
    }


def hand_off(order_id: str, action: FulfilmentAction, orders: OrderReader, oms: OrderManagement) -> FulfilmentOutcome:
    """Submit or cancel the order at the OMS. Called at most once per (order, action) (the caller's idempotency);
    the Idempotency-Key lets the OMS drop a repeat that slips past it (a Lambda that died after the POST)."""
    order = orders.get_order(order_id)
    if order is None:
        raise OrderMissing(order_id)
    if action is FulfilmentAction.SUBMIT:
        oms.submit(oms_order(order), idempotency_key=order_id)
        return "submitted"
    if not order.authorized:  # declined before authorisation: the OMS never heard of this order
        return "never_submitted"
    # A key of its own: some systems scope keys across paths, and the submission already used the order id.
    oms.cancel({"order_id": order_id}, idempotency_key=f"{order_id}:cancel")
    return "cancelled"
