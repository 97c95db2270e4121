"""ConfirmationEmailQueue.fifo: order confirmation emails through SES."""

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from bolt_merchant.domain import fanout
from bolt_merchant.wiring.fanout import confirmation_once, mailer, order_reader
from bolt_merchant.workers.batches import count, queued_event

_CONFIRMATION_METRICS = {
    "sent": "ConfirmationSent",
    "no_contact": "ConfirmationWithoutContact",
    "order_cancelled": "ConfirmationOrderCancelled",
}


def _send_confirmation(order_id: str) -> str:
    outcome = fanout.send_confirmation(order_id, order_reader(), mailer())
    count(_CONFIRMATION_METRICS[outcome])
    return outcome


def confirm_order(record: SQSRecord) -> None:
    """One confirmation email per order, whichever of its events asks for it and however often."""
    event = queued_event(record)
    if not fanout.wants_confirmation(event):
        count("ConfirmationEventIgnored")
        return
    confirmation_once().run(event.order_id, lambda: _send_confirmation(event.order_id))
