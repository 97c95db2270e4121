"""Orders table stream -> every outbox event to every consumer's SQS FIFO queue (group = order, dedup id = event
id), one batch of sends per stream batch.

Every consumer queue receives every event (the queue is that consumer's log) and each consumer picks what it acts
on, so a new event type or a new interest needs no publisher change.
"""

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, cast

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
    DynamoDBStreamEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from bolt_merchant.core.aws import error_code
from bolt_merchant.core.observability import FAILURE_LOGGER, LambdaHandler, count, logger, metrics, tracer
from bolt_merchant.core.settings import per_container, settings
from bolt_merchant.orders.models import OutboxEvent, queue_message

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


_BATCH_LIMIT = 10  # entries per SendMessageBatch
# Nobody waits on the publisher: give SQS time and retries before a record is handed back to the stream.
_CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 5})


def sqs_client() -> "SQSClient":
    return boto3.client("sqs", config=_CLIENT_CONFIG)


class MalformedOutboxRecord(ValueError):
    """An outbox item whose document is not an OutboxEvent (a bug in the writer; no payload in the message)."""


def outbox_event(record: DynamoDBRecord) -> OutboxEvent | None:
    """The event an outbox INSERT carries; None for every other change to the table. The template's filter
    already drops those, this keeps an unfiltered source (the local stack) harmless."""
    image = record.dynamodb.new_image if record.dynamodb else {}
    if record.event_name is not DynamoDBRecordEventName.INSERT or image.get("kind") != "event":
        return None
    doc = image.get("doc")
    if not isinstance(doc, str):
        raise MalformedOutboxRecord("outbox item has no doc")
    try:
        return OutboxEvent.model_validate_json(doc)
    except ValidationError as exc:
        raise MalformedOutboxRecord(f"outbox doc is not an event: {exc.error_count()} errors") from None


def _chunks(events: Sequence[OutboxEvent]) -> Iterator[list[OutboxEvent]]:
    """Stream order, at most ten per call and one event per order per call, so a failed entry can hold back the
    same order's later events."""
    chunk: list[OutboxEvent] = []
    for event in events:
        if len(chunk) == _BATCH_LIMIT or any(e.order_id == event.order_id for e in chunk):
            yield chunk
            chunk = []
        chunk.append(event)
    if chunk:
        yield chunk


class SqsFanout:
    def __init__(self, client: "SQSClient", queue_urls: Sequence[str]) -> None:
        self._client = client
        self._queue_urls = tuple(queue_urls)

    def publish(self, events: Sequence[OutboxEvent]) -> dict[str, str]:
        """Send every event to every queue. Returns event id -> why it was not sent everywhere (empty when all
        went). SendMessageBatch answers 200 even when entries fail, so each entry's outcome is checked."""
        failed: dict[str, str] = {}
        for queue_url in self._queue_urls:
            for event_id, reason in self._publish_to(queue_url, events).items():
                failed.setdefault(event_id, reason)
        return failed

    def _publish_to(self, queue_url: str, events: Sequence[OutboxEvent]) -> dict[str, str]:
        failed: dict[str, str] = {}
        held: set[str] = set()  # orders with a failed event: their later events wait, so each group stays in order
        for chunk in _chunks(events):
            ready = []
            for event in chunk:
                if event.order_id in held:
                    failed[event.event_id] = "held behind an earlier event of the order"
                else:
                    ready.append(event)
            for event, reason in self._send(queue_url, ready):
                failed[event.event_id] = reason
                held.add(event.order_id)
        return failed

    def _send(self, queue_url: str, events: list[OutboxEvent]) -> list[tuple[OutboxEvent, str]]:
        if not events:
            return []
        entries: list[Any] = []
        for index, event in enumerate(events):
            message = queue_message(event)
            entries.append(
                {
                    "Id": str(index),
                    "MessageBody": message.body,
                    "MessageGroupId": message.group_id,
                    "MessageDeduplicationId": message.deduplication_id,
                }
            )
        try:
            response = self._client.send_message_batch(QueueUrl=queue_url, Entries=entries)
        except ClientError as exc:
            return [(event, f"SendMessageBatch {error_code(exc)}") for event in events]
        except BotoCoreError as exc:
            return [(event, f"SendMessageBatch {type(exc).__name__}") for event in events]
        return [
            (events[int(entry["Id"])], f"entry {entry.get('Code', 'failed')}") for entry in response.get("Failed", [])
        ]


class OutboxSendFailed(Exception):
    """A consumer queue did not take the event: the stream hands the record back and it is sent again."""


Parsed = OutboxEvent | None | MalformedOutboxRecord  # an event, another change to the table, or a broken item


def _record_id(record: DynamoDBRecord) -> str:
    return record.event_id or (record.dynamodb.sequence_number if record.dynamodb else None) or ""


def _publish(records: Iterable[DynamoDBRecord]) -> tuple[dict[str, Parsed], dict[str, str]]:
    """Each record read once; the whole batch sent first, ten entries per call, so each record's outcome is known
    when it is reported. Returns (record id -> what it carries, event id -> why it was not sent)."""
    parsed: dict[str, Parsed] = {}
    for record in records:
        try:
            parsed[_record_id(record)] = outbox_event(record)
        except MalformedOutboxRecord as exc:
            parsed[_record_id(record)] = exc  # the record handler reports it
    events = [event for event in parsed.values() if isinstance(event, OutboxEvent)]
    return parsed, outbox_publisher().publish(events) if events else {}


def outbox_publisher_function() -> LambdaHandler:
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, logger=FAILURE_LOGGER)

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        parsed, failures = _publish(DynamoDBStreamEvent(event).records)

        def record_handler(record: DynamoDBRecord) -> None:
            published = parsed[_record_id(record)]
            if isinstance(published, MalformedOutboxRecord):
                raise published
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


@per_container
def outbox_publisher() -> SqsFanout:
    config = settings()
    queues = [config.require("confirmation_queue_url"), config.require("fulfilment_queue_url")]
    return SqsFanout(sqs_client(), queues)
