"""The whole path of an order event in one process, against moto: hooks and webhooks write the order and its outbox
event in one transaction; the orders table's stream feeds the outbox publisher (as Lambda's event source mapping
would: batches, partial failures retried from the first failed record); the publisher sends to both FIFO queues;
the queues feed the confirmation email and fulfilment consumers (as Lambda's SQS poller would: failed messages come
back). The side effects are counted where they land: SES (moto) and a fake OMS.

Every function shares one environment here, like the local stack (devstack/stack.py merges them).
"""

import functools
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from bolt_merchant.core import settings as wiring
from bolt_merchant.core.aws import from_item
from bolt_merchant.fanout import fulfilment as fulfilment_worker

from devstack.make_consumer_events import stream_event_from
from devstack.resources import create_queues
from tests.fakes import MemoryOms
from tests.reliability.harness import observer
from tests.support import AwsStack, FakeLambdaContext, LambdaHandler, load_handler, poll_sqs_once, queue_depth

CONSUMERS = {"ConfirmationEmailQueue": "confirmation_email", "FulfilmentQueue": "fulfilment"}
DLQS = {"ConfirmationEmailQueue": "ConfirmationEmailDLQ", "FulfilmentQueue": "FulfilmentDLQ"}


@dataclass
class Pipeline:
    aws: AwsStack
    context: FakeLambdaContext
    queues: dict[str, str]
    oms: MemoryOms
    sqs: Any
    streams: Any
    handlers: dict[str, LambdaHandler] = field(default_factory=dict)
    pending: list[dict[str, Any]] = field(default_factory=list)  # stream records not yet through the publisher
    consumed: Counter[tuple[str, str]] = field(default_factory=Counter)  # (queue, event id) -> handled successfully
    publisher_attempts: int = 0
    _last_sequence: str | None = None

    # ------------------------------------------------------------ functions
    def handler(self, function_dir: str) -> LambdaHandler:
        if function_dir not in self.handlers:
            self.handlers[function_dir] = load_handler(function_dir)
        return self.handlers[function_dir]

    # ------------------------------------------------------------ the stream and the publisher
    @property
    def orders_table(self) -> str:
        return self.aws.tables["OrdersTable"]

    def read_stream(self) -> None:
        """Append the records written since the last read to what the publisher still has to take.

        A fresh iterator after the last sequence number read, every time: when a TransactWriteItems is cancelled,
        moto restores a deep copy of the table, stream shard included, and an iterator handed out before keeps
        reading the old shard (it would never see a later record)."""
        arn = self.aws.dynamodb.describe_table(TableName=self.orders_table)["Table"]["LatestStreamArn"]
        shard = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        position: dict[str, Any] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._last_sequence}
            if self._last_sequence
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        iterator = self.streams.get_shard_iterator(StreamArn=arn, ShardId=shard, **position)["ShardIterator"]
        while True:
            page = self.streams.get_records(ShardIterator=iterator)
            iterator = page["NextShardIterator"]
            if not page["Records"]:
                return
            records = stream_event_from(page["Records"], arn)["Records"]
            self.pending += records
            self._last_sequence = records[-1]["dynamodb"]["SequenceNumber"]

    def publish(self, rounds: int = 12) -> int:
        """Run the publisher over the pending records until none fails (or `rounds` attempts). Returns how many
        records are still pending (what Lambda would retry later or park in PublisherFailureQueue)."""
        self.read_stream()
        for _ in range(rounds):
            if not self.pending:
                return 0
            batch = self.pending[:25]
            self.publisher_attempts += 1
            try:
                result = self.handler("outbox_publisher")({"Records": batch}, self.context)
                failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
            except Exception:  # a whole-batch failure: the same records come again
                failed = {record["dynamodb"]["SequenceNumber"] for record in batch}
            if failed:
                # Lambda resumes the shard at the lowest failed sequence number (ReportBatchItemFailures).
                first = min(failed, key=int)
                keep = [r for r in batch if int(r["dynamodb"]["SequenceNumber"]) >= int(first)]
                self.pending = keep + self.pending[len(batch) :]
            else:
                self.pending = self.pending[len(batch) :]
        return len(self.pending)

    # ------------------------------------------------------------ the queues and their consumers
    def consume(self, rounds: int = 30) -> None:
        """Poll every consumer queue as Lambda would, until empty (or `rounds` polls each)."""
        for logical_id, function_dir in CONSUMERS.items():
            for _ in range(rounds):
                messages, failed = poll_sqs_once(
                    self.sqs,
                    self.queues[logical_id],
                    lambda event, f=function_dir: self.handler(f)(event, self.context),
                )
                if not messages:
                    break
                for message in messages:
                    if message["MessageId"] not in failed:
                        self.consumed[(logical_id, json.loads(message["Body"])["event_id"])] += 1

    def drain(self) -> int:
        """Publish, then consume. Returns the stream records still pending."""
        left = self.publish()
        self.consume()
        return left

    def depth(self, logical_id: str) -> int:
        return queue_depth(self.sqs, self.queues[logical_id])

    # ------------------------------------------------------------ what happened
    def outbox_events(self) -> dict[str, dict[str, Any]]:
        """Every outbox event in the orders table, by event id."""
        found: dict[str, dict[str, Any]] = {}
        kwargs: dict[str, Any] = {
            "TableName": self.orders_table,
            "FilterExpression": "kind = :kind",
            "ExpressionAttributeValues": {":kind": {"S": "event"}},
        }
        while True:
            page = self.aws.dynamodb.scan(**kwargs)
            for item in page["Items"]:
                document = json.loads(from_item(item)["doc"])
                found[document["event_id"]] = document
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def emails(self) -> Counter[str]:
        """Confirmation emails SES accepted, by order id (from the subject)."""
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        sent: Counter[str] = Counter()
        for message in ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages:
            subject = str(getattr(message, "subject", ""))
            sent[subject.removeprefix("Your order ").removesuffix(" is confirmed")] += 1
        return sent

    def idempotency_records(self) -> list[dict[str, Any]]:
        table = self.aws.tables["IdempotencyTable"]
        return [from_item(item) for item in self.aws.dynamodb.scan(TableName=table)["Items"]]

    def forget_idempotency_records(self) -> int:
        """Delete every Powertools idempotency record, as DynamoDB's TTL eventually would."""
        table = self.aws.tables["IdempotencyTable"]
        items = self.aws.dynamodb.scan(TableName=table)["Items"]
        for item in items:
            self.aws.dynamodb.delete_item(TableName=table, Key={"id": item["id"]})
        return len(items)

    def duplicated(self) -> list[str]:
        """Side effects done more than once for an order."""
        duplicated = [f"email:{order}" for order, count in self.emails().items() if count > 1]
        duplicated += [f"oms submit:{order}" for order, count in self.oms.submitted.items() if count > 1]
        duplicated += [f"oms cancel:{order}" for order, count in self.oms.cancelled.items() if count > 1]
        return duplicated

    def lost_and_duplicated(self) -> tuple[list[str], list[str]]:
        """(lost, duplicated) after a drain: an outbox event a consumer never handled; a side effect done twice."""
        events = self.outbox_events()
        lost = [
            f"{logical_id}:{event_id}"
            for event_id in events
            for logical_id in CONSUMERS
            if self.consumed[(logical_id, event_id)] == 0
        ]
        return lost, self.duplicated()


def build_pipeline(aws: AwsStack, context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    """Queues created from the template, SES's sender verified, one environment for every function."""
    sqs = observer(boto3.client("sqs"))
    observer(aws.dynamodb)
    queues = create_queues(sqs, aws.template, aws.resolver)
    observer(boto3.client("ses")).verify_email_identity(EmailAddress=aws.resolver.parameters["ConfirmationSender"])
    for name, value in {
        "CONFIRMATION_QUEUE_URL": queues["ConfirmationEmailQueue"],
        "FULFILMENT_QUEUE_URL": queues["FulfilmentQueue"],
        "IDEMPOTENCY_TABLE_NAME": aws.tables["IdempotencyTable"],
        "CONFIRMATION_SENDER": aws.resolver.parameters["ConfirmationSender"],
        "OMS_ENDPOINT_URL": "https://oms.invalid/orders",
    }.items():
        monkeypatch.setenv(name, value)
    oms = MemoryOms()
    monkeypatch.setattr(fulfilment_worker, "order_management", functools.cache(lambda: oms))
    wiring.reset()
    return Pipeline(
        aws=aws,
        context=context,
        queues=queues,
        oms=oms,
        sqs=sqs,
        streams=observer(boto3.client("dynamodbstreams")),
    )
