"""devstack's event source pollers: what they read from the template, filters, batches, item failures, retries and
bisection, the on-failure queue, SQS deletes and redrive, consumers per container, drain."""

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent
from bolt_merchant.orders.models import OutboxEvent
from bolt_merchant.orders.table import event_item
from moto import mock_aws

from devstack.pollers import (
    EventSourcePollers,
    Poller,
    QueuePoller,
    SchedulePoller,
    Source,
    StreamPoller,
    UnsupportedEventSource,
    enabled,
    event_sources,
    forget_moto_shard_iterator,
    matches,
    reported_failures,
)
from devstack.resources import create_queues
from devstack.template import FunctionSpec, LocalResolver, create_tables, function_specs, load_template

OUTBOX_PATTERN = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"kind": {"S": ["event"]}}}}


def template_sources() -> dict[str, Source]:
    template = load_template()
    return {
        source.function_id: source for source in event_sources(function_specs(template, LocalResolver(template, "t")))
    }


def spec_with(event: dict[str, Any]) -> FunctionSpec:
    return FunctionSpec("F", Path(), "m.h", {}, events={"E": event})


# ---------------------------------------------------------------- what the template asks for
def test_the_templates_event_sources_are_read_with_their_settings() -> None:
    sources = template_sources()

    publisher = sources["OutboxPublisherFunction"]
    assert (publisher.kind, publisher.resource_id, publisher.starting_position, publisher.batch_size) == (
        "DynamoDB",
        "OrdersTable",
        "TRIM_HORIZON",
        25,
    )
    assert (publisher.bisect_on_error, publisher.max_retries, publisher.report_item_failures) == (True, 10, True)
    assert (publisher.batching_window_seconds, publisher.on_failure_queue_id) == (1, "PublisherFailureQueue")
    assert publisher.patterns == (OUTBOX_PATTERN,)
    confirmation, fulfilment = sources["ConfirmationEmailFunction"], sources["FulfilmentFunction"]
    assert (confirmation.kind, confirmation.resource_id, confirmation.batch_size) == (
        "SQS",
        "ConfirmationEmailQueue",
        10,
    )
    assert (confirmation.report_item_failures, confirmation.max_concurrency) == (True, 5)
    assert (fulfilment.resource_id, fulfilment.batch_size, fulfilment.max_concurrency) == ("FulfilmentQueue", 5, 5)
    reconciler = sources["ReconcilerFunction"]
    assert (reconciler.kind, reconciler.every_seconds) == ("ScheduleV2", 15 * 60)  # the template's default rate


def test_a_schedule_runs_at_its_rate_and_on_demand(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_SCHEDULE_SECONDS", "0.05")
    schedule = {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": "rate(1 day)"}}
    [source] = event_sources([spec_with(schedule)])
    calls: list[dict[str, Any]] = []

    class Function:
        def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
            calls.append(event)
            return {"checked": len(calls)}

    poller = SchedulePoller(source, Function())
    assert poller.poll_once() is False  # not due yet
    time.sleep(0.06)
    assert poller.poll_once() is True
    assert poller.run_now({"order_id": "BO-1"}) == {"checked": 2}
    assert calls == [{}, {"order_id": "BO-1"}]


@pytest.mark.parametrize("expression", ["cron(0 * * * ? *)", "rate(5 fortnights)", "rate(x minutes)"])
def test_a_schedule_other_than_a_rate_is_refused(expression: str) -> None:
    event = {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": expression}}
    with pytest.raises(UnsupportedEventSource, match="only rate"):
        event_sources([spec_with(event)])


STREAM = {"Stream": {"Fn::GetAtt": ["OrdersTable", "StreamArn"]}}


@pytest.mark.parametrize(
    "event",
    [
        {"Type": "Kinesis", "Properties": {"Stream": "x"}},
        {"Type": "DynamoDB", "Properties": {**STREAM, "ParallelizationFactor": 2}},  # a property not played
        {"Type": "DynamoDB", "Properties": {**STREAM, "FilterCriteria": {"Filters": [{"Pattern": '{"a": "x"}'}]}}},
        {"Type": "DynamoDB", "Properties": {**STREAM, "FilterCriteria": {"Filters": [{"Pattern": '{"a": [5]}'}]}}},
        {
            "Type": "DynamoDB",
            "Properties": {**STREAM, "FilterCriteria": {"Filters": [{"Pattern": '{"a": [{"prefix": "x"}]}'}]}},
        },
        {"Type": "DynamoDB", "Properties": {**STREAM, "DestinationConfig": {"OnFailure": {"Type": "SNS"}}}},
        {"Type": "DynamoDB", "Properties": {"Stream": "arn:aws:dynamodb:us-east-1:1:table/t/stream/x"}},
        {"Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": ["Q", "Arn"]}, "BatchSize": 100}},
        {"Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": ["Q", "Arn"]}, "ScalingConfig": {"Other": 1}}},
    ],
)
def test_what_the_local_stack_does_not_play_is_refused_at_start_up(event: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedEventSource):
        event_sources([spec_with(event)])


# ---------------------------------------------------------------- filter patterns
def lambda_record(event_name: str = "INSERT", kind: str = "event") -> dict[str, Any]:
    image = {"pk": {"S": "ORDER#1"}, "sk": {"S": "EVENT#1"}, "kind": {"S": kind}}
    return {"eventName": event_name, "dynamodb": {"Keys": {"pk": image["pk"]}, "NewImage": image}}


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (lambda_record(), True),
        (lambda_record(event_name="MODIFY"), False),
        (lambda_record(kind="order"), False),
        ({"eventName": "INSERT", "dynamodb": {"Keys": {}}}, False),  # no NewImage at all
        ({"eventName": "REMOVE", "dynamodb": {"OldImage": {"kind": {"S": "event"}}}}, False),
        ({"eventName": "INSERT", "dynamodb": "not an object"}, False),
    ],
    ids=["outbox-insert", "modify", "order-insert", "no-image", "remove", "not-an-object"],
)
def test_the_templates_outbox_pattern_passes_only_outbox_inserts(record: dict[str, Any], expected: bool) -> None:
    assert matches(OUTBOX_PATTERN, record) is expected


def test_a_record_passes_when_any_pattern_matches_and_no_patterns_pass_everything() -> None:
    either = Source("DynamoDB", "F.E", "F", "T", 1, False, patterns=({"a": ["x"]}, {"a": ["y", "z"]}))

    assert either.accepts({"a": "z"})
    assert not either.accepts({"a": "w"})
    assert dataclasses.replace(either, patterns=()).accepts({"anything": 1})


# ---------------------------------------------------------------- batch responses
@pytest.mark.parametrize(
    ("result", "report", "failed"),
    [
        (None, True, []),
        ({}, True, []),
        ({"batchItemFailures": []}, True, []),
        ({"batchItemFailures": [{"itemIdentifier": "c"}, {"itemIdentifier": "b"}]}, True, [1, 2]),
        ({"batchItemFailures": [{"itemIdentifier": "c"}]}, False, []),  # not enabled: the response is ignored
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, True, [0, 1, 2]),  # malformed: the whole batch
        ({"batchItemFailures": [{"item": "b"}]}, True, [0, 1, 2]),
        ({"batchItemFailures": ["b"]}, True, [0, 1, 2]),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, True, [0, 1, 2]),
    ],
)
def test_batch_responses_are_read_as_lambda_reads_them(result: Any, report: bool, failed: list[int]) -> None:
    assert reported_failures(result, ["a", "b", "c"], report) == failed


# ---------------------------------------------------------------- pollers against moto
@dataclasses.dataclass
class Identity:
    arn: str = "arn:aws:lambda:us-east-1:123456789012:function:publisher"


class ScriptedFunction:
    """Records each event; `answer` decides the response (or raises)."""

    identity = Identity()

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
    sources: dict[str, Source]

    def put_event(self, order_id: str) -> None:
        event = OutboxEvent(
            event_id=f"{order_id}:v2",
            event_type="order.authorized",
            order_id=order_id,
            occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
            detail={},
        )
        self.dynamodb.put_item(TableName=self.tables["OrdersTable"], Item=event_item(event))

    def put_order_item(self, order_id: str) -> None:
        item = {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}, "kind": {"S": "order"}}
        self.dynamodb.put_item(TableName=self.tables["OrdersTable"], Item=item)

    def stream_poller(self, function: ScriptedFunction, **changes: Any) -> StreamPoller:
        source = dataclasses.replace(
            self.sources["OutboxPublisherFunction"], **{"batching_window_seconds": 0, **changes}
        )
        table = self.dynamodb.describe_table(TableName=self.tables["OrdersTable"])["Table"]
        poller = StreamPoller(
            source,
            function,
            table["LatestStreamArn"],
            self.streams,
            sqs=self.sqs,
            failure_queue=self.queues["PublisherFailureQueue"],
        )
        poller.backoff_seconds = 0
        return poller

    def queue_poller(self, function: ScriptedFunction, **changes: Any) -> QueuePoller:
        source = dataclasses.replace(self.sources["FulfilmentFunction"], **changes)
        return QueuePoller(source, function, self.queues["FulfilmentQueue"], self.sqs)

    def send(self, body: str, group: str = "BO-1") -> None:
        queue = self.queues["FulfilmentQueue"]
        self.sqs.send_message(QueueUrl=queue, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body)

    def bodies(self, logical_id: str) -> list[str]:
        response = self.sqs.receive_message(
            QueueUrl=self.queues[logical_id], MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        return [message["Body"] for message in response.get("Messages", [])]


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[Moto]:
    monkeypatch.setenv("LOCAL_SQS_RETRY_SECONDS", "0")  # failed messages come back at once
    with mock_aws():
        template = load_template()
        resolver = LocalResolver(template, "test")
        dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
        yield Moto(
            dynamodb=dynamodb,
            streams=boto3.client("dynamodbstreams"),
            sqs=sqs,
            tables=create_tables(dynamodb, template, resolver),
            queues=create_queues(sqs, template, resolver),
            sources={source.function_id: source for source in event_sources(function_specs(template, resolver))},
        )


def sequence(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def event_id(record: dict[str, Any]) -> str:
    return str(json.loads(record["dynamodb"]["NewImage"]["doc"]["S"])["event_id"])


def poll(poller: Poller, times: int = 30) -> None:
    for _ in range(times):
        poller.poll_once()


def test_only_outbox_inserts_reach_the_publisher_as_one_lambda_batch(moto: Moto) -> None:
    function = ScriptedFunction()
    poller = moto.stream_poller(function)
    moto.put_order_item("BO-1")
    moto.put_event("BO-1")
    moto.put_order_item("BO-1")  # a MODIFY
    moto.put_event("BO-2")

    poll(poller, 3)

    assert function.batches(event_id) == [["BO-1:v2", "BO-2:v2"]]
    record = function.events[0]["Records"][0]
    assert (record["eventSource"], record["eventSourceARN"], record["eventVersion"]) == (
        "aws:dynamodb",
        poller.stream_arn,
        "1.1",
    )
    parsed = next(DynamoDBStreamEvent(function.events[0]).records)
    assert parsed.dynamodb is not None
    assert parsed.dynamodb.new_image["kind"] == "event"
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
    assert poller.leftover() is None


def test_consumed_shard_iterators_are_dropped_from_moto(moto: Moto) -> None:
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    poller = moto.stream_poller(ScriptedFunction())
    moto.put_event("BO-1")

    poll(poller, 20)
    forget_moto_shard_iterator("not an iterator")  # nothing to drop: no harm

    assert len(dynamodbstreams_backends["123456789012"]["us-east-1"].shard_iterators) == 1


def test_batches_hold_at_most_batch_size_records(moto: Moto) -> None:
    function = ScriptedFunction()
    poller = moto.stream_poller(function, batch_size=2)
    for n in range(5):
        moto.put_event(f"BO-{n}")

    poll(poller, 5)

    assert [len(batch) for batch in function.batches(sequence)] == [2, 2, 1]


def test_records_wait_for_the_batching_window_unless_the_batch_is_full(moto: Moto) -> None:
    function = ScriptedFunction()
    poller = moto.stream_poller(function, batching_window_seconds=0.3, batch_size=3)
    moto.put_event("BO-1")

    poll(poller, 3)
    assert function.events == []
    assert poller.leftover() == "OutboxPublisherFunction.OutboxStream: 1 stream records not yet processed"
    time.sleep(0.3)
    poller.poll_once()
    for n in range(2, 5):
        moto.put_event(f"BO-{n}")
    poller.poll_once()

    assert function.batches(event_id) == [["BO-1:v2"], ["BO-2:v2", "BO-3:v2", "BO-4:v2"]]


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


def test_a_poison_record_is_bisected_out_and_described_in_the_failure_queue(moto: Moto) -> None:
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
    assert [len(ids) for ids in function.batches(event_id)][:6] == [4, 2, 2, 1, 1, 1]
    (failure,) = [json.loads(body) for body in moto.bodies("PublisherFailureQueue")]
    info = failure["DDBStreamBatchInfo"]
    assert (info["batchSize"], info["shardId"], info["streamArn"]) == (1, poller.shard_id, poller.stream_arn)
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 4  # the first call and 3 retries
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert "NewImage" not in json.dumps(failure)
    assert poller.leftover() is None


def test_without_retries_left_a_reported_failure_goes_to_the_failure_queue_and_the_stream_moves_on(
    moto: Moto,
) -> None:
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
    assert poller.leftover() is None


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
    assert (second["attributes"]["ApproximateReceiveCount"], second["attributes"]["MessageGroupId"]) == ("2", "G2")
    assert (second["eventSource"], second["eventSourceARN"][-5:]) == ("aws:sqs", ".fifo")


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


def test_failed_messages_keep_the_queues_visibility_timeout_unless_told(
    moto: Moto, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOCAL_SQS_RETRY_SECONDS")
    poller = moto.queue_poller(ScriptedFunction(lambda event: {"batchItemFailures": [{"itemIdentifier": "x"}]}))
    moto.send("a")

    poll(poller, 3)

    assert moto.bodies("FulfilmentQueue") == []  # in flight for the queue's 360 s
    assert poller.leftover() == "FulfilmentFunction.Queue: queue holds 0 visible, 1 in flight"


def test_each_queue_gets_one_consumer_per_container_up_to_its_maximum_concurrency(moto: Moto) -> None:
    template = load_template()

    @dataclasses.dataclass
    class Pool:
        size: int
        identity: Identity = dataclasses.field(default_factory=Identity)

        def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
            return {"batchItemFailures": []}

    class Stack:
        specs = function_specs(template, LocalResolver(template, "test"))
        tables = moto.tables
        queue_urls = moto.queues
        functions = {spec.logical_id: Pool(size=7) for spec in specs}

    service = EventSourcePollers(Stack())  # type: ignore[arg-type]
    service.start()
    service.stop()
    moto.send("left")

    with pytest.raises(TimeoutError) as left:
        service.drain(timeout=0.2)

    names = [poller.name for poller in service.pollers]
    assert sorted(names) == sorted(
        ["OutboxPublisherFunction.OutboxStream"]
        + ["ConfirmationEmailFunction.Queue"]
        + [f"ConfirmationEmailFunction.Queue#{n}" for n in range(1, 5)]  # ScalingConfig MaximumConcurrency 5
        + ["FulfilmentFunction.Queue"]
        + [f"FulfilmentFunction.Queue#{n}" for n in range(1, 5)]  # ScalingConfig MaximumConcurrency 5
        + ["ReconcilerFunction.Schedule"]
    )
    assert str(left.value).count("FulfilmentFunction.Queue: queue holds 1 visible") == 1


# ---------------------------------------------------------------- drain
class CountdownPoller(Poller):
    """Has `work` rounds of work, then nothing; `stuck` leaves something behind for ever."""

    def __init__(self, work: int, stuck: bool = False) -> None:
        super().__init__(f"countdown-{work}", None)
        self.work, self.stuck = work, stuck

    def poll_once(self) -> bool:
        time.sleep(0.001)
        if self.work:
            self.work -= 1
            return True
        return False

    def leftover(self) -> str | None:
        return "1 message in flight" if self.stuck or self.work else None


def started(*pollers: Poller) -> EventSourcePollers:
    service = EventSourcePollers(None)  # type: ignore[arg-type]
    service.pollers = list(pollers)
    for poller in pollers:
        poller.thread.start()
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
