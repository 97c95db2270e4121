"""Write the outbox fan-out events in events/ (for `sam local invoke -e` and the handler tests).

    python -m devstack.make_consumer_events

events/outbox_publisher/stream_batch.json is a DynamoDB stream event with one outbox INSERT, built from the same
item the order transaction writes; events/confirmation_email/ and events/fulfilment/ hold the SQS FIFO batches the
publisher produces for it. The output is deterministic (fixed ids, times and sequence numbers, sorted keys), so
re-running it changes nothing and a test can check that events/ never drifts.

The record builders are also what the tests and the local stack use to turn moto's stream records and received
SQS messages into Lambda events.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bolt_merchant.orders.models import OutboxEvent, queue_message
from bolt_merchant.orders.table import event_item

from devstack.make_events import render, write_files
from devstack.template import ROOT, LocalResolver, load_template

EVENTS_DIR = ROOT / "events"
STACK_NAME = "bolt-merchant-local"
REGION = "us-east-1"
ACCOUNT = "123456789012"
OCCURRED_AT = datetime(2026, 1, 1, tzinfo=UTC)  # fixed so the files are reproducible
DEMO_ORDER_ID = "BO-DEMO000001"
SENDER_ID = "AROAEXAMPLEPUBLISHER:outbox-publisher"


def demo_event(event_type: str = "order.authorized", version: int = 2) -> OutboxEvent:
    """An event as the transaction webhook writes it: ids and amounts only, no personal data."""
    return OutboxEvent(
        event_id=f"{DEMO_ORDER_ID}:v{version}",
        event_type=event_type,
        order_id=DEMO_ORDER_ID,
        occurred_at=OCCURRED_AT,
        detail={"status": "authorized", "authorized": 5998, "captured": 0, "refunded": 0, "transaction_type": "auth"},
    )


# ---------------------------------------------------------------- DynamoDB stream
def stream_record(item: Mapping[str, Any], sequence_number: str, stream_arn: str) -> dict[str, Any]:
    """One Lambda stream record of an INSERT into a NEW_IMAGE stream, as the event source mapping delivers it."""
    return {
        "eventID": hashlib.sha256(sequence_number.encode()).hexdigest()[:32],
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {
            "ApproximateCreationDateTime": int(OCCURRED_AT.timestamp()),
            "Keys": {"pk": item["pk"], "sk": item["sk"]},
            "NewImage": dict(item),
            "SequenceNumber": sequence_number,
            "SizeBytes": len(json.dumps(item, separators=(",", ":"))),
            "StreamViewType": "NEW_IMAGE",
        },
        "eventSourceARN": stream_arn,
    }


def stream_event_from(records: Iterable[Mapping[str, Any]], stream_arn: str) -> dict[str, Any]:
    """Records from dynamodbstreams.get_records (boto3 shapes) as the Lambda event the publisher receives: the
    record as read, its creation time in epoch seconds, and the stream it came from."""
    converted = []
    for record in records:
        dynamodb = dict(record["dynamodb"])
        if isinstance(created := dynamodb.get("ApproximateCreationDateTime"), datetime):
            dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
        converted.append({**record, "eventVersion": "1.1", "dynamodb": dynamodb, "eventSourceARN": stream_arn})
    return {"Records": converted}


# ---------------------------------------------------------------- SQS FIFO
def sqs_record(
    body: str,
    *,
    message_id: str,
    group_id: str,
    deduplication_id: str,
    sequence_number: str,
    queue_arn: str,
    receipt_handle: str | None = None,
    receive_count: int = 1,
    sent_ms: int = int(OCCURRED_AT.timestamp() * 1000),
) -> dict[str, Any]:
    """One Lambda record of an SQS FIFO batch."""
    return {
        "messageId": message_id,
        "receiptHandle": receipt_handle or f"AQEB{hashlib.sha256(message_id.encode()).hexdigest()}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": str(sent_ms),
            "SequenceNumber": sequence_number,
            "MessageGroupId": group_id,
            "SenderId": SENDER_ID,
            "MessageDeduplicationId": deduplication_id,
            "ApproximateFirstReceiveTimestamp": str(sent_ms),
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode("utf-8")).hexdigest(),  # noqa: S324 - SQS's checksum, not security
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def sqs_event_from(messages: Iterable[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    """Messages from sqs.receive_message (with all system attributes) as the Lambda event a consumer receives."""
    records = []
    for message in messages:
        attributes = message.get("Attributes", {})
        record = sqs_record(
            message["Body"],
            message_id=message["MessageId"],
            group_id=attributes.get("MessageGroupId", ""),
            deduplication_id=attributes.get("MessageDeduplicationId", ""),
            sequence_number=attributes.get("SequenceNumber", ""),
            queue_arn=queue_arn,
            receipt_handle=message["ReceiptHandle"],
            receive_count=int(attributes.get("ApproximateReceiveCount", "1")),
        )
        record["attributes"].update({k: v for k, v in attributes.items() if k in record["attributes"]})
        records.append(record)
    return {"Records": records}


# ---------------------------------------------------------------- events/
def _names() -> tuple[str, dict[str, str]]:
    resolver = LocalResolver(load_template(), STACK_NAME)
    table = resolver.physical_name("OrdersTable")
    stream_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}/stream/2026-01-01T00:00:00.000"
    queue_arns = {
        logical_id: f"arn:aws:sqs:{REGION}:{ACCOUNT}:{resolver.physical_name(logical_id)}.fifo"
        for logical_id in ("ConfirmationEmailQueue", "FulfilmentQueue")
    }
    return stream_arn, queue_arns


def _queue_batch(event: OutboxEvent, queue_arn: str, message_id: str) -> dict[str, Any]:
    message = queue_message(event)
    record = sqs_record(
        message.body,
        message_id=message_id,
        group_id=message.group_id,
        deduplication_id=message.deduplication_id,
        sequence_number="18880000000000000001",
        queue_arn=queue_arn,
    )
    return {"Records": [record]}


def documents() -> dict[Path, dict[str, Any]]:
    stream_arn, queue_arns = _names()
    event = demo_event()
    return {
        Path("outbox_publisher/stream_batch.json"): {
            "Records": [stream_record(event_item(event), "100000000000000000001", stream_arn)]
        },
        Path("confirmation_email/sqs_batch.json"): _queue_batch(
            event, queue_arns["ConfirmationEmailQueue"], "6f1c2a53-0000-4000-8000-000000000001"
        ),
        Path("fulfilment/sqs_batch.json"): _queue_batch(
            event, queue_arns["FulfilmentQueue"], "6f1c2a53-0000-4000-8000-000000000002"
        ),
    }


def write(directory: Path = EVENTS_DIR) -> list[Path]:
    rendered = {relative: render(document) for relative, document in documents().items()}
    return write_files(rendered, directory)


def main() -> None:
    for path in write():
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
