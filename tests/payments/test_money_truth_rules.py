"""Bolt is the system of record for money (issue: holds instead of silent trims). The state machine records every
fact Bolt reports by its id with Bolt's amount, never trims one, holds the order with machine-readable reasons
when a fact contradicts it, and runs no side effect (stock release) on a contradicted state."""

from datetime import UTC, datetime, timedelta

import pytest
from bolt_merchant.core.models import CartLine
from bolt_merchant.orders.models import Hold, Order, OrderTotals, attention_due
from bolt_merchant.payments.transactions import (
    CAPTURED_EXCEEDS_AUTHORISED,
    DECLINE_AFTER_AUTHORISATION,
    MONEY_AFTER_TERMINAL_STATE,
    REFUNDED_EXCEEDS_CAPTURED,
    TOTALS_MISMATCH,
    VOID_ANSWERED_WITH_CAPTURES,
    CaptureInfo,
    CreditInfo,
    Source,
    TransactionEvent,
    Transition,
    apply_event,
    release_holds,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TOTAL = 1000
PAID = {"phase": "authorized", "authorized": TOTAL, "captured": TOTAL, "status": "captured"}
REFERENCE = "RF-1"


def order(**changes: object) -> Order:
    base = Order(
        order_id="BO-TEST000001",
        cart_id="cart-1",
        status="pending_payment",
        currency="USD",
        lines=[CartLine(sku="TOTE", name="Tote", quantity=2, unit_price=500, taxable=True, needs_shipping=True)],
        totals=OrderTotals(subtotal=TOTAL, discount=0, shipping=0, tax=0, total=TOTAL),
        created_at=NOW - timedelta(hours=2),
        updated_at=NOW - timedelta(hours=2),
    )
    return base.model_copy(update=changes)


def event(
    hook_type: str, *, amount: int | None = TOTAL, source: Source = "webhook", **fields: object
) -> TransactionEvent:
    values: dict[str, object] = {
        "transaction_id": f"TX-{hook_type}",
        "reference": REFERENCE,
        "amount": amount,
        "currency": "USD",
        "source": source,
        **fields,
    }
    return TransactionEvent(hook_type, **values)  # type: ignore[arg-type]


def apply(before: Order, *events: TransactionEvent) -> tuple[Order, list[Transition]]:
    transitions = []
    current = before
    for item in events:
        transition = apply_event(current, item, NOW)
        transitions.append(transition)
        current = transition.order
    return current, transitions


def authorised() -> Order:
    after, _ = apply(order(), event("auth"))
    assert after.status == "authorized"
    return after


def test_a_capture_after_a_declined_payment_is_counted_and_holds_the_order() -> None:
    declined, _ = apply(order(), event("failed_payment", amount=None))
    assert declined.status == "cancelled"

    after, (transition,) = apply(declined, event("capture", captures=(CaptureInfo("CA-1", TOTAL),)))

    assert after.captured == TOTAL  # Bolt took the money: recorded, not absorbed
    assert after.captures == {"CA-1": TOTAL}
    assert after.status == "on_hold"
    assert MONEY_AFTER_TERMINAL_STATE in after.hold_reasons
    assert "OrderHeld" in transition.alerts
    assert [e.event_type for e in transition.events] == ["order.on_hold"]


def test_a_capture_above_the_authorisation_is_recorded_in_full_and_held() -> None:
    after, (transition,) = apply(authorised(), event("capture", captures=(CaptureInfo("CA-1", 10 * TOTAL),)))

    assert after.captured == 10 * TOTAL  # what Bolt says, never the authorised amount
    assert after.status == "on_hold"
    assert after.hold_reasons == [CAPTURED_EXCEEDS_AUTHORISED]
    assert "CaptureExceedsAuthorization" in transition.alerts


def test_a_credit_above_the_captures_is_recorded_in_full_and_held() -> None:
    captured, _ = apply(authorised(), event("capture", captures=(CaptureInfo("CA-1", TOTAL),)))

    after, (transition,) = apply(captured, event("credit", amount=10 * TOTAL, transaction_id="CR-1"))

    assert after.refunded == 10 * TOTAL
    assert after.credits == {"CR-1": 10 * TOTAL}
    assert after.status == "on_hold"
    assert after.hold_reasons == [REFUNDED_EXCEEDS_CAPTURED]
    assert "RefundAheadOfCapture" in transition.alerts


def test_a_cancellation_bolt_answers_with_captures_records_them_and_releases_nothing() -> None:
    answer = event("void", amount=None, status="completed", captures=(CaptureInfo("CA-9", TOTAL),), source="backoffice")

    after, (transition,) = apply(authorised(), answer)

    assert after.phase == "authorized"  # not cancelled: the money was taken
    assert after.captured == TOTAL
    assert after.authorization_closed
    assert after.hold_reasons == [VOID_ANSWERED_WITH_CAPTURES]
    assert not transition.release_inventory
    assert after.inventory_reserved


def test_the_late_capture_webhook_after_such_a_cancellation_is_a_duplicate() -> None:
    answer = event("void", amount=None, captures=(CaptureInfo("CA-9", TOTAL),), source="backoffice")
    after, _ = apply(authorised(), answer)

    _, (late,) = apply(after, event("capture", captures=(CaptureInfo("CA-9", TOTAL),)))

    assert late.ledger == []


def test_a_void_webhook_after_a_partial_capture_closes_the_authorisation_without_a_hold() -> None:
    captured, _ = apply(authorised(), event("capture", captures=(CaptureInfo("CA-1", 400),)))

    after, _ = apply(captured, event("void", amount=None, captures=(CaptureInfo("CA-1", 400),)))

    assert after.authorization_closed
    assert after.holds == []
    assert after.status == "captured"


def test_a_decline_after_an_authorisation_holds_and_cancels_nothing() -> None:
    after, (transition,) = apply(authorised(), event("failed_payment", amount=None))

    assert after.phase == "authorized"
    assert after.hold_reasons == [DECLINE_AFTER_AUTHORISATION]
    assert not transition.release_inventory


def test_a_plain_cancellation_releases_stock() -> None:
    after, (transition,) = apply(authorised(), event("void", amount=None))

    assert after.status == "cancelled"
    assert transition.release_inventory
    assert not after.inventory_reserved


def test_an_authorisation_for_another_amount_holds_the_order_until_bolt_says_otherwise() -> None:
    held, _ = apply(order(), event("auth", amount=TOTAL + 500))
    assert held.hold_reasons == [TOTALS_MISMATCH]

    snapshot = event("reconcile", amount=TOTAL, status="authorized", source="reconcile")
    after, (transition,) = apply(held, snapshot)

    assert after.holds == []  # a derived hold leaves with its cause
    assert after.authorized == TOTAL
    assert transition.ledger[0].source == "reconcile"
    assert [e.event_type for e in transition.events] == ["order.released"]


def test_reconciliation_releases_a_stale_decline_when_bolt_says_the_payment_went_through() -> None:
    held, _ = apply(authorised(), event("failed_payment", amount=None))

    after, _ = apply(held, event("reconcile", status="authorized", source="reconcile"))

    assert after.holds == []
    assert after.status == "authorized"


def test_reconciliation_cancels_what_bolt_voided_without_telling_us() -> None:
    after, (transition,) = apply(authorised(), event("reconcile", amount=TOTAL, status="cancelled", source="reconcile"))

    assert after.status == "cancelled"
    assert transition.release_inventory


def test_reconciliation_records_dashboard_captures_and_credits_once() -> None:
    snapshot = event(
        "reconcile",
        status="completed",
        captures=(CaptureInfo("CA-1", 600), CaptureInfo("CA-2", 400), CaptureInfo("CA-X", 50, "declined")),
        credits=(CreditInfo("CR-1", 100, "completed"), CreditInfo("CR-2", 900, "declined")),
        source="reconcile",
    )

    after, (transition,) = apply(authorised(), snapshot)
    again, (repeat,) = apply(after, snapshot)

    assert (after.captured, after.refunded) == (TOTAL, 100)
    assert after.status == "partially_refunded"
    assert {entry.key for entry in transition.ledger if entry.applied} >= {
        "capture#CA-1",
        "capture#CA-2",
        "credit#CR-1",
    }
    assert repeat.ledger == []
    assert again.version == after.version


def test_a_payment_recorded_before_bolt_listed_its_capture_is_not_counted_twice() -> None:
    paid, _ = apply(order(), event("payment"))
    assert paid.captures == {"payment:TX-payment": TOTAL}

    after, _ = apply(
        paid, event("reconcile", status="completed", captures=(CaptureInfo("CA-1", TOTAL),), source="reconcile")
    )

    assert after.captured == TOTAL
    assert after.captures == {"CA-1": TOTAL}


def test_an_operator_cannot_release_a_hold_whose_cause_remains() -> None:
    held, _ = apply(authorised(), event("capture", captures=(CaptureInfo("CA-1", 10 * TOTAL),)))

    transition = release_holds(held, [CAPTURED_EXCEEDS_AUTHORISED], "checked", NOW)

    assert transition.order.hold_reasons == [CAPTURED_EXCEEDS_AUTHORISED]


def test_an_operator_releases_a_recorded_contradiction() -> None:
    held, _ = apply(authorised(), event("failed_payment", amount=None))

    transition = release_holds(held, [DECLINE_AFTER_AUTHORISATION], "Bolt support confirmed", NOW)

    assert transition.order.holds == []
    assert transition.ledger[0].note.endswith(f"released {DECLINE_AFTER_AUTHORISATION}")


@pytest.mark.parametrize(
    ("changes", "due"),
    [
        ({}, NOW - timedelta(hours=1)),  # created two hours ago, every hour: due an hour ago
        ({"reconciled_at": NOW, "reconcile_checks": 2}, NOW + timedelta(hours=4)),  # backs off
        (  # paid in full: still asked about after its last change, at the same back-off
            {**PAID, "reconcile_checks": 4},
            NOW - timedelta(hours=2) + timedelta(hours=16),
        ),
        (  # ... until it has been asked SETTLED_CHECKS times
            {**PAID, "reconcile_checks": 5},
            None,
        ),
        (
            {"phase": "authorized", "authorized": TOTAL, "reconcile_checks": 9},
            NOW - timedelta(hours=2) + timedelta(days=1),
        ),
        ({"holds": [Hold(reason="recovered_unknown_cart", since=NOW)], "reconciled_at": NOW - timedelta(days=1)}, NOW),
    ],
    ids=["open", "backing-off", "settled", "settled-and-checked", "open-at-most-daily", "new-hold"],
)
def test_when_reconciliation_looks_at_an_order(changes: dict[str, object], due: datetime | None) -> None:
    assert attention_due(order(**changes), timedelta(hours=1)) == due


def test_a_change_to_a_settled_order_starts_reconciliation_checks_over() -> None:
    """A credit made in Bolt's dashboard long after the order settled is asked about again: the change resets the
    count of checks, so a lost webhook about a later change is still caught by reconciliation."""
    paid, _ = apply(authorised(), event("capture", captures=(CaptureInfo("CA-1", TOTAL),)))
    checked = paid.model_copy(update={"reconcile_checks": 5, "reconciled_at": NOW})
    assert attention_due(checked, timedelta(hours=1)) is None

    after, _ = apply(checked, event("credit", transaction_id="TX-credit-1", amount=300))

    assert after.reconcile_checks == 0
    assert attention_due(after, timedelta(hours=1)) == NOW + timedelta(hours=1)
