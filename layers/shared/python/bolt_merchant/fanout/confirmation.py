"""ConfirmationEmailQueue.fifo: one order confirmation email per order, through SES, once it is authorised or paid."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import boto3
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bolt_merchant.core.aws import error_code
from bolt_merchant.core.errors import DependencyUnavailable
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

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient


CONFIRMATION_EVENTS = frozenset({"order.authorized", "order.paid", "order.released"})


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
    order = order_to_act_on(order_id, orders)  # a held order is confirmed once it is released
    if order.status == "cancelled":  # the event was late: never confirm an order the shopper saw cancelled
        return "order_cancelled"
    if order.phase != "authorized":  # released from a hold before any authorisation: nothing to confirm yet
        raise Deferred("not_authorised")
    if not order.contact_email:
        return "no_contact"
    mailer.send(order.contact_email, confirmation_email(order))
    return "sent"


_CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 5})


def ses_client() -> "SESClient":
    return boto3.client("ses", config=_CLIENT_CONFIG)


class SesMailer:
    def __init__(self, client: "SESClient", sender: str) -> None:
        self._client = client
        self._sender = sender

    def send(self, to: str, message: EmailMessage) -> None:
        try:
            self._client.send_email(
                Source=self._sender,
                Destination={"ToAddresses": [to]},
                Message={
                    "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": message.text, "Charset": "UTF-8"}},
                },
            )
        # SES error messages quote the addresses involved: keep only the code, and no chained cause in tracebacks.
        except ClientError as exc:
            raise DependencyUnavailable(f"confirmation email failed: {error_code(exc)}") from None
        except BotoCoreError as exc:
            raise DependencyUnavailable(f"confirmation email unreachable: {type(exc).__name__}") from None


_CONFIRMATION_METRICS = {
    "sent": "ConfirmationSent",
    "no_contact": "ConfirmationWithoutContact",
    "order_cancelled": "ConfirmationOrderCancelled",
}


def _send_confirmation(order_id: str) -> str:
    outcome = send_confirmation(order_id, order_reader(), mailer())
    count(_CONFIRMATION_METRICS[outcome])
    return outcome


def confirm_order(record: SQSRecord) -> None:
    """One confirmation email per order, whichever of its events asks for it and however often."""
    event = queued_event(record)
    if not wants_confirmation(event):
        count("ConfirmationEventIgnored")
        return
    confirmation_once().run(event.order_id, lambda: _send_confirmation(event.order_id), "ConfirmationDeferred")


@per_container
def mailer() -> SesMailer:
    return SesMailer(ses_client(), settings().require("confirmation_sender"))


confirmation_once = once_per_key("confirmation-email")
