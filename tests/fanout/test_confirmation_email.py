"""Order confirmation email consumer: one email per order through SES (reference §7 F: T44, T46, T47)."""

import json
from typing import Any

import pytest

from devstack import make_consumer_events
from devstack.template import load_template
from tests.fanout.support import (
    CANARY_EMAIL,
    FakeContext,
    FanoutStack,
    batch_failures,
    order,
    outbox_event,
)

QUEUE = "ConfirmationEmailQueue"


def _enqueue(fanout: FanoutStack, *events: Any) -> None:
    for event in events:
        fanout.send(QUEUE, event.model_dump_json(), event.order_id, event.event_id)


def test_duplicate_deliveries_and_later_events_of_the_order_send_one_email(fanout: FanoutStack) -> None:
    # Given an authorised order whose events arrive more than once
    handler = fanout.use_function("confirmation_email")
    fanout.put_order(order("BO-ORDER00001"))
    authorized = outbox_event("BO-ORDER00001", "order.authorized", version=2)
    paid = outbox_event("BO-ORDER00001", "order.paid", version=3)

    # When the same event comes twice (a producer retry after the FIFO window: a new message id) and then a
    # different event of the same order asks for a confirmation too, in separate and in shared batches
    for attempt, events in enumerate([(authorized,), (authorized,), (paid, authorized)]):
        for event in events:
            fanout.send(QUEUE, event.model_dump_json(), event.order_id, f"{event.event_id}:attempt-{attempt}")
        deliveries = fanout.drive(QUEUE, handler)
        assert sum(deliveries.values()) == len(events)

    # Then the shopper got exactly one email, from the configured sender
    (email,) = fanout.sent_emails()
    assert email.destinations["ToAddresses"] == [CANARY_EMAIL]
    assert email.source == fanout.resolver.parameters["ConfirmationSender"]
    assert "BO-ORDER00001" in email.subject
    assert fanout.ses.get_send_quota()["SentLast24Hours"] == 1
    assert fanout.depth(QUEUE) == 0


def test_the_same_message_twice_in_one_batch_sends_one_email(fanout: FanoutStack) -> None:
    handler = fanout.use_function("confirmation_email")
    fanout.put_order(order("BO-ORDER00001"))
    body = outbox_event("BO-ORDER00001").model_dump_json()
    record = make_consumer_events.sqs_record(
        body,
        message_id="m-1",
        group_id="BO-ORDER00001",
        deduplication_id="BO-ORDER00001:v2",
        sequence_number="1",
        queue_arn=fanout.queue_arn(QUEUE),
    )

    response = handler({"Records": [record, dict(record)]}, FakeContext())

    assert response == {"batchItemFailures": []}
    assert len(fanout.sent_emails()) == 1


def test_events_that_ask_for_no_confirmation_are_acknowledged_without_email(
    fanout: FanoutStack, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = fanout.use_function("confirmation_email")
    fanout.put_order(order("BO-ORDER00001"))
    _enqueue(
        fanout, outbox_event("BO-ORDER00001", "order.created", 1), outbox_event("BO-ORDER00001", "order.captured", 4)
    )

    fanout.drive(QUEUE, handler)

    assert fanout.sent_emails() == []
    assert fanout.depth(QUEUE) == 0
    assert '"ConfirmationEventIgnored":[1.0,1.0]' in capsys.readouterr().out.replace(" ", "")


def test_orders_without_contact_or_already_cancelled_get_no_email(fanout: FanoutStack) -> None:
    handler = fanout.use_function("confirmation_email")
    fanout.put_order(order("BO-ORDER00001", contact_email=None))
    fanout.put_order(order("BO-ORDER00002", status="cancelled", phase="cancelled"))
    _enqueue(fanout, outbox_event("BO-ORDER00001"), outbox_event("BO-ORDER00002"))

    fanout.drive(QUEUE, handler)

    assert fanout.sent_emails() == []
    assert fanout.depth(QUEUE) == 0


def test_a_poison_message_fails_alone_and_the_rest_of_the_batch_is_processed(fanout: FanoutStack) -> None:
    # Given a batch: order 1, an unparseable body (its own group), order 2
    handler = fanout.use_function("confirmation_email")
    fanout.put_order(order("BO-ORDER00001", contact_email="one@example.com"))
    fanout.put_order(order("BO-ORDER00002", contact_email="two@example.com"))
    _enqueue(fanout, outbox_event("BO-ORDER00001"))
    fanout.send(QUEUE, "{not json", "BO-POISON", "poison-1")
    _enqueue(fanout, outbox_event("BO-ORDER00002"))
    messages = fanout.receive(QUEUE)
    poison = next(m["MessageId"] for m in messages if m["Body"] == "{not json")

    # When the consumer handles it
    response = handler(make_consumer_events.sqs_event_from(messages, fanout.queue_arn(QUEUE)), FakeContext())

    # Then only the poison message is reported, and both shoppers got their email
    assert batch_failures(response) == [poison]
    assert sorted(e.destinations["ToAddresses"][0] for e in fanout.sent_emails()) == [
        "one@example.com",
        "two@example.com",
    ]


def test_a_message_that_keeps_failing_lands_in_the_dlq_after_five_receives(fanout: FanoutStack) -> None:
    handler = fanout.use_function("confirmation_email")
    fanout.send(QUEUE, "{not json", "BO-POISON", "poison-1")

    deliveries = fanout.drive(QUEUE, handler, rounds=10)

    assert list(deliveries.values()) == [5]
    assert fanout.depth(QUEUE) == 0
    (parked,) = fanout.receive("ConfirmationEmailDLQ")
    assert parked["Body"] == "{not json"


def test_an_order_missing_from_the_table_is_retried_then_parked(fanout: FanoutStack) -> None:
    handler = fanout.use_function("confirmation_email")
    _enqueue(fanout, outbox_event("BO-NOT-STORED"))

    deliveries = fanout.drive(QUEUE, handler)

    assert list(deliveries.values()) == [5]
    assert len(fanout.receive("ConfirmationEmailDLQ")) == 1


def test_an_ses_failure_is_retried_and_never_logs_the_address(
    fanout: FanoutStack, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Given a sender SES does not accept (unverified identity)
    handler = fanout.use_function("confirmation_email", CONFIRMATION_SENDER="unverified@shop.example.com")
    fanout.put_order(order("BO-ORDER00001"))
    _enqueue(fanout, outbox_event("BO-ORDER00001"))

    # When the consumer tries, then tries again after a fix
    first = fanout.drive(QUEUE, handler, rounds=1)
    handler = fanout.use_function("confirmation_email")
    fanout.drive(QUEUE, handler)

    # Then the failed attempt left no idempotency record behind, so the retry sent the email
    assert list(first.values()) == [1]
    assert len(fanout.sent_emails()) == 1
    output = capsys.readouterr()
    logged = output.out + output.err + caplog.text
    assert "MessageRejected" in logged
    assert CANARY_EMAIL not in logged


def test_the_events_file_is_what_the_generator_writes_and_sends_one_email(fanout: FanoutStack) -> None:
    path = make_consumer_events.EVENTS_DIR / "confirmation_email" / "sqs_batch.json"
    expected = make_consumer_events.documents()[path.relative_to(make_consumer_events.EVENTS_DIR)]
    assert path.read_text(encoding="utf-8") == make_consumer_events.render(expected)

    handler = fanout.use_function("confirmation_email")
    fanout.put_order(order(make_consumer_events.DEMO_ORDER_ID))
    assert handler(json.loads(path.read_text(encoding="utf-8")), FakeContext()) == {"batchItemFailures": []}
    assert len(fanout.sent_emails()) == 1


def test_template_queue_dlq_alarm_and_permissions() -> None:
    resources = load_template()["Resources"]
    queue = resources[QUEUE]["Properties"]
    function = resources["ConfirmationEmailFunction"]["Properties"]
    assert queue["FifoQueue"] is True
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]
    assert resources["ConfirmationEmailDLQ"]["Properties"]["FifoQueue"] is True
    alarm = resources["ConfirmationEmailDLQAlarm"]["Properties"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    statements = {s["Sid"]: s for s in function["Policies"][0]["Statement"]}
    assert statements["IdempotencyRecords"]["Action"] == [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    ]
    assert statements["ReadOrder"]["Action"] == "dynamodb:GetItem"
    assert statements["SendConfirmation"]["Action"] == "ses:SendEmail"
    assert function["Events"]["Queue"]["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
