"""Orders table stream -> every outbox event to every consumer queue, one batch of sends per stream batch."""

from collections.abc import Iterable
from typing import Any, cast

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord, DynamoDBStreamEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from bolt_merchant.adapters.outbox_publisher import MalformedOutboxRecord, outbox_event
from bolt_merchant.observability import logger, metrics, tracer
from bolt_merchant.wiring.outbox import outbox_publisher
from bolt_merchant.workers.batches import FAILURE_LOGGER, LambdaHandler, count


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
    return outbox_publisher().publish(events) if events else {}


def outbox_publisher_function() -> LambdaHandler:
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, logger=FAILURE_LOGGER)

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        failures = _publish(DynamoDBStreamEvent(event).records)

        def record_handler(record: DynamoDBRecord) -> None:
            published = outbox_event(record)
            if published is None:
                count("OutboxRecordIgnored")
                return
            if published.event_id in failures:
                count("OutboxSendFailed")
                raise OutboxSendFailed(f"event {published.event_id}: {failures[published.event_id]}")
            count("OutboxEventPublished")

        return dict(
            process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
        )

    return cast(LambdaHandler, lambda_handler)
