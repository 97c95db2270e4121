"""The outbox publisher and the fan-out consumers: Powertools batch processing around the domain calls.

Records are reported one by one (partial batch responses), so a bad record is retried on its own and reaches its
dead-letter destination without taking the rest of the batch along.
"""

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord, DynamoDBStreamEvent
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from bolt_merchant import wiring
from bolt_merchant.adapters.outbox_publisher import MalformedOutboxRecord, outbox_event
from bolt_merchant.domain import fanout
from bolt_merchant.domain.fanout import FulfilmentAction, OrderManagement
from bolt_merchant.models.store import OutboxEvent
from bolt_merchant.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from bolt_merchant.adapters.idempotency import OncePerKey

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
# Failed records are logged (with their traceback) through our JSON logger; it stands in for a logging.Logger,
# which is all the processors call. Record failures carry ids and error codes only, never payloads.
_FAILURE_LOGGER = cast(logging.Logger, logger)


def _count(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


# ---------------------------------------------------------------- publisher
class OutboxSendFailed(Exception):
    """A consumer queue did not take the event: the stream hands the record back and it is sent again."""


def _publish(records: Iterable[DynamoDBRecord]) -> dict[str, str]:
    """Send the whole batch first, ten entries per call, so each record's outcome is known when it is reported."""
    events = []
    for record in records:
        try:
            event = outbox_event(record)
        except MalformedOutboxRecord:
            continue  # the record handler reports it
        if event is not None:
            events.append(event)
    return wiring.outbox_publisher().publish(events) if events else {}


def outbox_publisher_function() -> LambdaHandler:
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, logger=_FAILURE_LOGGER)

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        failures = _publish(DynamoDBStreamEvent(event).records)

        def record_handler(record: DynamoDBRecord) -> None:
            published = outbox_event(record)
            if published is None:
                _count("OutboxRecordIgnored")
                return
            if published.event_id in failures:
                _count("OutboxSendFailed")
                raise OutboxSendFailed(f"event {published.event_id}: {failures[published.event_id]}")
            _count("OutboxEventPublished")

        return dict(
            process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
        )

    return cast(LambdaHandler, lambda_handler)


# ---------------------------------------------------------------- consumers
def fifo_consumer_function(
    record_handler: Callable[[SQSRecord], None], once: Callable[[], "OncePerKey"]
) -> LambdaHandler:
    """A FIFO queue consumer: a failed record holds back only the later records of its own order (group)."""
    processor = SqsFifoPartialProcessor(skip_group_on_error=True, logger=_FAILURE_LOGGER)

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        once().register_lambda_context(context)
        return dict(
            process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
        )

    return cast(LambdaHandler, lambda_handler)


def _event(record: SQSRecord) -> OutboxEvent:
    event = OutboxEvent.model_validate_json(record.body)  # an unparseable body fails this record only
    logger.append_keys(event_id=event.event_id, order_id=event.order_id)
    return event


_CONFIRMATION_METRICS = {
    "sent": "ConfirmationSent",
    "no_contact": "ConfirmationWithoutContact",
    "order_cancelled": "ConfirmationOrderCancelled",
}


def _send_confirmation(order_id: str) -> str:
    outcome = fanout.send_confirmation(order_id, wiring.order_reader(), wiring.mailer())
    _count(_CONFIRMATION_METRICS[outcome])
    return outcome


def confirm_order(record: SQSRecord) -> None:
    """One confirmation email per order, whichever of its events asks for it and however often."""
    event = _event(record)
    if not fanout.wants_confirmation(event):
        _count("ConfirmationEventIgnored")
        return
    wiring.confirmation_once().run(event.order_id, lambda: _send_confirmation(event.order_id))


_FULFILMENT_METRICS = {
    "submitted": "FulfilmentSubmitted",
    "cancelled": "FulfilmentCancelled",
    "never_submitted": "FulfilmentCancelNotNeeded",
}


def _hand_off(order_id: str, action: FulfilmentAction, oms: OrderManagement) -> str:
    outcome = fanout.hand_off(order_id, action, wiring.order_reader(), oms)
    _count(_FULFILMENT_METRICS[outcome])
    return outcome


def fulfil_order(record: SQSRecord) -> None:
    """Submit or cancel the order at the OMS, once per (order, action)."""
    event = _event(record)
    action = fanout.fulfilment_action(event)
    if action is None:
        _count("FulfilmentEventIgnored")
        return
    oms = wiring.order_management()
    if oms is None:
        _count("FulfilmentSkippedNoOms")
        return
    wiring.fulfilment_once().run(f"{event.order_id}#{action}", lambda: _hand_off(event.order_id, action, oms))
