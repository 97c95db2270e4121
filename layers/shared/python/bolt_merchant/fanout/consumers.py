"""What both FIFO consumers share: Powertools batch processing with partial responses (a failed record holds back
only the later records of its own order), the queued event, and at-most-once side effects per key (Powertools
Idempotency on the IdempotencyTable)."""

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol, cast

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from bolt_merchant.core.aws import dynamodb
from bolt_merchant.core.observability import FAILURE_LOGGER, LambdaHandler, count, logger, metrics, tracer
from bolt_merchant.core.settings import per_container, settings
from bolt_merchant.orders.models import Order, OutboxEvent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def fifo_consumer_function(
    record_handler: Callable[[SQSRecord], None], once: Callable[[], "OncePerKey"]
) -> LambdaHandler:
    """A FIFO queue consumer: a failed record holds back only the later records of its own order (group)."""
    processor = SqsFifoPartialProcessor(skip_group_on_error=True, logger=FAILURE_LOGGER)

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        once().register_lambda_context(context)
        return dict(
            process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
        )

    return cast(LambdaHandler, lambda_handler)


def queued_event(record: SQSRecord) -> OutboxEvent:
    event = OutboxEvent.model_validate_json(record.body)  # an unparseable body fails this record only
    logger.append_keys(event_id=event.event_id, order_id=event.order_id)
    return event


# Longer than an authorisation stays capturable and than a message can live in a queue and then its DLQ
# (14 days), so a later event or a redrive for the same order still finds the record. Powertools' default is 1 h.
RECORD_LIFETIME = timedelta(days=30)


def _run(*, key: str, action: Callable[[], str]) -> str:  # noqa: ARG001 - `key` is what Powertools hashes
    return action()


class OncePerKey:
    def __init__(
        self, client: "DynamoDBClient", table: str, name: str, on_replay: Callable[[], None] = lambda: None
    ) -> None:
        self._on_replay = on_replay
        self.config = IdempotencyConfig(
            raise_on_no_idempotency_key=True,
            expires_after_seconds=int(RECORD_LIFETIME.total_seconds()),
            response_hook=self._replayed,
        )
        # key_prefix: the key must not change with the function's (generated) name or the code's module path.
        self._once = idempotent_function(
            _run,
            data_keyword_argument="key",
            persistence_store=DynamoDBPersistenceLayer(table_name=table, boto3_client=client),
            config=self.config,
            key_prefix=name,
        )

    def _replayed(self, response: Any, idempotent_data: DataRecord) -> Any:  # noqa: ARG002 - Powertools' hook signature
        self._on_replay()
        return response

    def register_lambda_context(self, context: LambdaContext) -> None:
        """Bound an INPROGRESS record by the invocation's deadline, so a timed-out attempt does not block retries."""
        self.config.register_lambda_context(context)

    def run(self, key: str, action: Callable[[], str], deferred_metric: str) -> None:
        """action() at most once per key (its stored result every later time); a Deferred action leaves no record
        and only counts."""
        try:
            self._once(key=key, action=action)
        except Deferred as deferred:
            count(f"{deferred_metric}{deferred.outcome.title().replace('_', '')}")


class OrderMissing(Exception):
    """An event names an order that is not stored: a data fault, left to the DLQ and its alarm."""


class Deferred(Exception):
    """The order's state does not allow the side effect now (it is held: Bolt's facts contradict it; or it moved on
    past what the event described). Nothing is recorded as done, so the event that releases it acts again."""

    def __init__(self, outcome: str) -> None:
        super().__init__(outcome)
        self.outcome = outcome


class OrderReader(Protocol):
    def get_order(self, order_id: str) -> Order | None: ...


def order_to_act_on(order_id: str, orders: OrderReader) -> Order:
    """The order an event names, if a side effect may act on it: OrderMissing when it is not stored, Deferred while
    it is held (Bolt's facts contradict it: the release event acts again)."""
    order = orders.get_order(order_id)
    if order is None:
        raise OrderMissing(order_id)
    if order.status == "on_hold":
        raise Deferred("held")
    return order


def once_per_key(name: str) -> Callable[[], OncePerKey]:
    """A consumer's idempotency on the stage's IdempotencyTable, built once per container; a suppressed repeat is
    counted."""
    return per_container(
        lambda: OncePerKey(
            dynamodb(), settings().require("idempotency_table"), name, on_replay=lambda: count("DuplicateSuppressed")
        )
    )
