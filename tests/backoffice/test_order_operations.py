"""Back-office routes under moto, Bolt faked at the HTTP boundary: each operation, its state rules and its records."""

import logging

import pytest
from bolt_merchant.core.errors import AdminCode
from bolt_merchant.core.observability import logger

from devstack.settings import LOCAL_OPERATOR_ARN
from tests.backoffice.conftest import BackOffice

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

TOTAL = 2 * 2400 + 1600 + 599  # 6999


# ---------------------------------------------------------------- GET /orders/{order_id}
def test_order_view_has_totals_items_bolt_references_and_timeline(backoffice: BackOffice) -> None:
    order, reference = backoffice.authorized_order()

    answer = backoffice.view(order.order_id)

    assert answer.status == 200
    view = answer.body
    assert view["status"] == "authorized"
    assert view["totals"]["total"] == TOTAL
    assert view["amounts"] == {
        "authorized": TOTAL,
        "captured": 0,
        "refunded": 0,
        "capturable": TOTAL,
        "refundable": 0,
    }
    assert [(i["line_item_key"], i["quantity"], i["fulfilled_quantity"]) for i in view["items"]] == [
        ("TOTE-BLUE", 2, 0),
        ("MUG-12OZ", 1, 0),
    ]
    assert view["fulfilment_status"] == "unfulfilled"
    assert view["bolt"]["transaction_reference"] == reference
    assert [entry["type"] for entry in view["timeline"]] == ["auth"]
    assert view["timeline"][0]["amount"] == TOTAL


@pytest.mark.parametrize("order_id", ["BO-NOSUCHORDER", "a%23b", "-leading-dash"])
def test_unknown_or_impossible_order_ids_are_404(backoffice: BackOffice, order_id: str) -> None:
    for answer in (backoffice.view(order_id), backoffice.capture(order_id), backoffice.refund(order_id)):
        assert answer.status == 404
        assert answer.error_code == AdminCode.ORDER_NOT_FOUND
    assert backoffice.fake.api_calls() == []


# ---------------------------------------------------------------- capture
def test_partial_then_second_capture_record_one_ledger_entry_per_bolt_capture(backoffice: BackOffice) -> None:
    order, reference = backoffice.authorized_order()

    first = backoffice.capture(order.order_id, {"amount": 2000})
    second = backoffice.capture(order.order_id, {"amount": 3000})

    assert first.status == 200
    assert first.body["result"]["amount"] == 2000
    assert first.body["order"]["status"] == "partially_captured"
    assert second.body["order"]["amounts"]["captured"] == 5000
    assert second.body["order"]["amounts"]["capturable"] == TOTAL - 5000
    stored = backoffice.order(order.order_id)
    assert stored.captured == 5000
    assert set(stored.captures) == {first.body["result"]["capture_id"], second.body["result"]["capture_id"]}
    captures = [k for k in backoffice.ledger_keys(order.order_id) if k.startswith("capture#")]
    assert sorted(captures) == sorted(f"capture#{c}" for c in stored.captures)
    # Bolt was asked with skip_hook_notification, an Idempotency-Key and the right amounts
    calls = backoffice.bolt_calls("capture")
    assert [c["body"]["amount"] for c in calls] == [2000, 3000]
    assert all(c["body"]["skip_hook_notification"] is True for c in calls)
    assert all(c["body"]["transaction_reference"] == reference for c in calls)
    assert len({c["idempotency_key"] for c in calls}) == 2


def test_capture_without_amount_takes_the_rest_of_the_authorisation(backoffice: BackOffice) -> None:
    order, _ = backoffice.authorized_order()
    backoffice.capture(order.order_id, {"amount": 999})

    answer = backoffice.capture(order.order_id)

    assert answer.status == 200
    assert answer.body["result"]["amount"] == TOTAL - 999
    assert answer.body["order"]["status"] == "captured"
    # the same body again is a retry of this request (replayed); a new request finds nothing left
    assert backoffice.capture(order.order_id).headers.get("Idempotent-Replayed") == "true"
    assert backoffice.capture(order.order_id, key="capture-again").status == 409


def test_each_operation_is_logged_with_the_operator_who_asked(backoffice: BackOffice) -> None:
    order, _ = backoffice.authorized_order()
    records: list[logging.LogRecord] = []
    keep = logging.Handler()
    keep.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(keep)
    try:
        assert backoffice.capture(order.order_id, {"amount": 999}).status == 200
    finally:
        logger.removeHandler(keep)

    audit = [vars(r) for r in records if r.getMessage() == "back-office operation answered"]
    assert [(a["operation"], a["order_id"], a["operator"]) for a in audit] == [
        ("capture", order.order_id, LOCAL_OPERATOR_ARN)
    ]


def test_echo_webhook_of_a_back_office_capture_is_a_no_op(backoffice: BackOffice) -> None:
    order, reference = backoffice.authorized_order()
    backoffice.capture(order.order_id, {"amount": 2500})
    before = backoffice.order(order.order_id)

    echo = backoffice.fake.send_webhook(reference, "capture")

    assert echo["status"] == 200
    assert echo["body"]["result"] == "duplicate"
    after = backoffice.order(order.order_id)
    assert (after.captured, after.version) == (2500, before.version)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"amount": TOTAL + 1}, AdminCode.INVALID_AMOUNT),
        ({"amount": 0}, AdminCode.INVALID_AMOUNT),
        ({"amount": -5}, AdminCode.INVALID_AMOUNT),
        ({"amount": 10.5}, AdminCode.INVALID_REQUEST),
        ({"amount": "100"}, AdminCode.INVALID_REQUEST),
        ({"ammount": 100}, AdminCode.INVALID_REQUEST),
    ],
    ids=["above-authorisation", "zero", "negative", "float", "string", "misspelt-field"],
)
def test_invalid_capture_amounts_are_422_and_never_reach_bolt(
    backoffice: BackOffice, body: dict[str, object], code: AdminCode
) -> None:
    order, _ = backoffice.authorized_order()

    answer = backoffice.capture(order.order_id, body)

    assert answer.status == 422
    assert answer.error_code == code
    assert answer.body["status"] == "failure"
    assert backoffice.bolt_calls("capture") == []


def test_capture_is_refused_before_authorisation_and_when_on_hold(backoffice: BackOffice) -> None:
    pending = backoffice.place_order()
    held = backoffice.place_order()
    backoffice.authorize(held, amount=TOTAL + 100)  # Bolt authorised another total: the order goes on hold

    not_yet = backoffice.capture(pending.order_id)
    on_hold = backoffice.capture(held.order_id)

    assert (not_yet.status, not_yet.error_code) == (409, AdminCode.STATE_CONFLICT)
    assert (on_hold.status, on_hold.error_code) == (409, AdminCode.STATE_CONFLICT)
    assert "on hold" in on_hold.body["error"]["message"]
    assert backoffice.bolt_calls("capture") == []


# ---------------------------------------------------------------- refund
def test_partial_refund_then_the_rest(backoffice: BackOffice) -> None:
    order, reference = backoffice.authorized_order()
    backoffice.capture(order.order_id)

    partial = backoffice.refund(order.order_id, {"amount": 1600, "reason": "mug out of stock"})
    rest = backoffice.refund(order.order_id)

    assert partial.status == 200
    assert partial.body["result"]["amount"] == 1600
    assert partial.body["order"]["status"] == "partially_refunded"
    assert rest.body["result"]["amount"] == TOTAL - 1600
    assert rest.body["order"]["status"] == "refunded"
    assert rest.body["order"]["amounts"]["refundable"] == 0
    stored = backoffice.order(order.order_id)
    assert stored.refunded == TOTAL
    assert set(stored.credits) == {partial.body["result"]["credit_id"], rest.body["result"]["credit_id"]}
    timeline = backoffice.view(order.order_id).body["timeline"]
    notes = [e["note"] for e in timeline if e["type"] == "credit"]
    assert any("mug out of stock" in note for note in notes)
    assert backoffice.fake.transaction(reference)["refunded_amount"]["amount"] == TOTAL
    # and then there is nothing left
    again = backoffice.refund(order.order_id, {"amount": 1})
    assert (again.status, again.error_code) == (409, AdminCode.STATE_CONFLICT)


def test_refund_checks_against_captured_funds(backoffice: BackOffice) -> None:
    order, _ = backoffice.authorized_order()

    before_capture = backoffice.refund(order.order_id)
    backoffice.capture(order.order_id, {"amount": 1000})
    too_much = backoffice.refund(order.order_id, {"amount": 1001})

    assert (before_capture.status, before_capture.error_code) == (409, AdminCode.STATE_CONFLICT)
    assert (too_much.status, too_much.error_code) == (422, AdminCode.INVALID_AMOUNT)
    assert backoffice.bolt_calls("credit") == []


def test_echo_credit_webhook_is_a_no_op(backoffice: BackOffice) -> None:
    order, _ = backoffice.authorized_order()
    backoffice.capture(order.order_id)
    refund = backoffice.refund(order.order_id, {"amount": 700})

    echo = backoffice.fake.send_webhook(refund.body["result"]["credit_reference"], "credit")

    assert echo["body"]["result"] == "duplicate"
    assert backoffice.order(order.order_id).refunded == 700


def test_restock_puts_units_back_once(backoffice: BackOffice) -> None:
    order, _ = backoffice.authorized_order()
    tote_after_order = backoffice.stock("TOTE-BLUE")
    mug_after_order = backoffice.stock("MUG-12OZ")
    backoffice.capture(order.order_id)

    one_tote = backoffice.refund(
        order.order_id, {"amount": 2400, "restock": True, "line_items": [{"line_item_key": "TOTE-BLUE", "quantity": 1}]}
    )
    everything_else = backoffice.refund(order.order_id, {"amount": 100, "restock": True}, key="refund-2")
    nothing_left = backoffice.refund(order.order_id, {"amount": 100, "restock": True}, key="refund-3")

    assert one_tote.body["result"]["restocked"] == {"TOTE-BLUE": 1}
    assert everything_else.body["result"]["restocked"] == {"TOTE-BLUE": 1, "MUG-12OZ": 1}
    assert nothing_left.status == 200
    assert nothing_left.body["result"]["restocked"] == {}
    assert backoffice.stock("TOTE-BLUE") == (tote_after_order[0] + 2, tote_after_order[1] - 2)
    assert backoffice.stock("MUG-12OZ") == (mug_after_order[0] + 1, mug_after_order[1] - 1)
    stored = backoffice.order(order.order_id)
    assert stored.restocked == {"TOTE-BLUE": 2, "MUG-12OZ": 1}
    assert stored.inventory_reserved is False
    restocks = [k for k in backoffice.ledger_keys(order.order_id) if k.startswith("restock#")]
    assert len(restocks) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"restock": True, "line_items": [{"line_item_key": "TOTE-BLUE", "quantity": 3}]},
        {"restock": True, "line_items": [{"line_item_key": "NOPE", "quantity": 1}]},
        {"restock": True, "line_items": [{"line_item_key": "MUG-12OZ", "quantity": 1}] * 2},
        {"line_items": [{"line_item_key": "MUG-12OZ", "quantity": 1}]},
    ],
    ids=["more-than-ordered", "unknown-line", "listed-twice", "without-restock"],
)
def test_invalid_restock_lines_are_422_before_bolt(backoffice: BackOffice, body: dict[str, object]) -> None:
    order, _ = backoffice.authorized_order()
    backoffice.capture(order.order_id)

    answer = backoffice.refund(order.order_id, body)

    assert (answer.status, answer.error_code) == (422, AdminCode.INVALID_LINE_ITEMS)
    assert backoffice.bolt_calls("credit") == []


# ---------------------------------------------------------------- cancel
def test_cancel_voids_the_authorisation_and_releases_stock(backoffice: BackOffice) -> None:
    before = backoffice.stock("TOTE-BLUE")
    order, reference = backoffice.authorized_order()

    answer = backoffice.cancel(order.order_id, {"reason": "customer asked"})

    assert answer.status == 200
    assert answer.body["order"]["status"] == "cancelled"
    assert backoffice.fake.transaction(reference)["status"] == "cancelled"
    assert backoffice.stock("TOTE-BLUE") == before
    assert [c["body"]["skip_hook_notification"] for c in backoffice.bolt_calls("void")] == [True]
    echo = backoffice.fake.send_webhook(reference, "void")
    assert echo["body"]["result"] == "duplicate"
    again = backoffice.cancel(order.order_id, {"reason": "twice"})
    assert (again.status, again.error_code) == (409, AdminCode.STATE_CONFLICT)
    assert backoffice.capture(order.order_id).status == 409


def test_cancel_is_refused_after_a_capture_or_a_fulfilment(backoffice: BackOffice) -> None:
    captured, _ = backoffice.authorized_order()
    fulfilled, _ = backoffice.authorized_order()
    backoffice.capture(captured.order_id, {"amount": 100})
    backoffice.fulfil(fulfilled.order_id, [{"line_item_key": "MUG-12OZ", "fulfilled_quantity": 1}])

    after_capture = backoffice.cancel(captured.order_id)
    after_fulfilment = backoffice.cancel(fulfilled.order_id)

    assert (after_capture.status, after_capture.error_code) == (409, AdminCode.STATE_CONFLICT)
    assert "refund" in after_capture.body["error"]["message"]
    assert (after_fulfilment.status, after_fulfilment.error_code) == (409, AdminCode.STATE_CONFLICT)
    assert backoffice.bolt_calls("void") == []


# ---------------------------------------------------------------- line items
def test_fulfilment_is_recorded_and_tracking_reported_to_bolt(backoffice: BackOffice) -> None:
    order, reference = backoffice.authorized_order()

    first = backoffice.fulfil(order.order_id, [{"line_item_key": "TOTE-BLUE", "fulfilled_quantity": 1}])
    second = backoffice.fulfil(
        order.order_id,
        {
            "line_items": [
                {"line_item_key": "TOTE-BLUE", "fulfilled_quantity": 2},
                {"line_item_key": "MUG-12OZ", "fulfilled_quantity": 1},
            ],
            "tracking": {"carrier": "UPS", "tracking_number": "1Z999AA10123456784"},
        },
    )

    assert first.status == 200
    assert first.body["order"]["fulfilment_status"] == "partially_fulfilled"
    assert second.body["order"]["fulfilment_status"] == "fulfilled"
    assert [i["fulfilled_quantity"] for i in second.body["order"]["items"]] == [2, 1]
    assert second.body["order"]["shipments"][0]["items"] == {"TOTE-BLUE": 1, "MUG-12OZ": 1}
    (track,) = backoffice.bolt_calls("track_shipment")
    assert track["body"]["transaction_reference"] == reference
    assert track["body"]["carrier"] == "UPS"
    assert track["idempotency_key"]
    assert sorted((i["reference"], i["quantity"]) for i in track["body"]["items"]) == [
        ("MUG-12OZ", 1),
        ("TOTE-BLUE", 1),
    ]
    assert len([k for k in backoffice.ledger_keys(order.order_id) if k.startswith("fulfilment#")]) == 2


@pytest.mark.parametrize(
    ("lines", "status", "code"),
    [
        ([{"line_item_key": "TOTE-BLUE", "fulfilled_quantity": 3}], 422, AdminCode.INVALID_LINE_ITEMS),
        ([{"line_item_key": "NOPE", "fulfilled_quantity": 1}], 422, AdminCode.INVALID_LINE_ITEMS),
        ([{"line_item_key": "TOTE-BLUE", "fulfilled_quantity": -1}], 422, AdminCode.INVALID_REQUEST),
        ([{"line_item_key": "TOTE-BLUE", "fulfilled_quantity": 0}], 409, AdminCode.STATE_CONFLICT),
        ([], 422, AdminCode.INVALID_REQUEST),
    ],
    ids=["above-ordered", "unknown-line", "negative", "decreasing", "empty"],
)
def test_invalid_fulfilment_is_refused(
    backoffice: BackOffice, lines: list[dict[str, object]], status: int, code: AdminCode
) -> None:
    order, _ = backoffice.authorized_order()
    backoffice.fulfil(order.order_id, [{"line_item_key": "TOTE-BLUE", "fulfilled_quantity": 1}])

    answer = backoffice.fulfil(order.order_id, lines)

    assert (answer.status, answer.error_code) == (status, code)
    assert backoffice.order(order.order_id).fulfilled == {"TOTE-BLUE": 1}


def test_fulfilment_before_authorisation_is_a_conflict(backoffice: BackOffice) -> None:
    order = backoffice.place_order()

    answer = backoffice.fulfil(order.order_id, [{"line_item_key": "TOTE-BLUE", "fulfilled_quantity": 1}])

    assert (answer.status, answer.error_code) == (409, AdminCode.STATE_CONFLICT)


# ---------------------------------------------------------------- bad input is never a 500
@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"{not json", 400),
        (b'{"amount": 1, "amount": 2}', 400),
        (b"[1, 2]", 400),
        (b'{"amount": NaN}', 400),
        (b"\xff\xfe", 400),
        (b'{"amount": ' + b"9" * 30 + b"}", 400),
    ],
    ids=["truncated", "duplicate-key", "array", "nan", "not-utf8", "huge-number"],
)
def test_malformed_bodies_are_4xx(backoffice: BackOffice, raw: bytes, status: int) -> None:
    order, _ = backoffice.authorized_order()

    answer = backoffice.call("POST", order.order_id, "capture", raw=raw)

    assert answer.status == status
    assert answer.body["status"] == "failure"
    assert backoffice.fake.api_calls() == []


def test_oversized_body_is_413(backoffice: BackOffice) -> None:
    order, _ = backoffice.authorized_order()

    answer = backoffice.call("POST", order.order_id, "refund", raw=b'{"reason": "' + b"x" * 300_000 + b'"}')

    assert answer.status == 413
