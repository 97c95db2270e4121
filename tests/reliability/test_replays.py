"""Replays and concurrency (reliability plan §7 B and C: T13-T17, T20-T22).

Bolt's signature has no timestamp: a captured request can be replayed at any time, and Bolt resends failed hooks by
hand. Every signed request is replayed here ten times, through other request ids and trace headers, and again after
every Powertools idempotency record was deleted (as TTL would): the answer is the same, nothing more is written. Then
duplicates and different events race each other on several containers at once (moto serialised per request, as
DynamoDB is atomic per item: tests/seed.serialised_moto).
"""

import json
from collections.abc import Callable
from typing import Any

import pytest
from bolt_merchant.fanout.consumers import RECORD_LIFETIME
from bolt_merchant.orders.models import order_id_for

from devstack import bolt_payloads
from tests import seed
from tests.reliability.conftest import SIGNED, Answer, Functions, prepare_signed_state
from tests.reliability.harness import OPEN_CART, AwsCalls, area, base_payload, lost_answer, writes
from tests.reliability.pipeline import Pipeline, build_pipeline
from tests.support import AwsStack, FakeLambdaContext, LambdaHandler, signed_event

REPLAYS = area("replays")
CONCURRENCY = area("concurrency")
REPLAY_COUNT = 10


@pytest.fixture
def pipeline(aws: AwsStack, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    return build_pipeline(aws, lambda_context, monkeypatch)


def table_items(aws: AwsStack) -> dict[str, list[dict[str, Any]]]:
    """Both data tables, whole (the tests' tables hold a few dozen items)."""
    items = {}
    for logical_id in ("OrdersTable", "CatalogTable"):
        scanned = aws.dynamodb.scan(TableName=aws.tables[logical_id], ConsistentRead=True)["Items"]
        items[logical_id] = sorted(scanned, key=lambda item: json.dumps(item, sort_keys=True))
    return items


def other_transport(event: dict[str, Any], number: int) -> dict[str, Any]:
    """The same delivery through another request: new request id, trace headers, header order (T17)."""
    headers = dict(reversed(list(event["headers"].items())))
    headers["X-Amzn-Trace-Id"] = f"Root=1-00000000-{number:024d}"
    headers["X-Bolt-Trace-Id"] = f"replay-{number}"
    return {
        **event,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "requestContext": {**event["requestContext"], "requestId": f"replay-{number}"},
    }


def authorize(functions: Functions, aws: AwsStack, cart_id: str) -> dict[str, Any]:
    """An order created and authorised (its events make the consumers write idempotency records); Bolt's cart."""
    seed.seed_cart(aws, cart_id)
    cart = seed.valid_order_cart(cart_id, seed.DEMO_ITEMS)
    assert functions.invoke("order_create", seed.order_create_event(cart)).status == 200
    auth = bolt_payloads.transaction_webhook("auth", cart_id=cart_id, cart=cart, amount=seed.total_of(cart))
    assert functions.invoke("transaction_webhook", signed_event("transaction_webhook", auth)).status == 200
    return cart


def comparable(body: Any) -> Any:
    """The answer without what legitimately differs between a first delivery and its replay."""
    if isinstance(body, dict) and body.get("result") == "applied":
        return {**body, "result": "duplicate"}
    return body


@pytest.mark.parametrize("function_dir", [d for d in SIGNED if d != "cart_update"])
def test_every_signed_request_replayed_is_answered_the_same_and_writes_nothing(
    functions: Functions, aws: AwsStack, aws_calls: AwsCalls, pipeline: Pipeline, function_dir: str
) -> None:
    """T13, T14, T17: the first delivery does its work; ten replays, then ten more after every idempotency record
    was deleted, get the same answer and write nothing (no order, ledger entry, outbox event or stock change)."""
    prepare_signed_state(functions, aws)
    authorize(functions, aws, "c_replay_records")
    assert pipeline.drain() == 0  # the consumers ran: their idempotency records exist, to be forgotten below
    event = signed_event(function_dir, base_payload(function_dir))
    first = functions.invoke(function_dir, event)
    REPLAYS.case(first.status)
    assert first.status == 200, first.body
    after_first = table_items(aws)

    answers: list[Answer] = []
    with aws_calls.watch() as seen:
        for number in range(REPLAY_COUNT):
            answers.append(functions.invoke(function_dir, other_transport(event, number)))
        forgotten = pipeline.forget_idempotency_records()
        for number in range(REPLAY_COUNT):
            answers.append(functions.invoke(function_dir, other_transport(event, 100 + number)))

    changed = table_items(aws) != after_first
    for answer in answers:
        REPLAYS.case(answer.status)
    REPLAYS.count(duplicates=int(changed), violations=len(writes(seen)))
    assert forgotten > 0
    assert {json.dumps(comparable(a.body), sort_keys=True) for a in answers} == {
        json.dumps(comparable(first.body), sort_keys=True)
    }
    assert writes(seen) == []
    assert not changed


def test_a_replayed_cart_update_does_not_apply_its_change_twice(
    functions: Functions, aws: AwsStack, aws_calls: AwsCalls
) -> None:
    """cart.update carries deltas (add one mug): Bolt redelivering it after a lost answer must not add a second mug.
    Bolt sends the cart version it knows (cart.metadata.cart_version); a redelivery carries the old one."""
    seed.seed_cart(aws, OPEN_CART)
    stored = seed.stored_cart(aws, OPEN_CART)
    assert stored is not None
    before = {line.sku: line.quantity for line in stored.lines}
    event = signed_event("cart_update", base_payload("cart_update"))
    aws_calls.inject(lost_answer("dynamodb", "PutItem"))  # the cart was replaced, the answer never came back

    first = functions.invoke("cart_update", event)
    redelivered = functions.invoke("cart_update", event)

    for answer in (first, redelivered):
        REPLAYS.case(answer.status, fault=True)
    cart = seed.stored_cart(aws, OPEN_CART)
    assert cart is not None
    mugs = {line.sku: line.quantity for line in cart.lines}.get("MUG-12OZ", 0)
    REPLAYS.count(duplicates=int(mugs > before.get("MUG-12OZ", 0) + 1))
    assert first.status == 503
    assert mugs == before.get("MUG-12OZ", 0) + 1, (
        f"{mugs} mugs after one add of one mug (redelivery: {redelivered.body})"
    )


def test_consumer_records_outlive_every_redelivery_path(aws: AwsStack) -> None:
    """A consumer's idempotency record must outlive any copy of its message: the queue's retention plus its DLQ's
    (a redrive), or a replay after the record expired would act twice."""
    resources = aws.template["Resources"]
    for queue, dlq in (("ConfirmationEmailQueue", "ConfirmationEmailDLQ"), ("FulfilmentQueue", "FulfilmentDLQ")):
        queue_retention = int(resources[queue]["Properties"].get("MessageRetentionPeriod", 345_600))  # SQS: 4 days
        dlq_retention = int(resources[dlq]["Properties"].get("MessageRetentionPeriod", 345_600))
        REPLAYS.case(None)
        assert RECORD_LIFETIME.total_seconds() > queue_retention + dlq_retention, queue


def test_consumer_messages_replayed_after_the_fifo_window_act_once(
    functions: Functions, aws: AwsStack, pipeline: Pipeline
) -> None:
    """The publisher re-sends an event after SQS's 5-minute deduplication window (a new deduplication id): the
    consumers' idempotency records keep the side effects at one."""
    authorize(functions, aws, "c_replay0001")
    assert pipeline.drain() == 0
    events = pipeline.outbox_events()

    for number in range(3):
        for queue in ("ConfirmationEmailQueue", "FulfilmentQueue"):
            for event_id, document in events.items():
                pipeline.sqs.send_message(
                    QueueUrl=pipeline.queues[queue],
                    MessageBody=json.dumps(document),
                    MessageGroupId=document["order_id"],
                    MessageDeduplicationId=f"{event_id}:later-{number}",
                )
                REPLAYS.case(None)
        pipeline.consume()

    order_id = order_id_for("c_replay0001")
    duplicated = pipeline.lost_and_duplicated()[1]
    REPLAYS.count(duplicates=len(duplicated))
    assert duplicated == []
    assert pipeline.emails()[order_id] == 1
    assert pipeline.oms.submitted[order_id] == 1
    assert set(pipeline.oms.keys) == {order_id}  # the OMS's own Idempotency-Key is stable too


# ---------------------------------------------------------------- concurrency


def run_at_once(calls: list[Callable[[], Answer]]) -> list[Answer]:
    with seed.serialised_moto():
        return seed.run_concurrently(calls)


def containers(functions: Functions, function_dir: str, count: int) -> list[LambdaHandler]:
    return [functions.fresh(function_dir) for _ in range(count)]


def record(answers: list[Answer]) -> None:
    for answer in answers:
        CONCURRENCY.case(answer.status, rejected=answer.status in (409, 503), fault=True)


@pytest.mark.parametrize("trial", range(4))
def test_order_create_and_its_pending_webhook_racing_give_one_order(
    functions: Functions, aws: AwsStack, trial: int
) -> None:
    """T20: order.create and the pending webhook (which may recreate the order from Bolt's cart) at once."""
    cart_id = f"c_race_pending{trial}"
    seed.seed_cart(aws, cart_id)
    cart = seed.valid_order_cart(cart_id, seed.DEMO_ITEMS)
    create = seed.order_create_event(cart)
    pending = signed_event(
        "transaction_webhook",
        bolt_payloads.transaction_webhook("pending", cart_id=cart_id, cart=cart, amount=seed.total_of(cart)),
    )
    handlers = containers(functions, "order_create", 3) + containers(functions, "transaction_webhook", 3)
    events = [create] * 3 + [pending] * 3
    dirs = ["order_create"] * 3 + ["transaction_webhook"] * 3

    answers = run_at_once(
        [
            lambda d=d, e=e, h=h: functions.invoke(d, e, handler=h)
            for d, e, h in zip(dirs, events, handlers, strict=True)
        ]
    )

    record(answers)
    orders = seed.orders_of_cart(aws, cart_id)
    CONCURRENCY.count(duplicates=max(0, len(orders) - 1))
    assert all(answer.status in (200, 503) for answer in answers), [(a.status, a.body) for a in answers]
    assert len(orders) == 1
    assert {a.body["data"]["display_id"] for a in answers[:3] if a.status == 200} <= {order_id_for(cart_id)}
    # whatever lost the race is answered the same on Bolt's retry
    for d, e in zip(dirs, events, strict=True):
        retried = functions.invoke(d, e)
        CONCURRENCY.case(retried.status)
        assert retried.status == 200, retried.body
    order = seed.stored_order(aws, order_id_for(cart_id))
    assert order is not None
    assert order.status == "payment_review"
    assert list(seed.ledger(aws, order_id_for(cart_id))) == [f"TX#pending#{bolt_payloads.payment_id(cart_id)}"]


@pytest.mark.parametrize("hook", ["pending", "auth", "capture", "credit", "void"])
def test_concurrent_duplicates_of_a_webhook_apply_once(functions: Functions, aws: AwsStack, hook: str) -> None:
    """T15: eight copies of one delivery at once: all acknowledged (or asked to retry), one ledger entry, one event."""
    cart_id = f"c_dup_{hook}"
    seed.seed_cart(aws, cart_id)
    cart = seed.valid_order_cart(cart_id, seed.DEMO_ITEMS)
    total = seed.total_of(cart)
    assert functions.invoke("order_create", seed.order_create_event(cart)).status == 200
    hook_ = bolt_payloads.transaction_webhook
    captures = ((bolt_payloads.capture_id(1, cart_id), total),)
    if hook in ("capture", "credit"):
        assert (
            functions.invoke(
                "transaction_webhook",
                signed_event("transaction_webhook", hook_("auth", cart_id=cart_id, cart=cart, amount=total)),
            ).status
            == 200
        )
    if hook == "credit":
        capture = hook_("capture", cart_id=cart_id, cart=cart, amount=total, captures=captures)
        assert functions.invoke("transaction_webhook", signed_event("transaction_webhook", capture)).status == 200
    payload = hook_(
        hook,
        cart_id=cart_id,
        cart=cart,
        amount=500 if hook == "credit" else total,
        captures=captures if hook == "capture" else (),
    )
    event = signed_event("transaction_webhook", payload)
    before_events = len(seed.outbox(aws, order_id_for(cart_id)))
    before_ledger = set(seed.ledger(aws, order_id_for(cart_id)))

    answers = run_at_once(
        [
            lambda h=h: functions.invoke("transaction_webhook", event, handler=h)
            for h in containers(functions, "transaction_webhook", 8)
        ]
    )

    record(answers)
    new_ledger = set(seed.ledger(aws, order_id_for(cart_id))) - before_ledger
    new_events = len(seed.outbox(aws, order_id_for(cart_id))) - before_events
    CONCURRENCY.count(duplicates=max(0, new_events - 1))
    assert all(answer.status in (200, 503) for answer in answers), [(a.status, a.body) for a in answers]
    assert sorted(a.body["result"] for a in answers if a.status == 200).count("applied") <= 1
    assert len(new_ledger) == 1, new_ledger
    assert new_events == 1


def test_two_partial_captures_arriving_at_once_are_both_counted(functions: Functions, aws: AwsStack) -> None:
    """Different events of one order at once: optimistic versioning retries the loser, nothing is lost."""
    cart_id = "c_two_captures"
    cart = authorize(functions, aws, cart_id)
    total = seed.total_of(cart)
    hook_ = bolt_payloads.transaction_webhook
    first = hook_(
        "capture", cart_id=cart_id, cart=cart, amount=total, captures=((bolt_payloads.capture_id(1, cart_id), 1000),)
    )
    second = hook_(
        "capture", cart_id=cart_id, cart=cart, amount=total, captures=((bolt_payloads.capture_id(2, cart_id), 2000),)
    )
    events = [signed_event("transaction_webhook", first), signed_event("transaction_webhook", second)] * 3

    answers = run_at_once(
        [
            lambda e=e, h=h: functions.invoke("transaction_webhook", e, handler=h)
            for e, h in zip(events, containers(functions, "transaction_webhook", len(events)), strict=True)
        ]
    )
    for event in events:  # Bolt retries whatever was asked to
        if any(a.status == 503 for a in answers):
            functions.invoke("transaction_webhook", event)

    record(answers)
    order = seed.stored_order(aws, order_id_for(cart_id))
    assert order is not None
    lost = 3000 - order.captured
    CONCURRENCY.count(lost=int(lost != 0))
    assert order.captured == 3000
    assert sorted(order.captures) == [bolt_payloads.capture_id(1, cart_id), bolt_payloads.capture_id(2, cart_id)]
