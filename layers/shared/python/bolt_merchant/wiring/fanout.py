"""What both fan-out consumers use: the order as stored, the confirmation mailer, once-per-key idempotency."""

from aws_lambda_powertools.metrics import MetricUnit

from bolt_merchant.adapters.aws import dynamodb
from bolt_merchant.adapters.confirmation_mailer import SesMailer, ses_client
from bolt_merchant.adapters.idempotency import OncePerKey
from bolt_merchant.adapters.order_reader import DynamoOrderReader
from bolt_merchant.adapters.settings import settings
from bolt_merchant.observability import metrics
from bolt_merchant.wiring import per_container


@per_container
def order_reader() -> DynamoOrderReader:
    return DynamoOrderReader(dynamodb(), settings().require("orders_table"))


@per_container
def mailer() -> SesMailer:
    return SesMailer(ses_client(), settings().require("confirmation_sender"))


def _once(name: str) -> OncePerKey:
    def replayed() -> None:
        metrics.add_metric(name="DuplicateSuppressed", unit=MetricUnit.Count, value=1)

    return OncePerKey(dynamodb(), settings().require("idempotency_table"), name, on_replay=replayed)


@per_container
def confirmation_once() -> OncePerKey:
    return _once("confirmation-email")


@per_container
def fulfilment_once() -> OncePerKey:
    return _once("fulfilment")
