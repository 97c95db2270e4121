"""devstack's event source pollers: filter patterns, Lambda event shapes, batch responses, retries and destinations."""

import dataclasses
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent, SQSEvent
from bolt_merchant.fanout.signing import signed_headers
from bolt_merchant.orders.models import OutboxEvent
from bolt_merchant.orders.table import event_item
from moto import mock_aws

from devstack import oms_sink, settings
from devstack.event_filters import EventFilter, UnsupportedPattern, check_pattern, matches
from devstack.pollers import (
    EventSourcePollers,
    Poller,
    QueuePoller,
    QueueSource,
    StreamPoller,
    StreamSource,
    enabled,
    event_sources,
    forget_moto_shard_iterator,
    retry_visibility_seconds,
    sqs_event,
    sqs_failures,
    stream_failure_message,
    stream_outcome,
    stream_record,
)
from devstack.resources import create_queues
from devstack.template import LocalResolver, create_tables, function_specs, load_template

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:q.fifo"
OUTBOX_PATTERN = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"kind": {"S": ["event"]}}}}


def outbox_event(order_id: str, version: int = 2) -> OutboxEvent:
    return OutboxEvent(
        event_id=f"{order_id}:v{version}",
        event_type="order.authorized",
        order_id=order_id,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        detail={},
    )


def lambda_record(event_name: str = "INSERT", kind: str = "event", sequence: str = "100") -> dict[str, Any]:
    image = {"pk": {"S": "ORDER#1"}, "sk": {"S": "EVENT#1"}, "kind": {"S": kind}}
    return {
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "dynamodb": {"Keys": {"pk": image["pk"], "sk": image["sk"]}, "NewImage": image, "SequenceNumber": sequence},
    }


# ---------------------------------------------------------------- filter patterns
@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (lambda_record(), True),
        (lambda_record(event_name="MODIFY"), False),
        (lambda_record(kind="order"), False),
        ({"eventName": "INSERT", "dynamodb": {"Keys": {}}}, False),  # no NewImage at all
        ({"eventName": "REMOVE", "dynamodb": {"OldImage": {"kind": {"S": "event"}}}}, False),
    ],
    ids=["outbox-insert", "modify", "order-insert", "no-image", "remove"],
)
def test_the_templates_outbox_pattern_passes_only_outbox_inserts(record: dict[str, Any], expected: bool) -> None:
    assert matches(OUTBOX_PATTERN, record) is expected


@pytest.mark.parametrize(
    ("pattern", "record", "expected"),
    [
        ({"a": ["x", "y"]}, {"a": "y"}, True),
        ({"a": ["x", "y"]}, {"a": "z"}, False),
        ({"a": ["x"]}, {"a": ["z", "x"]}, True),  # an array in the record: any element
        ({"a": [5]}, {"a": 5.0}, True),  # numbers compare as numbers
        ({"a": ["5"]}, {"a": 5}, False),  # but a string is not a number
        ({"a": [None]}, {"a": None}, True),
        ({"a": [None]}, {}, False),  # null matches an explicit null only
        ({"a": [{"exists": False}]}, {}, True),
        ({"a": [{"exists": True}]}, {}, False),
        ({"a": [{"exists": True}]}, {"a": 0}, True),
        ({"a": [{"prefix": "ord"}]}, {"a": "order"}, True),
        ({"a": [{"suffix": ".fifo"}]}, {"a": "q.fifo"}, True),
        ({"a": [{"equals-ignore-case": "INSERT"}]}, {"a": "insert"}, True),
        ({"a": [{"anything-but": ["x", "y"]}]}, {"a": "z"}, True),
        ({"a": [{"anything-but": "x"}]}, {"a": "x"}, False),
        ({"a": [{"anything-but": {"prefix": "tmp"}}]}, {"a": "tmp-1"}, False),
        ({"a": [{"anything-but": "x"}]}, {}, False),  # anything-but needs the field
        ({"a": [{"numeric": [">", 0, "<=", 10]}]}, {"a": 10}, True),
        ({"a": [{"numeric": [">", 0, "<=", 10]}]}, {"a": 11}, False),
        ({"a": [{"numeric": ["=", 1]}]}, {"a": True}, False),  # booleans are not numbers
        ({"a": {"b": ["x"]}}, {"a": "x"}, False),  # nesting needs an object
        ({"a": {"b": ["x"]}}, {"a": [{"b": "y"}, {"b": "x"}]}, True),
        ({"a": ["x"], "b": ["y"]}, {"a": "x", "b": "n"}, False),  # every key must match
    ],
)
def test_pattern_matching(pattern: dict[str, Any], record: dict[str, Any], expected: bool) -> None:
    check_pattern(pattern)
    assert matches(pattern, record) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        {"a": "x"},  # leaves are arrays
        {"a": []},
        {},
        {"a": [{"wildcard": "x*"}]},
        {"a": [{"prefix": "x", "suffix": "y"}]},
        {"a": [{"numeric": [">", "1"]}]},
        {"a": [{"anything-but": {"suffix": "x"}}]},
        {"a": [["x"]]},
    ],
)
def test_unsupported_patterns_are_refused_when_compiled(pattern: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedPattern):
        EventFilter.from_criteria({"Filters": [{"Pattern": json.dumps(pattern)}]})


def test_a_record_passes_when_any_filter_matches_and_no_filters_pass_everything() -> None:
    either = EventFilter.from_criteria({"Filters": [{"Pattern": '{"a": ["x"]}'}, {"Pattern": {"a": ["y"]}}]})

    assert either.accepts({"a": "y"})
    assert not either.accepts({"a": "z"})
    assert EventFilter.from_criteria(None).accepts({"anything": 1})


# ---------------------------------------------------------------- the template's event sources
def test_the_templates_event_sources_are_read_with_their_settings() -> None:
    template = load_template()
    sources = {
        source.function_id: source for source in event_sources(function_specs(template, LocalResolver(template, "t")))
    }

    publisher = sources["OutboxPublisherFunction"]
    assert isinstance(publisher, StreamSource)
    assert (publisher.table_id, publisher.starting_position, publisher.batch_size) == (
        "OrdersTable",
        "TRIM_HORIZON",
        25,
    )
    assert (publisher.bisect_on_error, publisher.max_retries, publisher.report_item_failures) == (True, 10, True)
    assert publisher.batching_window_seconds == 1
    assert publisher.on_failure_queue_id == "PublisherFailureQueue"
    assert publisher.event_filter.patterns == (OUTBOX_PATTERN,)
    confirmation, fulfilment = sources["ConfirmationEmailFunction"], sources["FulfilmentFunction"]
    assert isinstance(confirmation, QueueSource)
    assert isinstance(fulfilment, QueueSource)
    assert (confirmation.queue_id, confirmation.batch_size, confirmation.report_item_failures) == (
        "ConfirmationEmailQueue",
        10,
        True,
    )
    assert (fulfilment.queue_id, fulfilment.batch_size) == ("FulfilmentQueue", 5)


# ---------------------------------------------------------------- Lambda event shapes
def test_a_stream_record_becomes_a_lambda_record_powertools_can_read() -> None:
    created = datetime(2026, 1, 1, 12, tzinfo=UTC)
    raw: dict[str, Any] = {
        "eventID": "e1",
        "eventName": "INSERT",
        "eventVersion": "1.0",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": created,
            "Keys": {"pk": {"S": "ORDER#1"}, "sk": {"S": "EVENT#1"}},
            "NewImage": {"pk": {"S": "ORDER#1"}, "sk": {"S": "EVENT#1"}, "blob": {"B": b"\x00\x01"}, "n": {"N": "5"}},
            "SequenceNumber": "1100000000017454423009",
            "SizeBytes": 42,
            "StreamViewType": "NEW_IMAGE",
        },
    }

    record = stream_record(raw, STREAM_ARN, "us-east-1")
    parsed = next(DynamoDBStreamEvent({"Records": [record]}).records)

    assert record["eventSourceARN"] == STREAM_ARN
    assert record["eventVersion"] == "1.1"
    assert record["dynamodb"]["ApproximateCreationDateTime"] == int(created.timestamp())
    assert record["dynamodb"]["NewImage"]["blob"] == {"B": "AAE="}  # base64, as Lambda delivers binary
    assert parsed.event_name is not None
    assert parsed.event_name.name == "INSERT"
    assert parsed.dynamodb is not None
    assert parsed.dynamodb.sequence_number == "1100000000017454423009"
    assert parsed.dynamodb.new_image["n"] == 5
    assert raw["dynamodb"]["NewImage"]["blob"] == {"B": b"\x00\x01"}  # the input is left alone


def test_a_removed_item_has_keys_and_no_new_image() -> None:
    raw = {"eventID": "e2", "eventName": "REMOVE", "dynamodb": {"Keys": {"pk": {"S": "x"}}, "SequenceNumber": "7"}}

    record = stream_record(raw, STREAM_ARN, "us-east-1")

    assert record["awsRegion"] == "us-east-1"
    assert record["dynamodb"] == {"Keys": {"pk": {"S": "x"}}, "SequenceNumber": "7"}


def test_received_messages_become_a_lambda_sqs_event_powertools_can_read() -> None:
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "rh-1",
        "MD5OfBody": "abc",
        "Body": '{"event_id": "BO-1:v2"}',
        "Attributes": {
            "SenderId": "AIDA",
            "SentTimestamp": "1767225600000",
            "ApproximateReceiveCount": "3",
            "ApproximateFirstReceiveTimestamp": "1767225600001",
            "MessageGroupId": "BO-1",
            "MessageDeduplicationId": "BO-1:v2",
            "SequenceNumber": "18880000000000000001",
        },
        "MessageAttributes": {"trace": {"DataType": "String", "StringValue": "t-1"}},
    }

    event = sqs_event([message], QUEUE_ARN, "us-east-1")
    (record,) = event["Records"]
    parsed = next(SQSEvent(event).records)

    assert (record["messageId"], record["receiptHandle"], record["body"]) == ("m-1", "rh-1", message["Body"])
    assert (record["eventSource"], record["eventSourceARN"], record["md5OfBody"]) == ("aws:sqs", QUEUE_ARN, "abc")
    assert record["attributes"]["SenderId"] == "AIDA"
    assert parsed.attributes.message_group_id == "BO-1"
    assert parsed.attributes.message_deduplication_id == "BO-1:v2"
    assert parsed.attributes.approximate_receive_count == "3"
    assert record["messageAttributes"] == {
        "trace": {"stringValue": "t-1", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    }


# ---------------------------------------------------------------- batch responses
BATCH = [lambda_record(sequence=str(n)) for n in (101, 102, 103)]


@pytest.mark.parametrize(
    ("result", "report", "retry_from"),
    [
        (None, True, None),
        ({}, True, None),
        ({"batchItemFailures": []}, True, None),
        ({"batchItemFailures": [{"itemIdentifier": "103"}, {"itemIdentifier": "102"}]}, True, 1),  # lowest wins
        ({"batchItemFailures": [{"itemIdentifier": "103"}]}, False, None),  # not enabled: the response is ignored
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, True, 0),  # malformed: the whole batch
        ({"batchItemFailures": [{"item": "102"}]}, True, 0),
        ({"batchItemFailures": [{"itemIdentifier": "999"}]}, True, 0),
    ],
)
def test_stream_batch_responses(result: Any, report: bool, retry_from: int | None) -> None:
    assert stream_outcome(result, BATCH, report).retry_from == retry_from


@pytest.mark.parametrize(
    ("result", "report", "failed"),
    [
        ({"batchItemFailures": []}, True, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, True, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, False, set()),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, True, {"a", "b", "c"}),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, True, {"a", "b", "c"}),
    ],
)
def test_sqs_batch_responses(result: Any, report: bool, failed: set[str]) -> None:
    assert sqs_failures(result, ["a", "b", "c"], report) == failed


def test_the_on_failure_message_describes_the_batch_not_its_records() -> None:
    batch = [lambda_record(sequence="101"), lambda_record(sequence="105")]
    for record in batch:
        record["dynamodb"]["ApproximateCreationDateTime"] = 1767225600

    message = stream_failure_message(
        batch,
        shard_id="shard-1",
        stream_arn=STREAM_ARN,
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        invocations=11,
        function_error="ValueError: x",
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )

    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 11
    assert message["responseContext"]["functionError"] == "Unhandled"
    assert message["timestamp"] == "2026-01-01T00:00:00.000Z"
    assert message["DDBStreamBatchInfo"] == {
        "shardId": "shard-1",
        "startSequenceNumber": "101",
        "endSequenceNumber": "105",
        "approximateArrivalOfFirstRecord": "2026-01-01T00:00:00Z",
        "approximateArrivalOfLastRecord": "2026-01-01T00:00:00Z",
        "batchSize": 2,
        "streamArn": STREAM_ARN,
    }
    assert "NewImage" not in json.dumps(message)


# ---------------------------------------------------------------- pollers against moto
class ScriptedFunction:
    """Records each event; `answer` decides the response (or raises)."""

    def __init__(self, answer: Callable[[dict[str, Any]], dict[str, Any]] = lambda _: {"batchItemFailures": []}):
        self.events: list[dict[str, Any]] = []
        self.answer = answer

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(json.loads(json.dumps(event)))
        return self.answer(event)

    def batches(self, key: Callable[[dict[str, Any]], str]) -> list[list[str]]:
        return [[key(record) for record in event["Records"]] for event in self.events]


@dataclasses.dataclass
class Moto:
    dynamodb: Any
    streams: Any
    sqs: Any
    tables: dict[str, str]
    queues: dict[str, str]
    sources: dict[str, StreamSource | QueueSource]

    def put_event(self, order_id: str, version: int = 2) -> None:
        self.dynamodb.put_item(
            TableName=self.tables["OrdersTable"], Item=event_item(outbox_event(order_id, version=version))
        )

    def put_order_item(self, order_id: str) -> None:
        item = {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}, "kind": {"S": "order"}}
        self.dynamodb.put_item(TableName=self.tables["OrdersTable"], Item=item)

    def stream_poller(
        self, function: ScriptedFunction, forget_iterator: Callable[[str], None] | None = None, **changes: Any
    ) -> StreamPoller:
        source = self.sources["OutboxPublisherFunction"]
        assert isinstance(source, StreamSource)
        poller = StreamPoller(
            dataclasses.replace(source, **{"batching_window_seconds": 0, **changes}),
            function,
            "arn:aws:lambda:us-east-1:123456789012:function:publisher",
            self.tables["OrdersTable"],
            dynamodb=self.dynamodb,
            streams=self.streams,
            sqs=self.sqs,
            failure_queue_url=self.queues["PublisherFailureQueue"],
            region="us-east-1",
            backoff_seconds=0,
            forget_iterator=forget_iterator,
        )
        poller.open()
        return poller

    def queue_poller(self, function: ScriptedFunction, **changes: Any) -> QueuePoller:
        source = self.sources["FulfilmentFunction"]
        assert isinstance(source, QueueSource)
        return QueuePoller(
            dataclasses.replace(source, **changes),
            function,
            self.queues["FulfilmentQueue"],
            sqs=self.sqs,
            region="us-east-1",
            retry_visibility=0,
        )

    def send(self, body: str, group: str = "BO-1", dedup: str | None = None) -> None:
        self.sqs.send_message(
            QueueUrl=self.queues["FulfilmentQueue"],
            MessageBody=body,
            MessageGroupId=group,
            MessageDeduplicationId=dedup or body,
        )

    def bodies(self, logical_id: str) -> list[str]:
        response = self.sqs.receive_message(
            QueueUrl=self.queues[logical_id], MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        return [message["Body"] for message in response.get("Messages", [])]


@pytest.fixture
def moto() -> Iterator[Moto]:
    with mock_aws():
        template = load_template()
        resolver = LocalResolver(template, "test")
        dynamodb = boto3.client("dynamodb")
        sqs = boto3.client("sqs")
        sources = event_sources(function_specs(template, resolver))
        yield Moto(
            dynamodb=dynamodb,
            streams=boto3.client("dynamodbstreams"),
            sqs=sqs,
            tables=create_tables(dynamodb, template, resolver),
            queues=create_queues(sqs, template, resolver),
            sources={source.function_id: source for source in sources},
        )


def sequence(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def event_id(record: dict[str, Any]) -> str:
    return str(json.loads(record["dynamodb"]["NewImage"]["doc"]["S"])["event_id"])


def poll(poller: Poller, times: int = 30) -> None:
    for _ in range(times):
        poller.poll_once()


def test_only_outbox_inserts_reach_the_publisher_as_one_batch(moto: Moto) -> None:
    function = ScriptedFunction()
    poller = moto.stream_poller(function)
    moto.put_order_item("BO-1")
    moto.put_event("BO-1")
    moto.put_order_item("BO-1")  # a MODIFY
    moto.put_event("BO-2")

    poll(poller, 3)

    assert function.batches(event_id) == [["BO-1:v2", "BO-2:v2"]]
    record = function.events[0]["Records"][0]
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventSourceARN"] == poller.stream_arn
    assert set(record["dynamodb"]) >= {"Keys", "NewImage", "SequenceNumber", "StreamViewType"}
    assert poller.leftover() is None


def test_consumed_shard_iterators_are_dropped_from_moto(moto: Moto) -> None:
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    poller = moto.stream_poller(ScriptedFunction(), forget_iterator=forget_moto_shard_iterator)
    moto.put_event("BO-1")

    poll(poller, 20)

    assert len(dynamodbstreams_backends["123456789012"]["us-east-1"].shard_iterators) == 1


def test_batches_hold_at_most_batch_size_records(moto: Moto) -> None:
    function = ScriptedFunction()
    poller = moto.stream_poller(function, batch_size=2)
    for n in range(5):
        moto.put_event(f"BO-{n}")

    poll(poller, 5)

    assert [len(batch) for batch in function.batches(sequence)] == [2, 2, 1]


def test_a_partial_failure_is_retried_from_the_first_failed_record(moto: Moto) -> None:
    calls = 0

    def fail_second_once(event: dict[str, Any]) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            return {"batchItemFailures": [{"itemIdentifier": sequence(event["Records"][1])}]}
        return {"batchItemFailures": []}

    function = ScriptedFunction(fail_second_once)
    poller = moto.stream_poller(function)
    for n in range(3):
        moto.put_event(f"BO-{n}")

    poll(poller, 3)

    assert function.batches(event_id) == [["BO-0:v2", "BO-1:v2", "BO-2:v2"], ["BO-1:v2", "BO-2:v2"]]
    assert moto.bodies("PublisherFailureQueue") == []


def test_a_poison_record_is_bisected_out_and_ends_in_the_failure_queue(moto: Moto) -> None:
    def poison(event: dict[str, Any]) -> dict[str, Any]:
        if "BO-2:v2" in [event_id(record) for record in event["Records"]]:
            raise ValueError("cannot publish BO-2")
        return {"batchItemFailures": []}

    function = ScriptedFunction(poison)
    poller = moto.stream_poller(function, max_retries=3)
    for n in range(4):
        moto.put_event(f"BO-{n}")

    poll(poller)

    delivered = [ids for ids in function.batches(event_id) if "BO-2:v2" not in ids]
    assert sorted(i for ids in delivered for i in ids) == ["BO-0:v2", "BO-1:v2", "BO-3:v2"]
    # Halved: the first half goes through, the second fails again and is halved until the record is alone.
    assert [len(ids) for ids in function.batches(event_id)][:5] == [4, 2, 2, 1, 1]
    (failure,) = [json.loads(body) for body in moto.bodies("PublisherFailureQueue")]
    info = failure["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    assert failure["requestContext"]["approximateInvokeCount"] == 4  # the first call and 3 retries
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert poller.leftover() is None


def test_without_retries_left_a_reported_failure_goes_to_the_failure_queue_and_the_shard_moves_on(moto: Moto) -> None:
    def always_fail_first(event: dict[str, Any]) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": sequence(event["Records"][0])}]}

    function = ScriptedFunction(always_fail_first)
    poller = moto.stream_poller(function, max_retries=0, bisect_on_error=False)
    moto.put_event("BO-1")
    moto.put_event("BO-2")

    poll(poller, 2)

    assert function.batches(event_id) == [["BO-1:v2", "BO-2:v2"]]
    (failure,) = [json.loads(body) for body in moto.bodies("PublisherFailureQueue")]
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 2
    assert "functionError" not in failure["responseContext"]


def test_processed_messages_are_deleted_and_failed_ones_are_received_again(moto: Moto) -> None:
    def fail_b(event: dict[str, Any]) -> dict[str, Any]:
        ids = [record["messageId"] for record in event["Records"] if record["body"] == "b"]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}

    function = ScriptedFunction(fail_b)
    poller = moto.queue_poller(function)
    moto.send("a", group="G1")
    moto.send("b", group="G2")

    poller.poll_once()
    poller.poll_once()

    assert function.batches(lambda record: record["body"]) == [["a", "b"], ["b"]]
    second = function.events[1]["Records"][0]
    assert second["attributes"]["ApproximateReceiveCount"] == "2"
    assert second["attributes"]["MessageGroupId"] == "G2"
    assert second["eventSourceARN"].endswith(".fifo")


def test_a_function_error_deletes_nothing(moto: Moto) -> None:
    def crash(_: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("boom")

    poller = moto.queue_poller(ScriptedFunction(crash))
    moto.send("a", group="G1")
    moto.send("b", group="G2")

    poller.poll_once()

    assert sorted(moto.bodies("FulfilmentQueue")) == ["a", "b"]


def test_a_poison_message_reaches_the_dlq_after_max_receive_count_and_the_others_are_processed(moto: Moto) -> None:
    def poison(event: dict[str, Any]) -> dict[str, Any]:
        return {
            "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "poison"]
        }

    function = ScriptedFunction(poison)
    poller = moto.queue_poller(function)
    moto.send("poison", group="G1")
    moto.send("fine-1", group="G2")
    moto.send("fine-2", group="G3")

    poll(poller, 10)

    bodies = [record["body"] for event in function.events for record in event["Records"]]
    assert bodies.count("poison") == 5  # maxReceiveCount in template.yaml
    assert (bodies.count("fine-1"), bodies.count("fine-2")) == (1, 1)
    assert moto.bodies("FulfilmentDLQ") == ["poison"]
    assert poller.leftover() is None


def test_messages_a_filter_rejects_are_deleted_without_an_invocation(moto: Moto) -> None:
    function = ScriptedFunction()
    only_paid = EventFilter.from_criteria({"Filters": [{"Pattern": '{"body": {"event_type": ["order.paid"]}}'}]})
    poller = moto.queue_poller(function, event_filter=only_paid)
    moto.send(json.dumps({"event_type": "order.created"}), group="G1")
    moto.send(json.dumps({"event_type": "order.paid"}), group="G2")
    moto.send("not json", group="G3")

    poller.poll_once()

    assert function.batches(lambda record: json.loads(record["body"])["event_type"]) == [["order.paid"]]
    assert moto.bodies("FulfilmentQueue") == []


def test_concurrent_consumers_of_a_fifo_queue_never_hold_the_same_group(moto: Moto) -> None:
    second_function = ScriptedFunction()
    second = moto.queue_poller(second_function, batch_size=1)

    def let_the_second_consumer_poll_meanwhile(event: dict[str, Any]) -> dict[str, Any]:
        second.poll_once()
        return {"batchItemFailures": []}

    first_function = ScriptedFunction(let_the_second_consumer_poll_meanwhile)
    first = moto.queue_poller(first_function, batch_size=1)
    moto.send("a1", group="G1")
    moto.send("a2", group="G1")
    moto.send("b1", group="G2")

    first.poll_once()

    assert first_function.batches(lambda record: record["body"]) == [["a1"]]
    # G1 is in flight at the first consumer, so its a2 waits; the second consumer takes G2
    assert second_function.batches(lambda record: record["body"]) == [["b1"]]
    assert moto.bodies("FulfilmentQueue") == ["a2"]


def test_each_queue_gets_one_consumer_per_function_container_and_is_reported_once(moto: Moto) -> None:
    template = load_template()

    @dataclasses.dataclass
    class Pool:
        identity: Any
        size: int = 3

        def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
            return {"batchItemFailures": []}

    @dataclasses.dataclass
    class Identity:
        arn: str

    class Stack:
        specs = function_specs(template, LocalResolver(template, "test"))
        tables = moto.tables
        queue_urls = moto.queues
        functions = {spec.logical_id: Pool(Identity(spec.logical_id)) for spec in specs}

    service = EventSourcePollers(Stack())
    service.start()
    service.stop()
    moto.send("left", group="G1")

    with pytest.raises(TimeoutError) as left:
        service.drain(timeout=0.2)

    assert sorted(poller.name for poller in service.pollers) == [
        "ConfirmationEmailFunction.Queue",
        "ConfirmationEmailFunction.Queue#1",
        "ConfirmationEmailFunction.Queue#2",
        "FulfilmentFunction.Queue",
        "FulfilmentFunction.Queue#1",
        "FulfilmentFunction.Queue#2",
        "OutboxPublisherFunction.OutboxStream",
    ]
    assert str(left.value).count("FulfilmentFunction.Queue: queue holds 1 visible") == 1


# ---------------------------------------------------------------- drain
class CountdownPoller(Poller):
    """Has `work` rounds of work, then nothing; `stuck` leaves something behind for ever."""

    def __init__(self, work: int, stuck: bool = False) -> None:
        super().__init__()
        self.work = work
        self.stuck = stuck

    def poll_once(self) -> bool:
        time.sleep(0.001)
        if self.work:
            self.work -= 1
            return True
        return False

    def leftover(self) -> str | None:
        return "1 message in flight" if self.stuck or self.work else None


class FakeStack:
    specs: list[Any] = []
    tables: dict[str, str] = {}
    queue_urls: dict[str, str] = {}
    functions: dict[str, Any] = {}


def started(*pollers: Poller) -> EventSourcePollers:
    service = EventSourcePollers(FakeStack())
    service.pollers = list(pollers)
    for poller in pollers:
        poller.start()
    return service


def test_drain_returns_once_every_poller_has_gone_quiet() -> None:
    first, second = CountdownPoller(work=20), CountdownPoller(work=5)
    service = started(first, second)
    try:
        service.drain(timeout=5)
        assert (first.work, second.work) == (0, 0)
    finally:
        service.stop()


def test_drain_names_what_is_left_when_it_times_out() -> None:
    service = started(CountdownPoller(work=0, stuck=True))
    try:
        with pytest.raises(TimeoutError, match="1 message in flight"):
            service.drain(timeout=0.3)
    finally:
        service.stop()


def test_stopping_ends_the_threads() -> None:
    poller = CountdownPoller(work=0)
    service = started(poller)

    service.stop()

    assert not any(thread.name == poller.name and thread.is_alive() for thread in threading.enumerate())


@pytest.mark.parametrize(
    ("value", "expected"), [(None, True), ("1", True), ("0", False), ("off", False), ("False", False)]
)
def test_local_pollers_switch(monkeypatch: pytest.MonkeyPatch, value: str | None, expected: bool) -> None:
    if value is None:
        monkeypatch.delenv("LOCAL_POLLERS", raising=False)
    else:
        monkeypatch.setenv("LOCAL_POLLERS", value)
    assert enabled() is expected


def test_failed_messages_keep_the_queues_visibility_timeout_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCAL_SQS_RETRY_SECONDS", raising=False)
    assert retry_visibility_seconds() is None
    monkeypatch.setenv("LOCAL_SQS_RETRY_SECONDS", "2")
    assert retry_visibility_seconds() == 2


# ---------------------------------------------------------------- OMS sink
def test_the_oms_endpoint_is_a_local_sink_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCAL_OMS_URL", raising=False)
    assert oms_sink.local_oms({"OmsEndpointUrl": "https://oms.example.com"}) == (None, None)
    monkeypatch.setenv("LOCAL_OMS_URL", "none")
    assert oms_sink.local_oms({}) == ("", None)
    monkeypatch.setenv("LOCAL_OMS_URL", "https://oms.example.com/api")
    assert oms_sink.local_oms({}) == ("https://oms.example.com/api", None)


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_the_oms_sink_records_posts_and_answers_201(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCAL_OMS_URL", raising=False)
    url, sink = oms_sink.local_oms({})
    assert sink is not None
    assert url == f"{sink.url}/orders"
    sink.start()
    try:
        body = b'{"order_id": "BO-1"}'
        signed = signed_headers(settings.oms_signing_secret(), body, time.time())
        request = urllib.request.Request(url, data=body, headers={"Idempotency-Key": "BO-1", **signed}, method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 201
        with urllib.request.urlopen(f"{sink.url}{oms_sink.ADMIN_PATH}", timeout=5) as response:
            (received,) = json.loads(response.read())
        assert (received["path"], received["json"], received["headers"]["Idempotency-Key"]) == (
            "/orders",
            {"order_id": "BO-1"},
            "BO-1",
        )
        sink.clear()
        assert sink.requests() == []
    finally:
        sink.stop()
