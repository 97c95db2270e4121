"""Faults (reliability plan §7 E: T36-T41): what a dependency failure looks like to Bolt, and that Bolt's redelivery
then finds everything as if the fault never happened.

- DynamoDB throttling or a transaction conflict: a retryable 503 with Retry-After (never 401, never 5xx other than
  503), nothing written, and the redelivery is answered 200 with exactly one order, one reservation, one ledger
  entry and one outbox event.
- A crash between steps (the transaction committed, then the function died or lost the answer): Bolt sees a 503 or
  API Gateway's 502, redelivers, and gets the same answer as if the first had succeeded; nothing is duplicated.
- Secrets Manager unavailable: 503, never 401 (a 401 would tell Bolt a genuine hook was forged).
- SQS failing under the publisher, SES or the idempotency table failing under a consumer: the record is retried,
  the event is not lost, the side effect happens once. An idempotency record never caches an error.
- Bolt's API failing or timing out under the storefront's order token: 503, the cart unchanged, then 200.
"""

import dataclasses
import functools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters
from bolt_merchant.bolt import api as storefront_http
from bolt_merchant.bolt.api import BoltApiClient
from bolt_merchant.bolt.secrets import api_key
from bolt_merchant.bolt.signed import SIGNATURE_HEADER
from bolt_merchant.checkout.order_create import CONTENTION_ATTEMPTS
from bolt_merchant.core import settings as wiring
from bolt_merchant.core.errors import DependencyUnavailable
from bolt_merchant.core.idempotency import OperationRecords
from bolt_merchant.orders.models import order_id_for

from devstack import bolt_payloads, make_events
from devstack.bolt_payloads import sign
from devstack.fake_bolt import FakeBolt
from tests import seed
from tests.reliability.conftest import SIGNED, Answer, Functions, prepare_signed_state, retry_after
from tests.reliability.harness import (
    AwsCalls,
    Crash,
    Fault,
    area,
    base_payload,
    is_bolt_failure,
    lost_answer,
    writes,
)
from tests.reliability.pipeline import Pipeline, build_pipeline
from tests.support import DEV_API_KEY, DEV_SECRET, AwsStack, FakeLambdaContext, signed_event

FAULTS = area("faults")
DYNAMODB_OPERATIONS = ("GetItem", "BatchGetItem", "PutItem", "UpdateItem", "TransactWriteItems", "Query")
THROTTLING = ("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded")


def transaction_conflict(times: int) -> Fault:
    """TransactWriteItems cancelled because another transaction touched the same items."""
    reasons = [{"Code": "None"}, {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}]
    return Fault(
        "dynamodb",
        "TransactWriteItems",
        "TransactionCanceledException",
        times=times,
        extra={"CancellationReasons": reasons},
    )


def expect_retryable(answer: Answer, *, crash_allowed: bool = False) -> None:
    """503 + Retry-After in Bolt's failure shape (or, for a crash, API Gateway's 502): never 401, never 500."""
    FAULTS.case(answer.status, rejected=answer.status == 503 or answer.crashed, fault=True)
    if crash_allowed and answer.crashed:
        return
    assert answer.status == 503, answer.body
    assert retry_after(answer) is not None
    assert is_bolt_failure(answer.body)


def expect_ok(answer: Answer) -> None:
    FAULTS.case(answer.status)
    assert answer.status == 200, answer.body


@pytest.fixture
def pipeline(aws: AwsStack, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    return build_pipeline(aws, lambda_context, monkeypatch)


def order_create_event(cart_id: str = seed.DEMO_CART_ID) -> dict[str, Any]:
    return seed.order_create_event(seed.valid_order_cart(cart_id, seed.DEMO_ITEMS))


def order_snapshot(aws: AwsStack, cart_id: str = seed.DEMO_CART_ID) -> dict[str, Any]:
    """Everything order.create and the webhooks write for one cart: its order partition, the cart, stock."""
    order_id = order_id_for(cart_id)
    return {
        "partition": seed.partition(aws, order_id),
        "cart_status": seed.cart_item_attributes(aws, cart_id).get("status"),
        "stock": {sku: seed.stock(aws, sku) for sku, _ in seed.DEMO_ITEMS},
    }


def count_duplicates(aws: AwsStack, cart_id: str) -> int:
    """Orders beyond one for the cart (order items are keyed by cart, so any extra is a second key)."""
    return max(0, len(seed.orders_of_cart(aws, cart_id)) - 1)


def auth_for_a_created_order(functions: Functions, aws: AwsStack) -> dict[str, Any]:
    """The demo cart's order created, and the signed auth webhook for its full amount."""
    seed.seed_cart(aws)
    expect_ok(functions.invoke("order_create", order_create_event()))
    cart = seed.valid_order_cart(seed.DEMO_CART_ID, seed.DEMO_ITEMS)
    return signed_event(
        "transaction_webhook", bolt_payloads.transaction_webhook("auth", cart=cart, amount=seed.total_of(cart))
    )


# ---------------------------------------------------------------- DynamoDB under order.create and the webhook


@pytest.mark.parametrize("code", THROTTLING)
def test_order_create_throttled_is_a_503_then_the_redelivery_creates_one_order(
    functions: Functions, aws: AwsStack, aws_calls: AwsCalls, code: str
) -> None:
    seed.seed_cart(aws)
    before = order_snapshot(aws)
    aws_calls.inject(Fault("dynamodb", "TransactWriteItems", code))

    with aws_calls.watch() as seen:
        first = functions.invoke("order_create", order_create_event())

    expect_retryable(first)
    assert writes(seen) == []
    assert order_snapshot(aws) == before
    second = functions.invoke("order_create", order_create_event())
    expect_ok(second)
    after = order_snapshot(aws)
    assert len(seed.orders_of_cart(aws, seed.DEMO_CART_ID)) == 1
    assert [sk for sk in after["partition"] if sk.startswith("EVENT#")] == [f"EVENT#{seed.DEMO_ORDER_ID}:order.created"]
    assert after["stock"] == {
        sku: (inv - q, res + q) for (sku, q), (inv, res) in zip(seed.DEMO_ITEMS, before["stock"].values(), strict=True)
    }
    FAULTS.count(duplicates=count_duplicates(aws, seed.DEMO_CART_ID))


def test_order_create_transaction_conflicts_are_retried_then_a_503(
    functions: Functions, aws: AwsStack, aws_calls: AwsCalls
) -> None:
    seed.seed_cart(aws)
    # one conflict is absorbed by the store's own retry
    aws_calls.inject(transaction_conflict(times=1))
    expect_ok(functions.invoke("order_create", order_create_event()))
    # a conflict on every attempt is a 503, and the redelivery answers the same order
    seed.seed_cart(aws, "c_conflict0001")
    aws_calls.inject(transaction_conflict(times=CONTENTION_ATTEMPTS))
    expect_retryable(functions.invoke("order_create", order_create_event("c_conflict0001")))
    assert seed.orders_of_cart(aws, "c_conflict0001") == []
    expect_ok(functions.invoke("order_create", order_create_event("c_conflict0001")))
    assert len(seed.orders_of_cart(aws, "c_conflict0001")) == 1


@pytest.mark.parametrize("fault", ["throttled", "conflict", "read throttled", "lost answer", "crash"])
def test_a_webhook_that_failed_mid_way_is_redelivered_into_exactly_one_transition(
    functions: Functions, aws: AwsStack, aws_calls: AwsCalls, fault: str
) -> None:
    auth = auth_for_a_created_order(functions, aws)
    injected = {
        "throttled": Fault("dynamodb", "TransactWriteItems", "ProvisionedThroughputExceededException"),
        "conflict": transaction_conflict(times=1),
        "read throttled": Fault("dynamodb", "GetItem", "ThrottlingException"),
        "lost answer": lost_answer("dynamodb", "TransactWriteItems"),
        "crash": Fault("dynamodb", "TransactWriteItems", after=True, exception=Crash("after the commit")),
    }[fault]
    before = order_snapshot(aws)
    aws_calls.inject(injected)

    first = functions.invoke("transaction_webhook", auth)

    if fault == "conflict":  # another writer's transaction: the order is read again and the webhook applied at once
        expect_ok(first)
        assert first.body["result"] == "applied"
    else:
        expect_retryable(first, crash_allowed=True)
    committed = fault in ("lost answer", "crash", "conflict")
    assert (order_snapshot(aws) != before) == committed  # all or nothing: the transaction is the only write
    redelivered = functions.invoke("transaction_webhook", auth)
    expect_ok(redelivered)
    assert redelivered.body["result"] == ("duplicate" if committed else "applied")
    order = seed.stored_order(aws)
    assert order is not None
    assert order.status == "authorized"
    ledger = seed.ledger(aws)
    events = seed.outbox(aws)
    assert list(ledger) == [f"TX#auth#{bolt_payloads.payment_id()}"]
    assert len(events) == 2  # order.created and order.authorized, each once
    FAULTS.count(duplicates=count_duplicates(aws, seed.DEMO_CART_ID))


@pytest.mark.parametrize("fault", ["lost answer", "crash"])
def test_order_create_that_crashed_after_its_commit_is_answered_the_same_order_on_redelivery(
    functions: Functions, aws: AwsStack, aws_calls: AwsCalls, fault: str
) -> None:
    seed.seed_cart(aws)
    if fault == "crash":
        aws_calls.inject(Fault("dynamodb", "TransactWriteItems", after=True, exception=Crash("after the commit")))
    else:
        aws_calls.inject(lost_answer("dynamodb", "TransactWriteItems"))

    first = functions.invoke("order_create", order_create_event())
    expect_retryable(first, crash_allowed=True)
    second = functions.invoke("order_create", order_create_event())
    expect_ok(second)

    assert second.body["data"]["display_id"] == seed.DEMO_ORDER_ID
    assert len(seed.orders_of_cart(aws, seed.DEMO_CART_ID)) == 1
    for sku, quantity in seed.DEMO_ITEMS:  # reserved once
        inventory, reserved = seed.stock(aws, sku)
        assert reserved == quantity, (sku, inventory, reserved)
    FAULTS.count(duplicates=count_duplicates(aws, seed.DEMO_CART_ID))


@pytest.mark.parametrize("function_dir", SIGNED)
def test_every_signed_function_answers_503_when_dynamodb_throttles_and_recovers_on_redelivery(
    functions: Functions, aws: AwsStack, aws_calls: AwsCalls, function_dir: str
) -> None:
    """Every DynamoDB call throttled (after the SDK's retries): 503 + Retry-After, nothing written; then 200."""
    prepare_signed_state(functions, aws)
    wiring.reset()  # cold containers: the catalog cache is empty, every function has to read
    functions.handlers.clear()
    for operation in DYNAMODB_OPERATIONS:
        aws_calls.inject(Fault("dynamodb", operation, "ProvisionedThroughputExceededException", times=10**6))
    event = signed_event(function_dir, base_payload(function_dir))

    with aws_calls.watch() as seen:
        first = functions.invoke(function_dir, event)

    expect_retryable(first)
    assert writes(seen) == []
    aws_calls.clear_faults()
    expect_ok(functions.invoke(function_dir, event))


# ---------------------------------------------------------------- DynamoDB refusing the request itself


def expect_refused(answer: Answer, code: int) -> None:
    """A refusal is final: 422 in Bolt's shape with a generic message, no Retry-After (a retry gets the same)."""
    FAULTS.case(answer.status, rejected=True, fault=True)
    assert answer.status == 422, answer.body
    assert retry_after(answer) is None
    assert is_bolt_failure(answer.body)
    error = answer.body.get("error") or answer.body["errors"][0]
    assert error == {"code": code, "message": "The request could not be processed"}


ITEM_TOO_LARGE = Fault("dynamodb", "TransactWriteItems", "ValidationException")
ACTION_REFUSED = Fault(
    "dynamodb",
    "TransactWriteItems",
    "TransactionCanceledException",
    extra={"CancellationReasons": [{"Code": "None"}, {"Code": "ValidationError", "Message": "Item size exceeded"}]},
)


@pytest.mark.parametrize("refusal", [ITEM_TOO_LARGE, ACTION_REFUSED], ids=["validation", "refused action"])
def test_order_create_refused_by_dynamodb_is_a_final_422_with_nothing_written(
    functions: Functions, aws: AwsStack, aws_calls: AwsCalls, refusal: Fault
) -> None:
    """A 503 would make Bolt authorise anyway and the pending webhook hit the same refusal: refuse the checkout."""
    seed.seed_cart(aws)
    before = order_snapshot(aws)
    aws_calls.inject(dataclasses.replace(refusal))

    with aws_calls.watch() as seen:
        answer = functions.invoke("order_create", order_create_event())

    expect_refused(answer, 2001001)
    assert writes(seen) == []
    assert order_snapshot(aws) == before


def test_a_webhook_refused_by_dynamodb_is_a_422_and_applies_once_the_refusal_is_gone(
    functions: Functions, aws: AwsStack, aws_calls: AwsCalls
) -> None:
    auth = auth_for_a_created_order(functions, aws)
    aws_calls.inject(dataclasses.replace(ITEM_TOO_LARGE))

    expect_refused(functions.invoke("transaction_webhook", auth), 6009)
    redelivered = functions.invoke("transaction_webhook", auth)
    expect_ok(redelivered)
    assert redelivered.body["result"] == "applied"


def test_a_storefront_cart_refused_by_dynamodb_is_a_422(
    functions: Functions, aws: AwsStack, aws_calls: AwsCalls
) -> None:
    aws_calls.inject(Fault("dynamodb", "PutItem", "ValidationException"))
    event = make_events.hook_event(
        "storefront",
        json.dumps({"currency": "USD", "items": [{"sku": "MUG-12OZ", "quantity": 1}]}).encode(),
        headers={"Content-Type": "application/json"},
        route_path="/storefront/carts",
    )

    expect_refused(functions.invoke("storefront", event), 6009)


# ---------------------------------------------------------------- Secrets Manager


@pytest.mark.parametrize("function_dir", SIGNED)
def test_secrets_manager_down_is_a_503_never_a_401(
    functions: Functions, aws: AwsStack, aws_calls: AwsCalls, function_dir: str
) -> None:
    """T41: cold container, Secrets Manager failing: genuine and forged requests alike are 503 (we cannot tell)."""
    prepare_signed_state(functions, aws)
    wiring.reset()
    functions.handlers.clear()
    parameters.clear_caches()
    aws_calls.inject(Fault("secretsmanager", "GetSecretValue", "InternalServiceError", times=10**6, status=500))
    body = bolt_payloads.php_style_json(base_payload(function_dir))
    for headers in ({SIGNATURE_HEADER: sign(body, DEV_SECRET)}, {SIGNATURE_HEADER: sign(body, "forged")}, {}):
        answer = functions.invoke(function_dir, signed_event(function_dir, body, secret=None, extra_headers=headers))
        expect_retryable(answer)
    aws_calls.clear_faults()
    answer = functions.invoke(function_dir, signed_event(function_dir, body))
    FAULTS.case(answer.status)
    assert answer.status not in (401, 503)


def test_a_warm_container_keeps_answering_through_a_secrets_manager_outage(
    functions: Functions, aws: AwsStack, aws_calls: AwsCalls
) -> None:
    """Cached secrets serve genuine requests; a forged one may cost one failed refresh (503) a minute, then 401."""
    body = bolt_payloads.php_style_json(base_payload("shipping"))
    expect_ok(functions.invoke("shipping", signed_event("shipping", body)))
    aws_calls.inject(Fault("secretsmanager", "GetSecretValue", "InternalServiceError", times=10**6, status=500))

    with aws_calls.watch() as seen:
        genuine = [functions.invoke("shipping", signed_event("shipping", body)) for _ in range(20)]
        forged = [functions.invoke("shipping", signed_event("shipping", body, secret="forged")) for _ in range(20)]

    for answer in genuine:
        expect_ok(answer)
    statuses = [answer.status for answer in forged]
    for answer in forged:
        FAULTS.case(answer.status, rejected=answer.status in (401, 503), fault=True)
    assert statuses.count(503) <= 1
    assert set(statuses) <= {401, 503}
    assert len([call for call in seen if call.service == "secretsmanager"]) <= 1


def test_an_incomplete_secret_document_is_a_503(functions: Functions, aws: AwsStack) -> None:
    aws.put_secret({"api_key": DEV_API_KEY})  # no signing_secret
    answer = functions.invoke("shipping", signed_event("shipping", base_payload("shipping")))
    expect_retryable(answer)


# ---------------------------------------------------------------- the publisher and the consumers


def authorize(functions: Functions, aws: AwsStack, cart_id: str, hook: str = "auth") -> None:
    seed.seed_cart(aws, cart_id)
    expect_ok(functions.invoke("order_create", order_create_event(cart_id)))
    cart = seed.valid_order_cart(cart_id, seed.DEMO_ITEMS)
    payload = bolt_payloads.transaction_webhook(hook, cart_id=cart_id, cart=cart, amount=seed.total_of(cart))
    if hook == "payment":
        payload = bolt_payloads.transaction_webhook(
            hook,
            cart_id=cart_id,
            cart=cart,
            amount=seed.total_of(cart),
            captures=((f"CA-{cart_id}", seed.total_of(cart)),),
        )
    expect_ok(functions.invoke("transaction_webhook", signed_event("transaction_webhook", payload)))


def check_nothing_lost_or_duplicated(pipeline: Pipeline, orders: list[str]) -> None:
    lost, duplicated = pipeline.lost_and_duplicated()
    FAULTS.count(lost=len(lost), duplicates=len(duplicated))
    assert lost == []
    assert duplicated == []
    assert all(pipeline.depth(queue) == 0 for queue in ("ConfirmationEmailQueue", "FulfilmentQueue"))
    assert all(pipeline.depth(dlq) == 0 for dlq in ("ConfirmationEmailDLQ", "FulfilmentDLQ"))
    for order_id in orders:
        assert pipeline.emails()[order_id] == 1, order_id
        assert pipeline.oms.submitted[order_id] == 1, order_id


@pytest.mark.parametrize(
    "fault",
    ["sqs unavailable", "sqs throttled three times", "answer lost after sending", "second queue refuses"],
)
def test_sqs_failing_under_the_publisher_loses_and_duplicates_nothing(
    functions: Functions, aws: AwsStack, aws_calls: AwsCalls, pipeline: Pipeline, fault: str
) -> None:
    carts = ["c_fanout0001", "c_fanout0002"]
    for cart_id in carts:
        authorize(functions, aws, cart_id)
    injected = {
        "sqs unavailable": Fault("sqs", "SendMessageBatch", "ServiceUnavailable", times=2, status=503),
        "sqs throttled three times": Fault("sqs", "SendMessageBatch", "RequestThrottled", times=3),
        "answer lost after sending": lost_answer("sqs", "SendMessageBatch", times=2),
        "second queue refuses": Fault(
            "sqs",
            "SendMessageBatch",
            "ServiceUnavailable",
            times=1,
            status=503,
            when=lambda params: "Fulfilment" in params["QueueUrl"],
        ),
    }[fault]
    aws_calls.inject(injected)

    left = pipeline.drain()

    FAULTS.case(None, rejected=injected.fired > 0, fault=True)
    assert injected.fired > 0
    assert left == 0
    check_nothing_lost_or_duplicated(pipeline, [order_id_for(cart_id) for cart_id in carts])


@pytest.mark.parametrize("fault", ["ses throttled", "idempotency table throttled", "order read throttled"])
def test_a_consumer_failure_leaves_no_idempotency_record_and_the_retry_acts_once(
    functions: Functions, aws: AwsStack, aws_calls: AwsCalls, pipeline: Pipeline, fault: str
) -> None:
    """T36/T47: the record handler raised, so Powertools deleted its INPROGRESS record: nothing cached the error,
    the message came back, and the email was sent exactly once."""
    idempotency_table = aws.tables["IdempotencyTable"]
    injected = {
        "ses throttled": Fault("ses", "SendEmail", "Throttling", times=2),
        "idempotency table throttled": Fault(
            "dynamodb",
            "PutItem",
            "ProvisionedThroughputExceededException",
            times=2,
            when=lambda params: params["TableName"] == idempotency_table,
        ),
        "order read throttled": Fault(
            "dynamodb", "GetItem", "ThrottlingException", times=2, when=lambda p: p["TableName"] != idempotency_table
        ),
    }[fault]
    authorize(functions, aws, "c_consumer0001")
    assert pipeline.publish() == 0
    aws_calls.inject(injected)

    pipeline.consume(rounds=1)  # the first delivery fails
    assert injected.fired >= 1
    records = pipeline.idempotency_records()
    assert all(record.get("status") == "COMPLETED" for record in records), records  # no error cached, no lock left
    pipeline.consume()

    FAULTS.case(None, rejected=True, fault=True)
    check_nothing_lost_or_duplicated(pipeline, [order_id_for("c_consumer0001")])
    assert {record.get("status") for record in pipeline.idempotency_records()} == {"COMPLETED"}


def test_back_office_operation_records_never_replay_an_error(aws: AwsStack, lambda_context: FakeLambdaContext) -> None:
    """An operation that raised leaves no record: the retry runs it (and its answer is then replayed)."""
    records = OperationRecords(aws.dynamodb, aws.tables["IdempotencyTable"], "order-admin", "order and operation")
    records.register_lambda_context(lambda_context)  # type: ignore[arg-type]
    runs = []

    def failing() -> dict[str, Any]:
        runs.append("failed")
        raise DependencyUnavailable("Bolt unavailable")

    def succeeding() -> dict[str, Any]:
        runs.append("ran")
        return {"status": "success", "captured": 100}

    with pytest.raises(DependencyUnavailable):
        records.run("order-1:capture:key-1", "fingerprint", failing)
    assert aws.dynamodb.scan(TableName=aws.tables["IdempotencyTable"])["Items"] == []
    first = records.run("order-1:capture:key-1", "fingerprint", succeeding)
    again = records.run("order-1:capture:key-1", "fingerprint", succeeding)
    FAULTS.case(None, rejected=True, fault=True)
    assert first == ({"status": "success", "captured": 100}, False)
    assert again == ({"status": "success", "captured": 100}, True)
    assert runs == ["failed", "ran"]


# ---------------------------------------------------------------- Bolt's API under the storefront


@pytest.fixture
def fake_bolt(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBolt]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with FakeBolt(port=0, api_key=DEV_API_KEY, signing_secret=DEV_SECRET) as fake:
        yield fake


@pytest.mark.allow_hosts(["127.0.0.1"])
@pytest.mark.parametrize("fault", ["5xx", "429", "timeout"])
def test_bolt_failing_under_the_order_token_is_a_503_and_the_cart_is_unchanged(
    functions: Functions, aws: AwsStack, fake_bolt: FakeBolt, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    client = BoltApiClient(fake_bolt.url, api_key=api_key, timeout=(0.5, 0.3), sleep=lambda _: None)
    monkeypatch.setattr(storefront_http, "bolt_api", functools.cache(lambda: client))
    seed.seed_cart(aws, "c_token0001")
    before = seed.cart_item_attributes(aws, "c_token0001")
    path = "/v1/merchant/orders"
    if fault == "timeout":
        fake_bolt.inject(None, count=4, path=path, delay=0.6)
    else:
        fake_bolt.inject(503 if fault == "5xx" else 429, count=4, path=path)
    event = make_events.hook_event(
        "storefront",
        b"",
        headers={"Content-Type": "application/json"},
        route_path="/storefront/carts/{cart_id}/bolt-order-token",
        path_parameters={"cart_id": "c_token0001"},
    )

    first = functions.invoke("storefront", event)

    expect_retryable(first)
    assert seed.cart_item_attributes(aws, "c_token0001") == before
    fake_bolt.clear_faults()
    second = functions.invoke("storefront", event)
    expect_ok(second)
    assert (
        json.loads(seed.cart_item_attributes(aws, "c_token0001")["doc"])["bolt_order_token"]
        == second.body["order_token"]
    )
