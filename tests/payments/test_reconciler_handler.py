"""The scheduled reconciler (functions/reconciler) under moto, with devstack's fake Bolt in-process (the back
office's fixture: its webhooks reach the real transaction webhook handler): what a run applies from Bolt's
transactions, what it answers and counts, one order on demand, the look-ahead, the time budget, Bolt's failures
reported and postponed, and a second run changing nothing."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bolt_merchant.core.aws import from_item
from bolt_merchant.orders import order_key

from devstack import bolt_payloads
from tests import seed
from tests.backoffice import conftest as back_office
from tests.backoffice.conftest import BackOffice
from tests.payments.conftest import emitted_metrics
from tests.support import FakeLambdaContext, LambdaHandler, signed_event

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])
backoffice = back_office.backoffice  # the back office's fixture: moto, fake Bolt, the webhook handler

TOTAL = 2 * 2400 + 1600 + 599  # 6999
DETAILS = "/v1/merchant/transactions/"
MONEY = {"status", "phase", "authorized", "captured", "refunded", "captures", "credits", "holds", "inventory_reserved"}


@pytest.fixture
def reconciler(backoffice: BackOffice) -> LambdaHandler:
    return backoffice.reconciler()


def run(backoffice: BackOffice, reconciler: LambdaHandler, event: Any, **context: Any) -> dict[str, Any]:
    answer: dict[str, Any] = reconciler(event, FakeLambdaContext(**context) if context else backoffice.context)
    return answer


def lost_payment(backoffice: BackOffice, cart_id: str) -> str:
    """A payment Bolt authorised whose only webhook named no cart: kept as a WAITING# marker. Its reference."""
    result = backoffice.fake.authorize(cart=bolt_payloads.order_cart(cart_id), webhooks=[])
    payload = bolt_payloads.webhook("auth", result["transaction"])
    payload["data"]["order"] = None
    response = backoffice.webhook(signed_event("transaction_webhook", payload), backoffice.context)
    assert response["statusCode"] == 200
    return str(result["transaction"]["reference"])


def attention_at(backoffice: BackOffice, order_id: str) -> datetime | None:
    item = backoffice.aws.dynamodb.get_item(
        TableName=backoffice.aws.tables["OrdersTable"], Key=order_key(order_id), ConsistentRead=True
    )["Item"]
    value = from_item(item).get("attention_at")
    return datetime.fromisoformat(value) if value else None


def money(backoffice: BackOffice, order_id: str) -> dict[str, Any]:
    return backoffice.order(order_id).model_dump(include=MONEY)


def test_a_scheduled_run_applies_what_only_bolt_knows_and_answers_its_outcomes(
    backoffice: BackOffice, reconciler: LambdaHandler, capsys: pytest.CaptureFixture[str]
) -> None:
    """Dashboard capture, credit and void without webhooks, and a payment whose webhook found no order: one run
    records each from Bolt's transaction (ledger source "reconcile"), recovers the missing order, answers the
    outcomes per kind and counts them; an order Bolt has nothing new for is only checked."""
    captured, captured_ref = backoffice.authorized_order()
    refunded, refunded_ref = backoffice.authorized_order()
    voided, voided_ref = backoffice.authorized_order((("HOODIE-M", 2),))
    hoodies = backoffice.stock("HOODIE-M")
    quiet, _ = backoffice.authorized_order()
    capture = backoffice.fake.dashboard(captured_ref, "capture", 2000)["captures"][0]
    backoffice.capture(refunded.order_id)
    credit = backoffice.fake.dashboard(refunded_ref, "credit", 800)
    backoffice.fake.dashboard(voided_ref, "void")
    lost_ref = lost_payment(backoffice, "c_lost00001")
    capsys.readouterr()

    answer = run(backoffice, reconciler, {})

    assert answer == {
        "checked": 5,
        "outcomes": {"changed": 3, "recovered": 1, "unchanged": 1},
        "errors": [],
    }
    metrics = emitted_metrics(capsys.readouterr().out)
    assert (metrics["ReconcileChanged"], metrics["ReconcileRecovered"], metrics["ReconcileUnchanged"]) == (3, 1, 1)
    assert "ReconcileFailed" not in metrics
    assert backoffice.order(captured.order_id).captures == {capture["id"]: 2000}
    timeline = backoffice.view(captured.order_id).body["timeline"]
    assert [e["source"] for e in timeline if e["key"] == f"capture#{capture['id']}"] == ["reconcile"]
    assert backoffice.order(refunded.order_id).credits == {credit["id"]: 800}
    assert backoffice.order(voided.order_id).status == "cancelled"
    assert backoffice.stock("HOODIE-M") == (hoodies[0] + 2, hoodies[1] - 2)  # the voided order's stock came back
    recovered = backoffice.order(seed.order_id_for("c_lost00001"))
    assert (recovered.phase, recovered.authorized, recovered.bolt_transaction_reference) == (
        "authorized",
        bolt_payloads.DEMO_TOTAL,
        lost_ref,
    )
    assert seed.orders_table_items(backoffice.aws, "waiting") == []
    checked = backoffice.order(quiet.order_id)
    assert (checked.status, checked.reconcile_checks) == ("authorized", 1)


def test_a_second_run_changes_nothing(backoffice: BackOffice, reconciler: LambdaHandler) -> None:
    """Idempotent: the same items looked at again (look-ahead of a day) only record their checks."""
    orders = [backoffice.authorized_order() for _ in range(2)]
    backoffice.fake.dashboard(orders[0][1], "capture", TOTAL)
    backoffice.fake.dashboard(orders[0][1], "credit", 500)
    backoffice.fake.dashboard(orders[1][1], "void")
    lost_payment(backoffice, "c_lost00002")
    first = run(backoffice, reconciler, {})
    assert first["errors"] == []
    ids = [order.order_id for order, _ in orders] + [seed.order_id_for("c_lost00002")]
    before = {order_id: (money(backoffice, order_id), backoffice.ledger_keys(order_id)) for order_id in ids}
    events = {order_id: sorted(seed.outbox(backoffice.aws, order_id)) for order_id in ids}
    stock = {sku: backoffice.stock(sku) for sku in ("TOTE-BLUE", "MUG-12OZ")}

    second = run(backoffice, reconciler, {"ahead_seconds": 86_400})

    assert set(second["outcomes"]) == {"unchanged"}
    assert second["checked"] == len(ids)
    assert {i: (money(backoffice, i), backoffice.ledger_keys(i)) for i in ids} == before
    assert {i: sorted(seed.outbox(backoffice.aws, i)) for i in ids} == events
    assert {sku: backoffice.stock(sku) for sku in stock} == stock


def test_one_order_on_demand(backoffice: BackOffice, reconciler: LambdaHandler) -> None:
    """{"order_id": ...} reconciles that order now, and nothing else."""
    asked, asked_ref = backoffice.authorized_order()
    other, other_ref = backoffice.authorized_order()
    backoffice.fake.dashboard(asked_ref, "capture", 1000)
    backoffice.fake.dashboard(other_ref, "capture", 1000)

    answer = run(backoffice, reconciler, {"order_id": asked.order_id})

    assert answer == {"checked": 1, "outcomes": {"changed": 1}, "errors": []}
    assert backoffice.order(asked.order_id).captured == 1000
    assert backoffice.order(other.order_id) == other
    assert [c["path"] for c in backoffice.fake.api_calls(DETAILS)] == [f"{DETAILS}{asked_ref}"]


def test_a_run_can_look_ahead_and_ignores_a_look_ahead_it_cannot_read(
    backoffice: BackOffice, reconciler: LambdaHandler
) -> None:
    """An order just checked is next due in two hours: a plain run leaves it, {"ahead_seconds": N} with N past that
    takes it; a look-ahead that is not a whole number of seconds is no look-ahead."""
    order, _ = backoffice.authorized_order()
    assert run(backoffice, reconciler, {"order_id": order.order_id})["outcomes"] == {"unchanged": 1}
    due = attention_at(backoffice, order.order_id)
    assert due is not None
    assert timedelta(hours=1) < due - datetime.now(UTC) <= timedelta(hours=2)

    ignored = [
        run(backoffice, reconciler, event)
        for event in (
            {},
            {"ahead_seconds": "10800"},
            {"ahead_seconds": True},
            {"ahead_seconds": -10800},
            {"ahead_seconds": 10800.0},
            {"ahead_seconds": None},
            {"ahead_seconds": 3600},
        )
    ]
    taken = run(backoffice, reconciler, {"ahead_seconds": 3 * 3600})

    assert [answer["checked"] for answer in ignored] == [0] * len(ignored)
    assert taken == {"checked": 1, "outcomes": {"unchanged": 1}, "errors": []}
    assert backoffice.order(order.order_id).reconcile_checks == 2


def test_a_run_with_too_little_time_left_checks_nothing(backoffice: BackOffice, reconciler: LambdaHandler) -> None:
    """Under five seconds left: the run stops before asking Bolt, and what was due stays due."""
    order, reference = backoffice.authorized_order()
    backoffice.fake.dashboard(reference, "capture", 1000)

    answer = run(backoffice, reconciler, {}, remaining_millis=4_000)

    assert answer == {"checked": 0, "outcomes": {}, "errors": []}
    assert backoffice.fake.api_calls(DETAILS) == []
    assert backoffice.order(order.order_id) == order
    assert run(backoffice, reconciler, {})["outcomes"] == {"changed": 1}


@pytest.mark.parametrize(
    ("status", "count", "message"),
    [(404, 1, "Bolt does not know the transaction"), (503, 3, "failed after 3 attempts")],
    ids=["bolt-404", "bolt-503"],
)
def test_a_bolt_failure_is_reported_postponed_and_invents_nothing(
    backoffice: BackOffice,
    reconciler: LambdaHandler,
    capsys: pytest.CaptureFixture[str],
    status: int,
    count: int,
    message: str,
) -> None:
    """Bolt cannot answer about an order: the run lists it in `errors`, counts ReconcileFailed, leaves the order as
    it was and pushes its next look back; once Bolt answers, the fact is applied."""
    order, reference = backoffice.authorized_order()
    backoffice.fake.dashboard(reference, "capture", 1000)
    backoffice.fake.inject(status, count=count, path=DETAILS)
    capsys.readouterr()
    started = datetime.now(UTC)

    answer = run(backoffice, reconciler, {})

    assert answer["outcomes"] == {"bolt_failed": 1}
    (error,) = answer["errors"]
    assert error.startswith(f"{order.order_id}: ")
    assert message in error
    metrics = emitted_metrics(capsys.readouterr().out)
    assert (metrics["ReconcileFailed"], metrics["ReconcileBoltFailed"]) == (1, 1)
    assert backoffice.order(order.order_id) == order
    due = attention_at(backoffice, order.order_id)
    assert due is not None
    assert due >= started + timedelta(hours=1)
    assert run(backoffice, reconciler, {})["checked"] == 0  # postponed

    retried = run(backoffice, reconciler, {"ahead_seconds": 2 * 3600})

    assert retried == {"checked": 1, "outcomes": {"changed": 1}, "errors": []}
    assert backoffice.order(order.order_id).captured == 1000
