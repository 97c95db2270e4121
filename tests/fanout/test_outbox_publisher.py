"""Outbox publisher: orders table stream -> every consumer's FIFO queue (reference §6 "Fan-out", T38, T39)."""

import json
from typing import Any

import pytest
from bolt_merchant.fanout.publisher import outbox_publisher
from botocore.exceptions import ClientError

from devstack import make_consumer_events
from devstack.template import load_template
from tests.fanout.support import (
    FakeContext,
    FanoutStack,
    batch_failures,
    body_of,
    order,
    outbox_event,
)

CONSUMER_QUEUES = ("ConfirmationEmailQueue", "FulfilmentQueue")


def _sequence_numbers(event: dict[str, Any]) -> list[str]:
    return [record["dynamodb"]["SequenceNumber"] for record in event["Records"]]


def _queued(fanout: FanoutStack, logical_id: str) -> list[dict[str, Any]]:
    return fanout.receive(logical_id)


def _fail_entries(fanout: FanoutStack, monkeypatch: pytest.MonkeyPatch, queue: str, event_ids: set[str]) -> None:
    """SendMessageBatch on `queue` answers 200 with the entries of `event_ids` in Failed; the rest really go."""
    client: Any = outbox_publisher()._client
    real = client.send_message_batch
    url = fanout.queues[queue]

    def send_message_batch(**kwargs: Any) -> dict[str, Any]:
        if kwargs["QueueUrl"] != url:
            passed: dict[str, Any] = real(**kwargs)
            return passed
        failing = [e for e in kwargs["Entries"] if e["MessageDeduplicationId"] in event_ids]
        passing = [e for e in kwargs["Entries"] if e not in failing]
        response: dict[str, Any] = real(QueueUrl=url, Entries=passing) if passing else {"Successful": []}
        failed = [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError"} for e in failing]
        return {**response, "Failed": failed}

    monkeypatch.setattr(client, "send_message_batch", send_message_batch)


def test_an_outbox_insert_reaches_every_consumer_queue_grouped_by_order(fanout: FanoutStack) -> None:
    # Given an order and its event written to the orders table
    handler = fanout.use_function("outbox_publisher")
    event = outbox_event("BO-ORDER00001")
    fanout.put_order(order("BO-ORDER00001"))
    fanout.put_event(event)

    # When the publisher gets the stream batch (the order's own INSERT included: the local stack has no filter)
    response = handler(fanout.stream_event(), FakeContext())

    # Then both queues hold the event once, in the order's group, deduplicated by the event id
    assert response == {"batchItemFailures": []}
    for queue in CONSUMER_QUEUES:
        (message,) = _queued(fanout, queue)
        assert message["Attributes"]["MessageGroupId"] == "BO-ORDER00001"
        assert message["Attributes"]["MessageDeduplicationId"] == event.event_id
        assert body_of(message) == json.loads(event.model_dump_json())


def test_inserts_that_are_not_outbox_events_are_ignored(fanout: FanoutStack) -> None:
    handler = fanout.use_function("outbox_publisher")
    fanout.put_order(order("BO-ORDER00001"))
    fanout.put_order(order("BO-ORDER00001", status="captured"))  # a MODIFY of the order

    stream = fanout.stream_event()
    response = handler(stream, FakeContext())

    assert [r["eventName"] for r in stream["Records"]] == ["INSERT", "MODIFY"]
    assert response == {"batchItemFailures": []}
    assert all(fanout.depth(queue) == 0 for queue in CONSUMER_QUEUES)


def test_entries_failed_inside_a_200_fail_exactly_their_record_and_a_rerun_sends_them_once(
    fanout: FanoutStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three orders' events, the second of which FulfilmentQueue refuses (HTTP 200, entry in Failed)
    handler = fanout.use_function("outbox_publisher")
    events = [outbox_event(f"BO-ORDER0000{n}") for n in (1, 2, 3)]
    for event in events:
        fanout.put_event(event)
    stream = fanout.stream_event()
    _fail_entries(fanout, monkeypatch, "FulfilmentQueue", {events[1].event_id})

    # When the batch is published
    response = handler(stream, FakeContext())

    # Then only the second record is handed back to the stream
    second = _sequence_numbers(stream)[1]
    assert batch_failures(response) == [second]
    assert fanout.depth("ConfirmationEmailQueue") == 3
    assert fanout.depth("FulfilmentQueue") == 2

    # When the stream retries from that record (Lambda resumes at the lowest failed sequence number)
    handler = fanout.use_function("outbox_publisher")  # a fresh container: new client, no injected failures
    retry = {"Records": [r for r in stream["Records"] if r["dynamodb"]["SequenceNumber"] >= second]}
    assert handler(retry, FakeContext()) == {"batchItemFailures": []}

    # Then every queue holds each event exactly once: FIFO deduplication drops the re-sent ones
    for queue in CONSUMER_QUEUES:
        ids = sorted(m["Attributes"]["MessageDeduplicationId"] for m in _queued(fanout, queue))
        assert ids == sorted(e.event_id for e in events)


def test_a_failed_event_holds_back_the_later_events_of_its_order(
    fanout: FanoutStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two events of one order and one of another, the first one refused by ConfirmationEmailQueue
    handler = fanout.use_function("outbox_publisher")
    first, second = outbox_event("BO-ORDER00001", version=2), outbox_event("BO-ORDER00001", "order.paid", 3)
    other = outbox_event("BO-ORDER00002")
    for event in (first, second, other):
        fanout.put_event(event)
    stream = fanout.stream_event()
    _fail_entries(fanout, monkeypatch, "ConfirmationEmailQueue", {first.event_id})

    response = handler(stream, FakeContext())

    # Then the order's second event was not sent ahead of its first; the other order is unaffected
    sequence = _sequence_numbers(stream)
    assert batch_failures(response) == sequence[:2]
    assert [m["Attributes"]["MessageDeduplicationId"] for m in _queued(fanout, "ConfirmationEmailQueue")] == [
        other.event_id
    ]

    # And after the retry the order's events are queued in their original order
    handler = fanout.use_function("outbox_publisher")
    assert handler(stream, FakeContext()) == {"batchItemFailures": []}
    group = [
        m["Attributes"]["MessageDeduplicationId"]
        for m in _queued(fanout, "ConfirmationEmailQueue")
        if m["Attributes"]["MessageGroupId"] == "BO-ORDER00001"
    ]
    assert group == [first.event_id, second.event_id]


def test_an_sqs_outage_fails_every_event_record_and_nothing_is_lost(
    fanout: FanoutStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = fanout.use_function("outbox_publisher")
    fanout.put_order(order("BO-ORDER00001"))
    fanout.put_event(outbox_event("BO-ORDER00001"))
    stream = fanout.stream_event()
    client = outbox_publisher()._client

    def unavailable(**_: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "SendMessageBatch")

    monkeypatch.setattr(client, "send_message_batch", unavailable)

    response = handler(stream, FakeContext())

    # the order INSERT is ignored (a success), the event INSERT goes back to the stream
    assert batch_failures(response) == [_sequence_numbers(stream)[1]]


def test_a_malformed_outbox_item_fails_alone(fanout: FanoutStack) -> None:
    handler = fanout.use_function("outbox_publisher")
    good = outbox_event("BO-ORDER00001")
    fanout.put_event(good)
    fanout.dynamodb.put_item(
        TableName=fanout.orders_table,
        Item={"pk": {"S": "ORDER#BO-BROKEN"}, "sk": {"S": "EVENT#x"}, "kind": {"S": "event"}, "doc": {"S": "{"}},
    )
    stream = fanout.stream_event()

    response = handler(stream, FakeContext())

    assert batch_failures(response) == [_sequence_numbers(stream)[1]]
    assert fanout.depth("ConfirmationEmailQueue") == 1


def test_the_events_file_is_what_the_generator_writes_and_publishes(fanout: FanoutStack) -> None:
    path = make_consumer_events.EVENTS_DIR / "outbox_publisher" / "stream_batch.json"
    expected = make_consumer_events.documents()[path.relative_to(make_consumer_events.EVENTS_DIR)]
    assert path.read_text(encoding="utf-8") == make_consumer_events.render(expected)

    handler = fanout.use_function("outbox_publisher")
    assert handler(json.loads(path.read_text(encoding="utf-8")), FakeContext()) == {"batchItemFailures": []}
    assert all(fanout.depth(queue) == 1 for queue in CONSUMER_QUEUES)


def test_template_stream_source_only_delivers_outbox_inserts_and_parks_failures() -> None:
    function = load_template()["Resources"]["OutboxPublisherFunction"]["Properties"]
    source = function["Events"]["OutboxStream"]["Properties"]
    (pattern,) = (json.loads(f["Pattern"]) for f in source["FilterCriteria"]["Filters"])
    assert pattern == {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"kind": {"S": ["event"]}}}}
    assert source["StartingPosition"] == "TRIM_HORIZON"
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert source["BisectBatchOnFunctionError"] is True
    assert source["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["PublisherFailureQueue", "Arn"]}
    (statement,) = function["Policies"][0]["Statement"]
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == [
        {"Fn::GetAtt": ["ConfirmationEmailQueue", "Arn"]},
        {"Fn::GetAtt": ["FulfilmentQueue", "Arn"]},
    ]
