"""What the outbox fan-out tests share: the stack the `fanout` fixture (tests/fanout/conftest.py) builds in moto
with the template's tables and queues, an order and its outbox events, and readers for what the functions sent.

Tables and queues come from template.yaml (devstack's create_tables / create_queues); each function gets the
environment the template gives it, with the FIFO queue URLs of the queues actually created. `drive` plays the
Lambda SQS poller: receive, invoke, delete what succeeded, make the failures visible again.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bolt_merchant.core import settings as wiring
from bolt_merchant.core.models import CartLine
from bolt_merchant.orders.models import Order, OrderTotals, OutboxEvent, ShippingChoice
from bolt_merchant.orders.table import event_item, order_item

from devstack.make_consumer_events import stream_event_from
from devstack.template import LocalResolver
from tests.support import LambdaHandler, load_handler, poll_sqs_once, queue_depth

STACK = "test"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
CANARY_EMAIL = "shopper-canary-7f3a9c@example.com"  # must never reach a log line
OMS_SECRET = "test-oms-signing-secret"  # what fulfilment signs hand-offs with in these tests
FANOUT_ENV = (
    "CONFIRMATION_QUEUE_URL",
    "FULFILMENT_QUEUE_URL",
    "IDEMPOTENCY_TABLE_NAME",
    "CONFIRMATION_SENDER",
    "OMS_ENDPOINT_URL",
    "OMS_SIGNING_SECRET_NAME",
    "ORDERS_TABLE_NAME",
)


@dataclass
class FakeContext:
    function_name: str = "fanout-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:fanout-test"
    aws_request_id: str = "00000000-0000-4000-8000-0000000000ff"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def order(order_id: str = "BO-ORDER00001", *, contact_email: str | None = CANARY_EMAIL, **changes: Any) -> Order:
    base = Order(
        order_id=order_id,
        cart_id=f"c_{order_id.lower()}",
        status="authorized",
        phase="authorized",
        currency="USD",
        lines=[
            CartLine(
                sku="TSHIRT-BLK-M", name="T-shirt", quantity=2, unit_price=2000, taxable=True, needs_shipping=True
            ),
            CartLine(
                sku="GIFT-CARD", name="Gift card", quantity=1, unit_price=1500, taxable=False, needs_shipping=False
            ),
        ],
        shipping=ShippingChoice(reference="standard", service="Standard shipping", cost=500),
        totals=OrderTotals(subtotal=5500, discount=0, shipping=500, tax=330, total=6330),
        contact_email=contact_email,
        authorized=6330,
        created_at=NOW,
        updated_at=NOW,
    )
    return base.model_copy(update=changes)


def outbox_event(order_id: str, event_type: str = "order.authorized", version: int = 2) -> OutboxEvent:
    return OutboxEvent(
        event_id=f"{order_id}:v{version}",
        event_type=event_type,
        order_id=order_id,
        occurred_at=NOW,
        detail={"status": "authorized", "authorized": 6330},
    )


@dataclass
class FanoutStack:
    dynamodb: Any
    sqs: Any
    ses: Any
    streams: Any
    tables: dict[str, str]
    queues: dict[str, str]
    resolver: LocalResolver
    environments: dict[str, dict[str, str]]
    set_env: Callable[[str, str], None] = field(repr=False)
    _iterator: str | None = None

    # ------------------------------------------------------------ functions
    def use_function(self, function_dir: str, **overrides: str) -> LambdaHandler:
        """os.environ as template.yaml sets it for functions/<dir>/ (plus overrides); the handler, freshly loaded."""
        for name, value in {**self.environments[function_dir], **overrides}.items():
            self.set_env(name, value)
        wiring.reset()
        return load_handler(function_dir)

    # ------------------------------------------------------------ orders table and its stream
    @property
    def orders_table(self) -> str:
        return self.tables["OrdersTable"]

    @property
    def stream_arn(self) -> str:
        return str(self.dynamodb.describe_table(TableName=self.orders_table)["Table"]["LatestStreamArn"])

    def put_order(self, value: Order) -> None:
        self.dynamodb.put_item(TableName=self.orders_table, Item=order_item(value))

    def put_event(self, event: OutboxEvent) -> None:
        self.dynamodb.put_item(TableName=self.orders_table, Item=event_item(event))

    def stream_event(self) -> dict[str, Any]:
        """The stream records written since the last call, as the Lambda event the publisher receives."""
        if self._iterator is None:
            shard = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"][0]
            self._iterator = self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        page = self.streams.get_records(ShardIterator=self._iterator)
        self._iterator = page["NextShardIterator"]
        return stream_event_from(page["Records"], self.stream_arn)

    # ------------------------------------------------------------ queues
    def queue_arn(self, logical_id: str) -> str:
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queues[logical_id], AttributeNames=["QueueArn"])
        return str(attributes["Attributes"]["QueueArn"])

    def send(self, logical_id: str, body: str, group_id: str, deduplication_id: str) -> None:
        self.sqs.send_message(
            QueueUrl=self.queues[logical_id],
            MessageBody=body,
            MessageGroupId=group_id,
            MessageDeduplicationId=deduplication_id,
        )

    def receive(self, logical_id: str, limit: int = 10) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queues[logical_id],
            MaxNumberOfMessages=limit,
            MessageSystemAttributeNames=["All"],
            VisibilityTimeout=0,
        )
        return list(response.get("Messages", []))

    def depth(self, logical_id: str) -> int:
        return queue_depth(self.sqs, self.queues[logical_id])

    def drive(self, logical_id: str, handler: LambdaHandler, rounds: int = 10) -> dict[str, int]:
        """Play the Lambda SQS poller for `rounds` polls: returns message id -> times it was handed to the function."""
        deliveries: dict[str, int] = {}
        for _ in range(rounds):
            messages, _ = poll_sqs_once(self.sqs, self.queues[logical_id], lambda event: handler(event, FakeContext()))
            if not messages:
                break
            for message in messages:
                deliveries[message["MessageId"]] = deliveries.get(message["MessageId"], 0) + 1
        return deliveries

    # ------------------------------------------------------------ SES
    def sent_emails(self) -> list[Any]:
        """What moto's SES accepted (moto 5.2.5 keeps Message objects with source, destinations, subject, body)."""
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def batch_failures(response: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def body_of(message: dict[str, Any]) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(message["Body"])
    return parsed
