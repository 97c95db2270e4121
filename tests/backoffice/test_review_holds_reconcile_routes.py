"""The back office's money-truth routes through the real order_admin handler under moto, Bolt faked at the HTTP
boundary: POST /orders/{id}/review, /release-holds and /reconcile, GET /orders?attention=true and what
GET /orders/{id} shows of holds, addresses and reconciliation. Bad input is a 4xx in the back office's error shape
and writes nothing."""

import base64
import json
import time
from typing import Any

import pytest
from bolt_merchant.core.errors import AdminCode
from bolt_merchant.orders.models import Order

from devstack import bolt_payloads
from tests import seed
from tests.backoffice.conftest import BackOffice
from tests.support import OperatorAnswer, signed_event

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

TOTAL = 2 * 2400 + 1600 + 599  # 6999
REVIEW = "/v1/merchant/transactions/review"
DETAILS = "/v1/merchant/transactions/"


def assert_failure(answer: OperatorAnswer, status: int, code: AdminCode) -> None:
    """The back office's error shape: {"status": "failure", "error": {code, message}}."""
    assert (answer.status, answer.error_code) == (status, code), answer.body
    assert answer.body["status"] == "failure"
    assert isinstance(answer.body["error"]["message"], str)
    assert answer.body["error"]["message"]


def event_types(backoffice: BackOffice, order_id: str) -> list[str]:
    events = sorted(seed.outbox(backoffice.aws, order_id).values(), key=lambda e: (e.occurred_at, e.event_id))
    return [event.event_type for event in events]


def held_echo(backoffice: BackOffice, reference: str, kind: str) -> dict[str, Any]:
    """Deliver now the `kind` webhook Bolt sent after our action and that was held back (a late echo)."""
    deadline = time.monotonic() + 5
    while not [w for w in list(backoffice.fake.webhooks) if (w["type"], w.get("fault")) == (kind, "hold")]:
        assert time.monotonic() < deadline, f"Bolt sent no {kind} webhook"
        time.sleep(0.01)
    (record,) = [r for r in backoffice.fake.release_webhooks() if (r["type"], r["reference"]) == (kind, reference)]
    assert record["status"] == 200
    return record


def flagged_order(backoffice: BackOffice) -> tuple[Order, str]:
    """An order whose payment Bolt's fraud review flagged reversibly (rejected_reversible)."""
    order = backoffice.place_order()
    reference = backoffice.authorize(order, review=True)
    backoffice.fake.reset_calls()
    flagged = backoffice.order(order.order_id)
    assert (flagged.status, flagged.phase) == ("payment_review", "review")
    return flagged, reference


def declined_after_authorisation(backoffice: BackOffice) -> tuple[Order, str]:
    """An authorised order Bolt then says was declined: held for decline_after_authorisation (a recorded fact)."""
    order, reference = backoffice.authorized_order()
    sent = backoffice.fake.send_webhook(reference, "failed_payment")
    assert sent["body"]["result"] == "held"
    held = backoffice.order(order.order_id)
    assert held.hold_reasons == ["decline_after_authorisation"]
    return held, reference


# ---------------------------------------------------------------- POST /orders/{id}/review
def test_approving_a_flagged_payment_authorises_it_once(backoffice: BackOffice) -> None:
    """approve: Bolt authorises the payment, the order is authorised for Bolt's amount; a retry with the same
    Idempotency-Key is the first answer replayed (one Bolt call), and Bolt's own auth webhook is a duplicate."""
    order, reference = flagged_order(backoffice)
    backoffice.fake.inject_webhook_fault("hold", reference=reference)  # Bolt's review webhook arrives late

    answer = backoffice.review(order.order_id, {"decision": "approve", "reason": "ID checked"}, key="rev-1")
    replay = backoffice.review(order.order_id, {"decision": "approve", "reason": "ID checked"}, key="rev-1")

    assert answer.status == 200
    assert answer.body["result"] == {"transaction_reference": reference, "decision": "approve", "status": "authorized"}
    assert (answer.body["order"]["status"], answer.body["order"]["amounts"]["authorized"]) == ("authorized", TOTAL)
    assert (replay.status, replay.body, replay.headers["Idempotent-Replayed"]) == (200, answer.body, "true")
    assert [call["body"]["decision"] for call in backoffice.fake.api_calls(REVIEW)] == ["approve"]
    assert backoffice.fake.transaction(reference)["status"] == "authorized"
    stored = backoffice.order(order.order_id)
    assert (stored.status, stored.phase, stored.authorized) == ("authorized", "authorized", TOTAL)
    assert held_echo(backoffice, reference, "auth")["body"]["result"] == "duplicate"
    assert backoffice.order(order.order_id) == stored
    assert "order.authorized" in event_types(backoffice, order.order_id)


def test_rejecting_a_flagged_payment_cancels_the_order_and_gives_its_stock_back(backoffice: BackOffice) -> None:
    """reject: Bolt rejects the payment for good, the order is cancelled and its stock released once."""
    stock_before = {sku: backoffice.stock(sku) for sku in ("TOTE-BLUE", "MUG-12OZ")}
    order, reference = flagged_order(backoffice)
    assert backoffice.stock("TOTE-BLUE") != stock_before["TOTE-BLUE"]  # reserved while in review
    backoffice.fake.inject_webhook_fault("hold", reference=reference)  # Bolt's review webhook arrives late

    answer = backoffice.review(order.order_id, {"decision": "reject"}, key="rev-2")

    assert answer.status == 200
    assert answer.body["order"]["status"] == "cancelled"
    assert backoffice.fake.transaction(reference)["status"] == "rejected_irreversible"
    stored = backoffice.order(order.order_id)
    assert (stored.status, stored.inventory_reserved) == ("cancelled", False)
    assert {sku: backoffice.stock(sku) for sku in stock_before} == stock_before
    assert event_types(backoffice, order.order_id)[-1] == "order.cancelled"
    assert held_echo(backoffice, reference, "rejected_irreversible")["body"]["result"] == "duplicate"
    assert {sku: backoffice.stock(sku) for sku in stock_before} == stock_before  # released once


def test_only_a_payment_in_fraud_review_can_be_reviewed(backoffice: BackOffice) -> None:
    """An authorised payment, or one merely pending (not flagged rejected_reversible), is a 409 before Bolt."""
    authorised, _ = backoffice.authorized_order()
    pending = backoffice.place_order()
    backoffice.authorize(pending, webhooks=["pending"])
    backoffice.fake.reset_calls()
    before = [backoffice.order(o.order_id) for o in (authorised, pending)]

    answers = [backoffice.review(o.order_id, {"decision": "approve"}) for o in (authorised, pending)]

    for answer in answers:
        assert_failure(answer, 409, AdminCode.STATE_CONFLICT)
    assert [backoffice.order(o.order_id) for o in (authorised, pending)] == before
    assert backoffice.fake.api_calls(REVIEW) == []
    assert_failure(backoffice.review("BO-NOSUCHORDER", {"decision": "approve"}), 404, AdminCode.ORDER_NOT_FOUND)


@pytest.mark.parametrize(
    "body",
    [{}, {"decision": "maybe"}, {"decision": "APPROVE"}, {"decision": "approve", "extra": 1}, {"decision": None}],
    ids=["missing", "unknown", "case", "extra-field", "null"],
)
def test_an_invalid_review_is_422_and_writes_nothing(backoffice: BackOffice, body: dict[str, Any]) -> None:
    """A review request we cannot read is refused before Bolt, with the order untouched."""
    order, _ = flagged_order(backoffice)

    answer = backoffice.review(order.order_id, body)

    assert_failure(answer, 422, AdminCode.INVALID_REQUEST)
    assert backoffice.order(order.order_id) == order
    assert backoffice.fake.api_calls() == []


# ---------------------------------------------------------------- POST /orders/{id}/release-holds
def test_an_operator_releases_a_recorded_contradiction_once(backoffice: BackOffice) -> None:
    """A decline after an authorisation (a recorded fact) is released by an operator: the order is authorised
    again, the release is ledgered with the note and announced (order.released); a retry is a replay."""
    held, _ = declined_after_authorisation(backoffice)
    body = {"reasons": ["decline_after_authorisation"], "note": "Bolt support: the decline was a test"}

    answer = backoffice.release_holds(held.order_id, body, key="rel-1")
    replay = backoffice.release_holds(held.order_id, body, key="rel-1")

    assert answer.status == 200
    assert answer.body["result"] == {"released": ["decline_after_authorisation"]}
    assert (answer.body["order"]["status"], answer.body["order"]["holds"]) == ("authorized", [])
    assert (replay.body, replay.headers["Idempotent-Replayed"]) == (answer.body, "true")
    after = backoffice.order(held.order_id)
    assert (after.status, after.holds, after.version) == ("authorized", [], held.version + 1)
    (release,) = [e for e in backoffice.view(held.order_id).body["timeline"] if e["key"].startswith("release#")]
    assert "Bolt support: the decline was a test" in release["note"]
    assert release["source"] == "backoffice"
    assert event_types(backoffice, held.order_id)[-1] == "order.released"


def test_a_hold_whose_cause_remains_in_bolts_facts_cannot_be_released(backoffice: BackOffice) -> None:
    """Bolt reports more refunded than captured: refunded_exceeds_captured follows from Bolt's facts, so releasing
    it is a 409 and the hold stays; asked together with a releasable hold, nothing is released."""
    order = backoffice.place_order()
    reference = backoffice.authorize(order)
    backoffice.fake.send_webhook(reference, "failed_payment")
    credit = bolt_payloads.transaction_webhook("credit", cart_id=order.cart_id, amount=TOTAL)
    credit["data"]["source_transaction"]["reference"] = reference
    assert backoffice.webhook(signed_event("transaction_webhook", credit), backoffice.context)["statusCode"] == 200
    held = backoffice.order(order.order_id)
    assert sorted(held.hold_reasons) == ["decline_after_authorisation", "refunded_exceeds_captured"]

    alone = backoffice.release_holds(order.order_id, {"reasons": ["refunded_exceeds_captured"]})
    together = backoffice.release_holds(
        order.order_id, {"reasons": ["decline_after_authorisation", "refunded_exceeds_captured"]}
    )

    for answer in (alone, together):
        assert_failure(answer, 409, AdminCode.STATE_CONFLICT)
        assert "refunded_exceeds_captured" in answer.body["error"]["message"]
        assert sorted(hold["reason"] for hold in answer.body["holds"]) == sorted(held.hold_reasons)
    assert backoffice.order(order.order_id) == held


def test_releasing_a_totals_mismatch_accepts_the_amount_bolt_authorised(backoffice: BackOffice) -> None:
    """Bolt authorised another amount than the order's total: the operator who checked it releases the hold, which
    records Bolt's amount as the accepted total; the order can then be captured, and the hold does not come back."""
    order = backoffice.place_order()
    backoffice.authorize(order, amount=TOTAL + 500)
    assert backoffice.order(order.order_id).hold_reasons == ["totals_mismatch"]

    released = backoffice.release_holds(order.order_id, {"reasons": ["totals_mismatch"], "note": "phone order"})
    captured = backoffice.capture(order.order_id, {"amount": TOTAL + 500}, key="capture-accepted")

    assert released.status == 200, released.body
    assert captured.status == 200, captured.body
    after = backoffice.order(order.order_id)
    assert (after.holds, after.accepted_total, after.captured) == ([], TOTAL + 500, TOTAL + 500)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"reasons": ["money_after_terminal_state"]}, 409, AdminCode.STATE_CONFLICT),  # not what it is held for
        ({}, 422, AdminCode.INVALID_REQUEST),
        ({"reasons": []}, 422, AdminCode.INVALID_REQUEST),
        ({"reasons": "decline_after_authorisation"}, 422, AdminCode.INVALID_REQUEST),
        ({"reasons": [""]}, 422, AdminCode.INVALID_REQUEST),
        ({"reasons": ["x" * 129]}, 422, AdminCode.INVALID_REQUEST),
        ({"reasons": ["decline_after_authorisation"] * 21}, 422, AdminCode.INVALID_REQUEST),
        ({"reasons": ["decline_after_authorisation"], "note": "n" * 501}, 422, AdminCode.INVALID_REQUEST),
        ({"reasons": ["decline_after_authorisation"], "force": True}, 422, AdminCode.INVALID_REQUEST),
    ],
    ids=["not-held-for", "missing", "empty", "not-a-list", "blank", "too-long", "too-many", "long-note", "extra"],
)
def test_an_invalid_release_is_refused_and_writes_nothing(
    backoffice: BackOffice, body: dict[str, Any], status: int, code: AdminCode
) -> None:
    """A release naming a hold the order does not have, or a body we cannot read, leaves the order held."""
    held, _ = declined_after_authorisation(backoffice)

    answer = backoffice.release_holds(held.order_id, body)

    assert_failure(answer, status, code)
    assert backoffice.order(held.order_id) == held


# ---------------------------------------------------------------- POST /orders/{id}/reconcile
def test_reconcile_applies_a_dashboard_credit_once_then_records_the_check(backoffice: BackOffice) -> None:
    """A refund made in Bolt's dashboard without a webhook: reconciling the order records it (ledger source
    "reconcile", reconciled_at shown); the next reconciliation finds nothing new and records only the check."""
    order, reference = backoffice.authorized_order()
    backoffice.capture(order.order_id)
    credit = backoffice.fake.dashboard(reference, "credit", 1000)

    first = backoffice.reconcile(order.order_id)

    assert (first.status, first.body["outcome"]) == (200, "changed")
    assert (first.body["order"]["status"], first.body["order"]["amounts"]["refunded"]) == ("partially_refunded", 1000)
    view = backoffice.view(order.order_id).body
    (entry,) = [e for e in view["timeline"] if e["key"] == f"credit#{credit['id']}"]
    assert (entry["amount"], entry["source"], entry["applied"]) == (1000, "reconcile", True)
    assert view["reconciled_at"] is not None
    changed = backoffice.order(order.order_id)
    assert changed.reconcile_checks == 0

    second = backoffice.reconcile(order.order_id)

    assert (second.status, second.body["outcome"]) == (200, "unchanged")
    checked = backoffice.order(order.order_id)
    assert (checked.refunded, checked.credits) == (1000, changed.credits)
    assert (checked.reconcile_checks, checked.version) == (1, changed.version + 1)
    assert checked.reconciled_at is not None
    assert changed.reconciled_at is not None
    assert checked.reconciled_at >= changed.reconciled_at
    assert backoffice.ledger_keys(order.order_id) == sorted(e["key"] for e in view["timeline"])
    assert backoffice.fake.send_webhook(credit["reference"], "credit")["body"]["result"] == "duplicate"


def test_reconciling_an_order_bolt_has_no_transaction_for_yet_asks_bolt_nothing(backoffice: BackOffice) -> None:
    """An order no webhook has reached: reconciliation records the check and calls nobody."""
    order = backoffice.place_order()

    answer = backoffice.reconcile(order.order_id)

    assert (answer.status, answer.body["outcome"]) == (200, "no_transaction")
    assert backoffice.fake.api_calls() == []
    assert backoffice.order(order.order_id).reconcile_checks == 1


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [((404, 1), 502, AdminCode.BOLT_FAILED), ((503, 3), 503, AdminCode.UNAVAILABLE)],
    ids=["bolt-does-not-know-it", "bolt-down"],
)
def test_reconcile_never_invents_a_fact_when_bolt_fails(
    backoffice: BackOffice, fault: tuple[int, int], status: int, code: AdminCode
) -> None:
    """Bolt answering 404 or failing: the operator is told, and the order is left exactly as it was."""
    order, reference = backoffice.authorized_order()
    backoffice.fake.dashboard(reference, "capture", 1000)
    before = backoffice.order(order.order_id)
    backoffice.fake.inject(fault[0], count=fault[1], path=DETAILS)

    answer = backoffice.reconcile(order.order_id)

    assert_failure(answer, status, code)
    assert backoffice.order(order.order_id) == before


@pytest.mark.parametrize(
    ("order_id", "raw", "status", "code"),
    [
        ("BO-NOSUCHORDER", None, 404, AdminCode.ORDER_NOT_FOUND),
        ("a%23b", None, 404, AdminCode.ORDER_NOT_FOUND),
        (None, b'{"force": true}', 422, AdminCode.INVALID_REQUEST),
        (None, b"[]", 400, AdminCode.INVALID_REQUEST),
        (None, b"{not json", 400, AdminCode.INVALID_REQUEST),
    ],
    ids=["unknown-order", "impossible-id", "unknown-field", "array", "not-json"],
)
def test_a_bad_reconcile_request_is_4xx_and_writes_nothing(
    backoffice: BackOffice, order_id: str | None, raw: bytes | None, status: int, code: AdminCode
) -> None:
    """Unknown orders and bodies other than {} are refused before Bolt is asked."""
    order, _ = backoffice.authorized_order()

    answer = backoffice.call("POST", order_id or order.order_id, "reconcile", raw=raw)

    assert_failure(answer, status, code)
    assert backoffice.order(order.order_id) == order
    assert backoffice.fake.api_calls() == []


# ---------------------------------------------------------------- GET /orders?attention=true
def waiting_payment(backoffice: BackOffice) -> str:
    """A payment webhook that names no cart and no order we know: kept for reconciliation. Its reference."""
    payload = bolt_payloads.transaction_webhook("auth", cart_id="c_nowhere0001")
    payload["data"]["order"] = None
    response = backoffice.webhook(signed_event("transaction_webhook", payload), backoffice.context)
    assert (response["statusCode"], json.loads(response["body"])["result"]) == (200, "held")
    return str(payload["data"]["reference"])


def attention_items(backoffice: BackOffice, **query: str) -> list[dict[str, Any]]:
    answer = backoffice.attention({"attention": "true", **query})
    assert answer.status == 200, answer.body
    return list(answer.body["items"])


def test_the_attention_list_shows_held_orders_and_waiting_payments_newest_first(backoffice: BackOffice) -> None:
    """Held orders with their reasons, webhooks waiting for an order with their payment, and open payments, most
    recently due first."""
    open_order, _ = backoffice.authorized_order()
    held, _ = declined_after_authorisation(backoffice)
    reference = waiting_payment(backoffice)

    items = attention_items(backoffice)

    assert [(i["kind"], i["order_id"], i["transaction_reference"], i["reasons"]) for i in items] == [
        ("waiting", None, reference, []),
        ("order", held.order_id, None, ["decline_after_authorisation"]),
        ("order", open_order.order_id, None, []),
    ]
    dues = [item["due"] for item in items]
    assert dues == sorted(dues, reverse=True)


def test_the_attention_list_pages_with_its_cursor(backoffice: BackOffice) -> None:
    """Following next_cursor page by page gives every item once, in the order of the whole list."""
    for _ in range(3):
        backoffice.authorized_order()
    declined_after_authorisation(backoffice)
    waiting_payment(backoffice)
    everything = attention_items(backoffice, limit="100")

    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        query = {"attention": "true", "limit": "2", **({"cursor": cursor} if cursor else {})}
        answer = backoffice.attention(query)
        assert answer.status == 200
        pages.append(answer.body["items"])
        cursor = answer.body["next_cursor"]
        if cursor is None:
            break

    assert len(everything) == 5
    assert [len(page) for page in pages[:-1]] == [2] * (len(pages) - 1)
    assert [item for page in pages for item in page] == everything


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def _cursor_keys(**changes: Any) -> str:
    keys: dict[str, Any] = {
        "pk": {"S": "ORDER#BO-X"},
        "sk": {"S": "ORDER"},
        "attention": {"S": "due"},
        "attention_at": {"S": "2026-01-01T00:00:00+00:00"},
    }
    return _b64(json.dumps({**keys, **changes}))


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"attention": "false"},
        {"attention": "true", "limit": "0"},
        {"attention": "true", "limit": "101"},
        {"attention": "true", "limit": "-1"},
        {"attention": "true", "limit": "ten"},
        {"attention": "true", "limit": "\u00b2"},  # a digit to str.isdigit, not to int()
        {"attention": "true", "cursor": "not a cursor"},
        {"attention": "true", "cursor": "%%%"},
        {"attention": "true", "cursor": _b64("[]")},
        {"attention": "true", "cursor": _b64('{"pk": {"S": "ORDER#BO-X"}}')},
        {"attention": "true", "cursor": _cursor_keys(pk={"N": "1"})},
        {"attention": "true", "cursor": _cursor_keys(extra={"S": "x"})},
        {"attention": "true", "cursor": _b64("[" * 5000)},
        {"attention": "true", "cursor": _b64("[" * 10_000 + "]" * 10_000)},  # past the decoder's recursion limit
        {"attention": "true", "cursor": _b64('{"a": ' * 5000)},
        {"attention": "true", "cursor": _cursor_keys(attention={"S": "elsewhere"})},
    ],
    ids=[
        "no-attention",
        "attention-false",
        "limit-zero",
        "limit-too-big",
        "limit-negative",
        "limit-word",
        "limit-superscript",
        "cursor-text",
        "cursor-symbols",
        "cursor-list",
        "cursor-missing-keys",
        "cursor-wrong-type",
        "cursor-extra-key",
        "cursor-unclosed-list",
        "cursor-deep-list",
        "cursor-unclosed-object",
        "cursor-other-partition",
    ],
)
def test_a_bad_attention_query_is_a_4xx_never_a_500(backoffice: BackOffice, query: dict[str, str]) -> None:
    """Whatever the query string holds, the operator gets a 4xx in the back office's error shape."""
    backoffice.authorized_order()

    answer = backoffice.attention(query)

    assert 400 <= answer.status < 500, answer.body
    assert answer.body["status"] == "failure"
    assert answer.error_code == AdminCode.INVALID_REQUEST


# ---------------------------------------------------------------- GET /orders/{id}
def test_the_order_view_shows_holds_addresses_and_when_it_was_reconciled(backoffice: BackOffice) -> None:
    """An order recovered from Bolt's cart (a cart we never stored): the view shows its hold with reason, detail
    and since, the billing and shipping addresses from Bolt's cart, and reconciled_at once reconciled."""
    cart_id = "c_recovered0001"
    cart = bolt_payloads.order_cart(cart_id)
    result = backoffice.fake.authorize(cart=cart, webhooks=["pending"])
    assert result["webhooks"][0]["body"]["result"] == "held"
    order_id = result["webhooks"][0]["body"]["display_id"]

    view = backoffice.view(order_id).body

    assert view["status"] == "on_hold"
    (hold,) = view["holds"]
    assert hold["reason"] == "recovered_unknown_cart"
    assert hold["detail"]
    assert hold["since"]
    assert view["hold_reason"] == "recovered_unknown_cart"
    address = bolt_payloads.SF_ADDRESS
    assert view["billing_address"]["street_address1"] == address["street_address1"]
    assert view["billing_address"]["email"] == address["email"]
    assert [a["postal_code"] for a in view["shipping_addresses"]] == [address["postal_code"]]
    assert view["shipping_addresses"][0]["locality"] == address["locality"]
    assert view["reconciled_at"] is None

    reconciled = backoffice.reconcile(order_id)

    assert reconciled.status == 200
    after = backoffice.view(order_id).body
    assert after["reconciled_at"] is not None
    assert after["payment_phase"] == "authorized"  # Bolt says the payment is authorised
    assert [hold["reason"] for hold in after["holds"]] == ["recovered_unknown_cart"]  # an operator's to release
