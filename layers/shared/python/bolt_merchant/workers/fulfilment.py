"""Order submissions and cancellations at the stage's OMS, once per order and action."""

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from bolt_merchant.domain import fanout
from bolt_merchant.domain.fanout import FulfilmentAction, OrderManagement
from bolt_merchant.wiring.fanout import fulfilment_once, order_reader
from bolt_merchant.wiring.oms import order_management
from bolt_merchant.workers.batches import count, queued_event

_FULFILMENT_METRICS = {
    "submitted": "FulfilmentSubmitted",
    "cancelled": "FulfilmentCancelled",
    "never_submitted": "FulfilmentCancelNotNeeded",
}


def _hand_off(order_id: str, action: FulfilmentAction, oms: OrderManagement) -> str:
    outcome = fanout.hand_off(order_id, action, order_reader(), oms)
    count(_FULFILMENT_METRICS[outcome])
    return outcome


def fulfil_order(record: SQSRecord) -> None:
    """Submit or cancel the order at the OMS, once per (order, action)."""
    event = queued_event(record)
    action = fanout.fulfilment_action(event)
    if action is None:
        count("FulfilmentEventIgnored")
        return
    oms = order_management()
    if oms is None:
        count("FulfilmentSkippedNoOms")
        return
    fulfilment_once().run(f"{event.order_id}#{action}", lambda: _hand_off(event.order_id, action, oms))
