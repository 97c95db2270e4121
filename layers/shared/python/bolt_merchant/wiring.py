"""Composition root: builds each adapter once per container, on first use, from the function's settings."""

import functools
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bolt_merchant.adapters.aws import dynamodb
from bolt_merchant.adapters.card_events import DynamoCardEvents
from bolt_merchant.adapters.catalog_repository import DynamoCatalog
from bolt_merchant.adapters.checkout_store import DynamoCheckoutStore
from bolt_merchant.adapters.secrets import SecretsProvider
from bolt_merchant.adapters.settings import settings
from bolt_merchant.adapters.transaction_store import DynamoTransactionStore
from bolt_merchant.domain.errors import ConfigurationError

if TYPE_CHECKING:
    from bolt_merchant.adapters.bolt_api import BoltApiClient
    from bolt_merchant.adapters.confirmation_mailer import SesMailer
    from bolt_merchant.adapters.idempotency import OncePerKey
    from bolt_merchant.adapters.oms_client import OmsClient
    from bolt_merchant.adapters.operation_records import OperationRecords
    from bolt_merchant.adapters.order_admin_store import DynamoOrderAdminStore
    from bolt_merchant.adapters.order_reader import DynamoOrderReader
    from bolt_merchant.adapters.outbox_publisher import SqsFanout


@functools.cache
def secrets() -> SecretsProvider:
    return SecretsProvider(settings())


@functools.cache
def catalog() -> DynamoCatalog:
    config = settings()
    return DynamoCatalog(dynamodb(), config.require("catalog_table"), config.catalog_cache_seconds)


@functools.cache
def checkout_store() -> DynamoCheckoutStore:
    config = settings()
    return DynamoCheckoutStore(dynamodb(), config.require("catalog_table"), config.require("orders_table"))


@functools.cache
def transaction_store() -> DynamoTransactionStore:
    config = settings()
    return DynamoTransactionStore(dynamodb(), config.require("catalog_table"), config.require("orders_table"))


@functools.cache
def card_events() -> DynamoCardEvents:
    return DynamoCardEvents(dynamodb(), settings().require("orders_table"))


def _api_key() -> str:
    key = secrets().get().api_key
    if not key:
        raise ConfigurationError("the Bolt secret has no api_key")
    return key


@functools.cache
def bolt_api() -> "BoltApiClient":
    from bolt_merchant.adapters.bolt_api import BoltApiClient  # requests is only loaded where Bolt is called

    return BoltApiClient(settings().bolt_api_base_url, api_key=_api_key)


def now() -> datetime:
    return datetime.now(UTC)


def new_cart_id() -> str:
    return f"c_{uuid.uuid4().hex}"


def order_received_url(order_id: str) -> str:
    return settings().order_received_url.format(order_id=order_id)


def max_body_bytes() -> int:
    return settings().max_body_bytes


# ---------------------------------------------------------------- outbox fan-out
# Imported on first use: only the publisher and consumer functions need these, the hooks' cold starts do not.
@functools.cache
def outbox_publisher() -> "SqsFanout":
    from bolt_merchant.adapters.outbox_publisher import SqsFanout, sqs_client

    config = settings()
    queues = [config.require("confirmation_queue_url"), config.require("fulfilment_queue_url")]
    return SqsFanout(sqs_client(), queues)


@functools.cache
def order_reader() -> "DynamoOrderReader":
    from bolt_merchant.adapters.order_reader import DynamoOrderReader

    return DynamoOrderReader(dynamodb(), settings().require("orders_table"))


@functools.cache
def mailer() -> "SesMailer":
    from bolt_merchant.adapters.confirmation_mailer import SesMailer, ses_client

    return SesMailer(ses_client(), settings().require("confirmation_sender"))


@functools.cache
def order_management() -> "OmsClient | None":
    """None when the stage has no OMS configured."""
    from bolt_merchant.adapters.oms_client import OmsClient

    url = settings().oms_endpoint_url
    return OmsClient(url) if url else None


def _once(name: str) -> "OncePerKey":
    from aws_lambda_powertools.metrics import MetricUnit

    from bolt_merchant.adapters.idempotency import OncePerKey
    from bolt_merchant.observability import metrics

    def replayed() -> None:
        metrics.add_metric(name="DuplicateSuppressed", unit=MetricUnit.Count, value=1)

    return OncePerKey(dynamodb(), settings().require("idempotency_table"), name, on_replay=replayed)


@functools.cache
def confirmation_once() -> "OncePerKey":
    return _once("confirmation-email")


@functools.cache
def fulfilment_once() -> "OncePerKey":
    return _once("fulfilment")


# ---------------------------------------------------------------- back office
# Bolt calls made while an operator waits behind API Gateway's 29 s limit: 3 attempts of at most ~8 s each.
BACKOFFICE_BOLT_TIMEOUT = (3.05, 5.0)
BACKOFFICE_BOLT_ATTEMPTS = 3


@functools.cache
def backoffice_bolt_api() -> "BoltApiClient":
    from bolt_merchant.adapters.bolt_api import BoltApiClient

    return BoltApiClient(
        settings().bolt_api_base_url,
        api_key=_api_key,
        timeout=BACKOFFICE_BOLT_TIMEOUT,
        max_attempts=BACKOFFICE_BOLT_ATTEMPTS,
    )


@functools.cache
def order_admin_store() -> "DynamoOrderAdminStore":
    from bolt_merchant.adapters.order_admin_store import DynamoOrderAdminStore

    config = settings()
    return DynamoOrderAdminStore(dynamodb(), config.require("catalog_table"), config.require("orders_table"))


@functools.cache
def operation_records() -> "OperationRecords":
    from bolt_merchant.adapters.operation_records import OperationRecords

    return OperationRecords(dynamodb(), settings().require("idempotency_table"))


def reset() -> None:
    """Forget every adapter and setting (tests and the local stack change the environment between runs)."""
    for factory in (secrets, catalog, checkout_store, transaction_store, card_events, bolt_api, settings, dynamodb):
        factory.cache_clear()
    for fanout_factory in (
        outbox_publisher,
        order_reader,
        mailer,
        order_management,
        confirmation_once,
        fulfilment_once,
        backoffice_bolt_api,
        order_admin_store,
        operation_records,
    ):
        fanout_factory.cache_clear()
