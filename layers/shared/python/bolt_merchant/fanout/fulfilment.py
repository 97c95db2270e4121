"""FulfilmentQueue.fifo: order submissions and cancellations at the stage's OMS, once per order and action."""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal, Protocol

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from bolt_merchant.core.observability import count
from bolt_merchant.core.settings import per_container, settings
from bolt_merchant.fanout.consumers import (
    Deferred,
    OrderReader,
    once_per_key,
    order_to_act_on,
    queued_event,
)
from bolt_merchant.orders.models import Order, OutboxEvent
from bolt_merchant.orders.table import order_reader


class FulfilmentAction(StrEnum):
    SUBMIT = "submit"
    CANCEL = "cancel"


_FULFILMENT_ACTIONS = {
    "order.authorized": FulfilmentAction.SUBMIT,
    "order.paid": FulfilmentAction.SUBMIT,
    "order.released": FulfilmentAction.SUBMIT,
    "order.cancelled": FulfilmentAction.CANCEL,
}


# ---------------------------------------------------------------- fulfilment hand-off
class OrderManagement(Protocol):
    def submit(self, order: Mapping[str, Any], idempotency_key: str) -> None: ...

    def cancel(self, cancellation: Mapping[str, Any], idempotency_key: str) -> None: ...


FulfilmentOutcome = Literal["submitted", "cancelled", "never_submitted"]


def fulfilment_action(event: OutboxEvent) -> FulfilmentAction | None:
    return _FULFILMENT_ACTIONS.get(event.event_type)


def oms_order(order: Order) -> dict[str, Any]:
    """What the OMS needs to pick, pack and ship: the lines, the delivery option, where it goes and whom to
    contact. No payment details."""
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
        "shipping_addresses": [address.model_dump() for address in order.shipping_addresses],
        "billing_address": order.billing_address.model_dump() if order.billing_address else None,
        "contact_email": order.contact_email,
        "totals": order.totals.model_dump(),
    }


def hand_off(
    order_id: str, action: FulfilmentAction, orders: OrderReader, oms: OrderManagement, released: bool = False
) -> FulfilmentOutcome:
    """Submit or cancel the order at the OMS. Called at most once per (order, action) (the caller's idempotency);
    the Idempotency-Key lets the OMS drop a repeat that slips past it (a Lambda that died after the POST)."""
    order = order_to_act_on(order_id, orders)
    if released and order.phase != "authorized":
        raise Deferred("not_authorised")  # released from a hold with no authorisation standing: nothing to ship
    if action is FulfilmentAction.SUBMIT:
        oms.submit(oms_order(order), idempotency_key=order_id)
        return "submitted"
    if not order.authorized:  # declined before authorisation: the OMS never heard of this order
        return "never_submitted"
    # A key of its own: some systems scope keys across paths, and the submission already used the order id.
    oms.cancel({"order_id": order_id}, idempotency_key=f"{order_id}:cancel")
    return "cancelled"


_FULFILMENT_METRICS = {
    "submitted": "FulfilmentSubmitted",
    "cancelled": "FulfilmentCancelled",
    "never_submitted": "FulfilmentCancelNotNeeded",
}


def _hand_off(order_id: str, action: FulfilmentAction, oms: OrderManagement, released: bool) -> str:
    outcome = hand_off(order_id, action, order_reader(), oms, released)
    count(_FULFILMENT_METRICS[outcome])
    return outcome


def fulfil_order(record: SQSRecord) -> None:
    """Submit or cancel the order at the OMS, once per (order, action)."""
    event = queued_event(record)
    action = fulfilment_action(event)
    if action is None:
        count("FulfilmentEventIgnored")
        return
    oms = order_management()
    if oms is None:
        count("FulfilmentSkippedNoOms")
        return
    key = f"{event.order_id}#{action}"
    released = event.event_type == "order.released"
    fulfilment_once().run(key, lambda: _hand_off(event.order_id, action, oms, released), "FulfilmentDeferred")


@per_container
def order_management() -> OrderManagement | None:
    """None when the stage has no OMS configured."""
    url = settings().oms_endpoint_url
    if not url:
        return None
    # Imported only for a stage with an OMS: the client needs requests, which a stage without one never loads.
    from bolt_merchant.fanout.oms import OmsClient, oms_signing_secret

    return OmsClient(url, signing_secret=oms_signing_secret)


fulfilment_once = once_per_key("fulfilment")
