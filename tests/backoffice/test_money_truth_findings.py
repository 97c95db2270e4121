"""The back office when Bolt knows more than the order (issue "Bolt is the system of record for money"), through the
real order_admin handler under moto with devstack's fake Bolt: a cancel Bolt answers with a capture the order had
not seen, and operations whose money moved at Bolt while our side failed, raced or lost the answer."""

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from bolt_merchant.backoffice import api as backoffice_api
from bolt_merchant.core.aws import dynamodb
from bolt_merchant.core.errors import AdminCode
from botocore.exceptions import ClientError

from tests import seed
from tests.backoffice.conftest import BackOffice
from tests.support import OperatorAnswer, load_handler

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

TOTAL = 2 * 2400 + 1600 + 599  # 6999
CREDIT = "/v1/merchant/transactions/credit"


def event_types(backoffice: BackOffice, order_id: str) -> list[str]:
    events = sorted(seed.outbox(backoffice.aws, order_id).values(), key=lambda e: (e.occurred_at, e.event_id))
    return [event.event_type for event in events]


def bolt_payment(backoffice: BackOffice, reference: str) -> dict[str, Any]:
    """The payment as Bolt's books hold it (the fake's ledger): status, captures and credits by id."""
    (payment,) = [p for p in backoffice.fake.ledger() if p["reference"] == reference]
    return payment


def pending_answers(backoffice: BackOffice, order_id: str) -> list[dict[str, Any]]:
    return [item for item in seed.orders_table_items(backoffice.aws, "pending_answer") if item["order_id"] == order_id]


def without_timeline(view: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in view.items() if key != "timeline"}


def throttle(operation: str, times: int) -> Callable[[], None]:
    """The layer's DynamoDB client answers its next `times` calls of `operation` with throttling (a retryable
    fault, past boto3's own retries); returns a function that stops it early."""
    event = f"before-call.dynamodb.{operation}"
    left = [times]

    def throttled(**_: Any) -> None:
        if left[0] <= 0:
            return
        left[0] -= 1
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "injected"}}, operation)

    dynamodb().meta.events.register(event, throttled)
    return lambda: dynamodb().meta.events.unregister(event, throttled)


# ---------------------------------------------------------------- operator cancel vs a capture the order has not seen
def test_a_cancel_bolt_answers_with_an_unseen_partial_capture_records_it_and_is_a_409(backoffice: BackOffice) -> None:
    """Bolt voids what is left after a partial capture made in its dashboard (no webhook) and answers the void with
    that capture: the order records it by Bolt's id and amount, is held, answers 409 with its real state, gives no
    stock back and emits no cancellation; the capture's late webhook is then a duplicate."""
    order, reference = backoffice.authorized_order()
    stock_before = {sku: backoffice.stock(sku) for sku in ("TOTE-BLUE", "MUG-12OZ")}
    dashboard = backoffice.fake.dashboard(reference, "capture", 2000)  # webhook=False: we never hear of it
    (capture,) = dashboard["captures"]

    answer = backoffice.cancel(order.order_id, {"reason": "customer asked"}, key="cancel-1")

    # what the fake (as Bolt) does: the void closes the rest of the authorisation, the payment is completed
    assert bolt_payment(backoffice, reference)["status"] == "completed"
    assert [call["status"] for call in backoffice.bolt_calls("void")] == [200]
    # what we answer: 409, with the order as it really is
    assert (answer.status, answer.error_code) == (409, AdminCode.STATE_CONFLICT)
    real = answer.body["order"]
    assert real["status"] == "on_hold"
    assert [hold["reason"] for hold in real["holds"]] == ["void_answered_with_captures"]
    assert real["amounts"]["captured"] == 2000
    assert real["bolt"]["captures"] == [{"id": capture["id"], "amount": 2000}]
    assert real["bolt"]["authorization_closed"] is True
    stored = backoffice.order(order.order_id)
    assert (stored.phase, stored.captured, stored.captures) == ("authorized", 2000, {capture["id"]: 2000})
    assert f"capture#{capture['id']}" in backoffice.ledger_keys(order.order_id)
    assert without_timeline(backoffice.view(order.order_id).body) == real
    assert {sku: backoffice.stock(sku) for sku in stock_before} == stock_before
    assert stored.inventory_reserved
    assert "order.cancelled" not in event_types(backoffice, order.order_id)
    assert event_types(backoffice, order.order_id)[-1] == "order.on_hold"

    # the capture's webhook, late: a duplicate that changes nothing
    late = backoffice.fake.send_webhook(reference, "capture")
    assert (late["status"], late["body"]["result"]) == (200, "duplicate")
    assert backoffice.order(order.order_id) == stored
    # and the operator's retry is refused before Bolt: the order now has a capture
    again = backoffice.cancel(order.order_id, {"reason": "customer asked"}, key="cancel-1")
    assert (again.status, again.error_code) == (409, AdminCode.STATE_CONFLICT)
    assert len(backoffice.bolt_calls("void")) == 1


def test_a_cancel_after_a_full_capture_in_bolts_dashboard_records_it_and_is_a_409(backoffice: BackOffice) -> None:
    """Bolt refuses to void a fully captured payment: the back office asks Bolt what the payment is now, records the
    capture made in Bolt's dashboard at once, and answers 409 with the order as it really is; nothing is cancelled
    or released, and the late capture webhook is a duplicate."""
    order, reference = backoffice.authorized_order()
    stock_before = backoffice.stock("TOTE-BLUE")
    dashboard = backoffice.fake.dashboard(reference, "capture", TOTAL)
    (capture,) = dashboard["captures"]

    answer = backoffice.cancel(order.order_id)

    assert [call["status"] for call in backoffice.bolt_calls("void")] == [422]
    assert bolt_payment(backoffice, reference)["status"] == "completed"
    assert (answer.status, answer.error_code) == (409, AdminCode.STATE_CONFLICT)
    assert f"Bolt reports {TOTAL} captured" in answer.body["error"]["message"]
    assert answer.body["order"]["amounts"]["captured"] == TOTAL
    after = backoffice.order(order.order_id)
    assert (after.status, after.captured, after.captures) == ("captured", TOTAL, {capture["id"]: TOTAL})
    assert backoffice.stock("TOTE-BLUE") == stock_before
    assert "order.cancelled" not in event_types(backoffice, order.order_id)
    (entry,) = [e for e in backoffice.view(order.order_id).body["timeline"] if e["key"] == f"capture#{capture['id']}"]
    assert entry["amount"] == TOTAL
    assert backoffice.fake.send_webhook(reference, "capture")["body"]["result"] == "duplicate"


def test_a_void_bolt_refuses_for_another_reason_is_bolts_422_and_changes_nothing(backoffice: BackOffice) -> None:
    """Bolt refuses the void and its payment shows no capture: Bolt's refusal is the answer, the order unchanged."""
    order, _ = backoffice.authorized_order()
    backoffice.fake.inject(422, path="/v1/merchant/transactions/void")
    before = backoffice.order(order.order_id)

    answer = backoffice.cancel(order.order_id)

    assert (answer.status, answer.error_code) == (422, AdminCode.BOLT_REJECTED)
    assert backoffice.order(order.order_id) == before


# ---------------------------------------------------------------- never a 503 after Bolt moved money
def test_twelve_concurrent_refunds_are_all_recorded_and_none_is_a_503(backoffice: BackOffice) -> None:
    """Twelve operators refund one captured order at once (distinct Idempotency-Keys, one container each): Bolt makes
    every refund, no answer is a 503, every refund Bolt made is on the order (at once, or kept as a pending answer
    answered 202 that one reconciliation run applies), refunded equals the sum of Bolt's credits, and a retry of any
    of them with its key answers the same."""
    order, reference = backoffice.authorized_order()
    assert backoffice.capture(order.order_id).status == 200
    operators = [dataclasses.replace(backoffice, admin=load_handler("order_admin")) for _ in range(12)]

    with seed.serialised_moto():
        answers = seed.run_concurrently(
            [
                lambda desk=desk, n=n: desk.refund(order.order_id, {"amount": 100 + n}, key=f"refund-{n}")
                for n, desk in enumerate(operators)
            ]
        )

    assert {answer.status for answer in answers} <= {200, 202}, [a.body for a in answers]
    bolt = bolt_payment(backoffice, reference)
    assert len(bolt["credits"]) == 12
    assert sorted(bolt["credits"].values()) == [100 + n for n in range(12)]
    assert {answer.body["result"]["credit_id"] for answer in answers} == set(bolt["credits"])
    accepted = [answer for answer in answers if answer.status == 202]
    assert len(pending_answers(backoffice, order.order_id)) == len(accepted)
    assert all(answer.body["status"] == "accepted" for answer in accepted)

    if accepted:  # one reconciliation run applies what was kept
        run = backoffice.reconciler()({"order_id": order.order_id}, backoffice.context)
        assert run["errors"] == []
    after = backoffice.order(order.order_id)
    assert after.credits == bolt["credits"]
    assert after.refunded == sum(bolt["credits"].values())
    assert pending_answers(backoffice, order.order_id) == []
    assert len([key for key in backoffice.ledger_keys(order.order_id) if key.startswith("credit#")]) == 12

    for n, (desk, first) in enumerate(zip(operators, answers, strict=True)):
        retry = desk.refund(order.order_id, {"amount": 100 + n}, key=f"refund-{n}")
        assert (retry.status, retry.body) == (first.status, first.body)
        assert retry.headers["Idempotent-Replayed"] == "true"
    assert len(bolt_payment(backoffice, reference)["credits"]) == 12


def test_a_refund_the_order_stays_too_busy_to_record_is_a_202_that_reconciliation_applies_once(
    backoffice: BackOffice, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bolt refunded, but every attempt to write the refund onto the order failed: the answer is 202 (not a 503),
    Bolt's answer is kept as a pending answer, one reconciliation applies it and forgets it, and the operator's
    retry answers the same 202 without refunding again."""
    monkeypatch.setattr(backoffice_api, "_backoff", lambda attempt: None)
    order, reference = backoffice.authorized_order()
    backoffice.capture(order.order_id)
    stop = throttle("TransactWriteItems", 8)  # every attempt to record Bolt's answer

    try:
        answer = backoffice.refund(order.order_id, {"amount": 1500}, key="busy-refund")
    finally:
        stop()

    assert (answer.status, answer.body["status"]) == (202, "accepted")
    credit_id = answer.body["result"]["credit_id"]
    assert bolt_payment(backoffice, reference)["credits"] == {credit_id: 1500}
    assert backoffice.order(order.order_id).refunded == 0
    (pending,) = pending_answers(backoffice, order.order_id)
    listed = backoffice.attention({"attention": "true"}).body["items"]
    assert {"kind": "pending_answer", "order_id": order.order_id} in [
        {"kind": item["kind"], "order_id": item["order_id"]} for item in listed
    ]

    run = backoffice.reconciler()({}, backoffice.context)

    assert run["errors"] == []
    after = backoffice.order(order.order_id)
    assert (after.refunded, after.credits) == (1500, {credit_id: 1500})
    assert pending_answers(backoffice, order.order_id) == []
    retry = backoffice.refund(order.order_id, {"amount": 1500}, key="busy-refund")
    assert (retry.status, retry.body, retry.headers["Idempotent-Replayed"]) == (202, answer.body, "true")
    assert len(bolt_payment(backoffice, reference)["credits"]) == 1
    assert len(backoffice.bolt_calls("credit")) == 1
    assert pending["event"]  # Bolt's answer itself was what was kept


def test_a_lost_refund_answer_is_replayed_by_bolt_and_the_credit_counted_once(backoffice: BackOffice) -> None:
    """Bolt refunded but its answer was lost (a 500 after the fact): our retry with the same Idempotency-Key is
    Bolt's replay, the operator gets 200, the credit is on the order once, and the operator's own retry is ours."""
    order, reference = backoffice.authorized_order()
    backoffice.capture(order.order_id)
    backoffice.fake.inject(500, after=True, path=CREDIT)

    answer = backoffice.refund(order.order_id, {"amount": 1200}, key="lost-answer")

    assert answer.status == 200
    calls = backoffice.bolt_calls("credit")
    assert [(c["status"], c["replayed"]) for c in calls] == [(500, False), (200, True)]
    assert len({c["idempotency_key"] for c in calls}) == 1
    bolt = bolt_payment(backoffice, reference)
    assert bolt["credits"] == {answer.body["result"]["credit_id"]: 1200}
    after = backoffice.order(order.order_id)
    assert (after.refunded, after.credits) == (1200, bolt["credits"])
    retry: OperatorAnswer = backoffice.refund(order.order_id, {"amount": 1200}, key="lost-answer")
    assert (retry.status, retry.body, retry.headers["Idempotent-Replayed"]) == (200, answer.body, "true")
    assert len(backoffice.bolt_calls("credit")) == 2
    assert backoffice.order(order.order_id).refunded == 1200
