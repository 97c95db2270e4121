"""The payment state machine (payments/transactions.py apply_event) on its own: every webhook type's effect on the
order, replays and duplicates, out-of-order deliveries converging, cancellation absorbing money events, and the
totals mismatch hold. No store, no handler: an order as order.create leaves it, and events as webhook.py parses them.
"""

from collections.abc import Iterable

import pytest
from bolt_merchant.orders.models import Order
from bolt_merchant.payments.transactions import MONEY_TYPES, TransactionEvent, Transition, apply_event, derive_status
from hypothesis import given
from hypothesis import strategies as st

from tests.fakes import NOW, PAYMENT_ID, PAYMENT_REFERENCE, Shop, place_order, webhook


@pytest.fixture(scope="module")
def pending() -> Order:
    """TOTE-BLUE x2 + MUG-12OZ + standard shipping: 6999 cents, pending payment, stock reserved."""
    return place_order(Shop.demo())


def run(order: Order, *events: TransactionEvent) -> tuple[Order, list[Transition]]:
    """Apply the events one after the other as the webhook would (a transition without ledger writes nothing)."""
    transitions = []
    for event in events:
        transition = apply_event(order, event, NOW)
        transitions.append(transition)
        if transition.ledger:
            order = transition.order
    return order, transitions


def authorized(order: Order) -> Order:
    return run(order, webhook("auth", order))[0]


def keys(transition: Transition) -> list[str]:
    return [entry.key for entry in transition.ledger]


def money(order: Order) -> tuple[str, int, int, int]:
    return order.status, order.authorized, order.captured, order.refunded


# ---------------------------------------------------------------- each type


class TestEachType:
    def test_pending_puts_the_order_under_review(self, pending: Order) -> None:
        after, [transition] = run(pending, webhook("pending", pending))

        assert (after.status, after.phase) == ("payment_review", "review")
        assert keys(transition) == [f"pending#{PAYMENT_ID}"]
        assert [e.event_type for e in transition.events] == ["order.payment_review"]

    def test_rejected_reversible_is_a_review_too(self, pending: Order) -> None:
        after, _ = run(pending, webhook("rejected_reversible", pending))

        assert after.status == "payment_review"

    def test_auth_of_the_total_authorises_and_remembers_the_payment_reference(self, pending: Order) -> None:
        after, [transition] = run(pending, webhook("auth", pending))

        assert money(after) == ("authorized", 6999, 0, 0)
        assert after.bolt_transaction_reference == PAYMENT_REFERENCE
        assert after.version == pending.version + 1
        assert [(e.event_id, e.event_type) for e in transition.events] == [
            (f"{pending.order_id}:v{after.version}", "order.authorized")
        ]
        assert transition.alerts == []

    def test_an_auth_one_cent_off_is_rounding_not_a_mismatch(self, pending: Order) -> None:
        after, [transition] = run(pending, webhook("auth", pending, amount=7000))

        assert (after.status, after.authorized, transition.alerts) == ("authorized", 7000, [])

    @pytest.mark.parametrize("amount", [6997, 7001, 1])
    def test_an_auth_for_another_total_holds_the_order(self, pending: Order, amount: int) -> None:
        after, [transition] = run(pending, webhook("auth", pending, amount=amount))

        assert (after.status, after.hold_reasons) == ("on_hold", ["totals_mismatch"])
        assert transition.alerts == ["TotalsMismatch", "OrderHeld"]
        assert [e.event_type for e in transition.events] == ["order.on_hold"]

    def test_a_webhook_in_another_currency_holds_the_order_without_applying_it(self, pending: Order) -> None:
        after, [transition] = run(pending, webhook("auth", pending, currency="eur"))

        assert (after.status, after.hold_reasons, after.authorized) == ("on_hold", ["currency_mismatch"], 0)
        assert [(e.key, e.applied) for e in transition.ledger] == [(f"auth#{PAYMENT_ID}", False)]
        assert transition.alerts == ["TotalsMismatch", "OrderHeld"]

    def test_the_currency_is_compared_case_insensitively(self, pending: Order) -> None:
        after, _ = run(pending, webhook("auth", pending, currency="usd"))

        assert after.status == "authorized"

    def test_partial_captures_then_the_rest(self, pending: Order) -> None:
        order = authorized(pending)

        partly, [first] = run(order, webhook("capture", order, captures=[("CA1", 2000)]))
        whole, [second] = run(partly, webhook("capture", order, captures=[("CA1", 2000), ("CA2", 4999)]))

        assert money(partly) == ("partially_captured", 6999, 2000, 0)
        assert [e.event_type for e in first.events] == ["order.captured"]
        assert money(whole) == ("captured", 6999, 6999, 0)
        assert keys(second) == ["capture#CA2"]  # CA1, listed again, is not counted twice
        assert whole.captures == {"CA1": 2000, "CA2": 4999}

    def test_a_capture_without_an_auth_implies_it(self, pending: Order) -> None:
        after, [transition] = run(pending, webhook("capture", pending, captures=[("CA1", 6999)]))

        assert money(after) == ("captured", 6999, 6999, 0)
        assert keys(transition) == [f"auth#{PAYMENT_ID}", "capture#CA1"]
        assert [e.event_type for e in transition.events] == ["order.authorized"]

    def test_a_capture_within_a_cent_of_the_authorisation_is_full(self, pending: Order) -> None:
        order = authorized(pending)

        after, _ = run(order, webhook("capture", order, captures=[("CA1", 6998)]))

        assert after.status == "captured"

    def test_a_payment_authorises_and_captures_the_whole_amount(self, pending: Order) -> None:
        after, [transition] = run(pending, webhook("payment", pending))

        assert money(after) == ("captured", 6999, 6999, 0)
        assert after.captures == {f"payment:{PAYMENT_ID}": 6999}
        assert [e.event_type for e in transition.events] == ["order.paid"]

    def test_credits_refund_part_then_all_of_what_was_captured(self, pending: Order) -> None:
        order = run(pending, webhook("payment", pending))[0]

        partly, [first] = run(order, webhook("credit", amount=1000, transaction_id="TC1"))
        fully, _ = run(partly, webhook("credit", amount=5999, transaction_id="TC2"))

        assert money(partly) == ("partially_refunded", 6999, 6999, 1000)
        assert keys(first) == ["credit#TC1"]
        assert [e.event_type for e in first.events] == ["order.refunded"]
        assert money(fully) == ("refunded", 6999, 6999, 6999)
        assert fully.credits == {"TC1": 1000, "TC2": 5999}

    def test_a_credit_names_the_payment_through_its_source_reference(self, pending: Order) -> None:
        after, _ = run(pending, webhook("credit", amount=100, transaction_id="TC1", source_reference="PAY-REF"))

        assert after.bolt_transaction_reference == "PAY-REF"

    def test_a_void_before_any_capture_cancels_and_releases_the_stock(self, pending: Order) -> None:
        order = authorized(pending)

        after, [transition] = run(order, webhook("void", order))

        assert (after.status, after.phase, after.inventory_reserved) == ("cancelled", "cancelled", False)
        assert transition.release_inventory is True
        assert [e.event_type for e in transition.events] == ["order.cancelled"]

    def test_a_void_after_a_partial_capture_only_closes_the_authorisation(self, pending: Order) -> None:
        order = run(authorized(pending), webhook("capture", pending, captures=[("CA1", 2000)]))[0]

        after, [transition] = run(order, webhook("void", order))

        assert money(after) == ("captured", 6999, 2000, 0)
        assert after.authorization_closed is True
        assert after.inventory_reserved is True
        assert transition.release_inventory is False
        assert transition.ledger[0].note == "remaining authorisation voided"

    @pytest.mark.parametrize("kind", ["failed_payment", "rejected_irreversible"])
    def test_a_decline_before_authorisation_cancels(self, pending: Order, kind: str) -> None:
        after, [transition] = run(pending, webhook(kind, pending))

        assert after.status == "cancelled"
        assert transition.release_inventory is True

    @pytest.mark.parametrize("kind", ["failed_payment", "rejected_irreversible"])
    def test_a_decline_after_authorisation_is_recorded_and_holds_the_order(self, pending: Order, kind: str) -> None:
        order = authorized(pending)

        after, [transition] = run(order, webhook(kind, order))

        assert money(after)[1:] == money(order)[1:]  # no money moves, nothing is cancelled
        assert (after.phase, after.hold_reasons) == ("authorized", ["decline_after_authorisation"])
        assert [(e.applied, e.note) for e in transition.ledger] == [(False, "decline after authorisation")]
        assert transition.alerts == ["IllegalTransitionAfterTerminal", "OrderHeld"]
        assert [e.event_type for e in transition.events] == ["order.on_hold"]
        assert transition.release_inventory is False

    def test_a_late_pending_after_auth_is_recorded_and_moves_nothing(self, pending: Order) -> None:
        order = authorized(pending)

        after, [transition] = run(order, webhook("pending", order))

        assert (after.status, after.phase) == ("authorized", "authorized")
        assert keys(transition) == [f"pending#{PAYMENT_ID}"]
        assert transition.events == []

    def test_captures_above_the_authorisation_are_recorded_in_full_and_hold_the_order(self, pending: Order) -> None:
        order = authorized(pending)

        after, [transition] = run(order, webhook("capture", order, captures=[("CA1", 6000), ("CA2", 2000)]))

        assert after.captured == 8000  # what Bolt says, never trimmed to the authorisation
        assert after.captures == {"CA1": 6000, "CA2": 2000}
        assert (after.status, after.hold_reasons) == ("on_hold", ["captured_exceeds_authorised"])
        assert transition.alerts == ["CaptureExceedsAuthorization", "OrderHeld"]

    def test_a_refund_ahead_of_its_capture_holds_the_order_until_the_capture_arrives(self, pending: Order) -> None:
        order = authorized(pending)

        early, [transition] = run(order, webhook("credit", amount=1000, transaction_id="TC1"))
        later, [release] = run(early, webhook("capture", order, captures=[("CA1", 6999)]))

        assert (early.refunded, early.hold_reasons) == (1000, ["refunded_exceeds_captured"])
        assert transition.alerts == ["RefundAheadOfCapture", "OrderHeld"]
        assert money(later) == ("partially_refunded", 6999, 6999, 1000)
        assert [e.event_type for e in release.events] == ["order.released"]


# ---------------------------------------------------------------- replays and duplicates


def _first_delivery(order: Order, kind: str) -> TransactionEvent:
    if kind == "capture":
        return webhook("capture", order, captures=[("CA1", 2000)])
    if kind == "credit":
        return webhook("credit", amount=500, transaction_id="TC1")
    return webhook(kind, order)


@pytest.mark.parametrize("kind", sorted(MONEY_TYPES))
def test_the_same_webhook_again_writes_nothing(pending: Order, kind: str) -> None:
    # After the webhook was applied once (on an authorised order, so that every type has something to do)
    base = authorized(pending) if kind not in {"auth", "pending", "payment"} else pending
    event = _first_delivery(base, kind)
    once, [first] = run(base, event)
    assert first.ledger  # the first delivery did something

    # When Bolt delivers it again
    again = apply_event(once, event, NOW)

    # Then there is nothing to write: the webhook answers "duplicate"
    assert (again.ledger, again.events, again.release_inventory) == ([], [], False)
    assert again.order == once


def test_a_capture_replayed_with_a_longer_list_counts_only_the_new_capture(pending: Order) -> None:
    order = authorized(pending)
    first = webhook("capture", order, captures=[("CA1", 1000)])
    second = webhook("capture", order, captures=[("CA1", 1000), ("CA2", 1500)])

    after, transitions = run(order, first, second, first, second)

    assert after.captured == 2500
    assert [keys(t) for t in transitions] == [["capture#CA1"], ["capture#CA2"], [], []]


def test_two_credits_of_the_same_amount_are_two_refunds(pending: Order) -> None:
    order = run(pending, webhook("payment", pending))[0]

    after, _ = run(
        order, webhook("credit", amount=500, transaction_id="TC1"), webhook("credit", amount=500, transaction_id="TC2")
    )

    assert after.refunded == 1000


# ---------------------------------------------------------------- after a cancellation


class TestCancelled:
    @pytest.fixture
    def cancelled(self, pending: Order) -> Order:
        order = run(authorized(pending), webhook("void", pending))[0]
        assert order.status == "cancelled"
        return order

    def test_a_capture_after_cancellation_is_counted_and_holds_the_order(self, cancelled: Order) -> None:
        after, [transition] = run(cancelled, webhook("capture", cancelled, captures=[("CA1", 6999)]))

        assert money(after) == ("on_hold", 6999, 6999, 0)  # Bolt took the money: recorded, never absorbed
        assert (after.phase, after.hold_reasons) == ("cancelled", ["money_after_terminal_state"])
        assert [(e.key, e.applied, e.note) for e in transition.ledger] == [("capture#CA1", True, "after cancellation")]
        assert transition.alerts == ["IllegalTransitionAfterTerminal", "OrderHeld"]
        assert [e.event_type for e in transition.events] == ["order.on_hold"]

    def test_the_absorbed_capture_is_then_a_duplicate(self, cancelled: Order) -> None:
        event = webhook("capture", cancelled, captures=[("CA1", 6999)])
        once, _ = run(cancelled, event)

        assert apply_event(once, event, NOW).ledger == []

    def test_an_auth_after_a_decline_is_recorded_and_holds_the_order(self, pending: Order) -> None:
        declined = run(pending, webhook("failed_payment", pending))[0]

        after, [transition] = run(declined, webhook("auth", declined))

        assert money(after) == ("on_hold", 6999, 0, 0)  # Bolt holds the shopper's money: recorded
        assert (after.phase, after.hold_reasons) == ("cancelled", ["money_after_terminal_state"])
        assert [(e.applied, e.note) for e in transition.ledger] == [(True, "after cancellation")]
        assert transition.alerts == ["IllegalTransitionAfterTerminal", "OrderHeld"]

    def test_a_second_cancellation_releases_nothing_again(self, cancelled: Order) -> None:
        after, [transition] = run(cancelled, webhook("failed_payment", cancelled))

        assert after.status == "cancelled"
        assert [(e.applied, e.note) for e in transition.ledger] == [(False, "already cancelled")]
        assert transition.release_inventory is False

    def test_a_review_after_cancellation_is_alerted_and_moves_nothing(self, cancelled: Order) -> None:
        after, [transition] = run(cancelled, webhook("rejected_reversible", cancelled))

        assert after.phase == "cancelled"
        assert transition.alerts == ["IllegalTransitionAfterTerminal"]


# ---------------------------------------------------------------- status and convergence


def test_a_hold_outranks_every_money_status(pending: Order) -> None:
    held = run(pending, webhook("auth", pending, amount=5000))[0]

    after, _ = run(held, webhook("capture", held, captures=[("CA1", 5000)]))

    assert (after.status, derive_status(after), after.captured) == ("on_hold", "on_hold", 5000)


def converged(order: Order) -> tuple[object, ...]:
    """What must not depend on arrival order: status, phase, money by Bolt id, what was applied."""
    return (
        order.status,
        order.phase,
        order.authorized,
        order.captured,
        order.refunded,
        order.captures,
        order.credits,
        sorted(order.applied_keys),
        order.hold_reasons,
        order.authorization_closed,
        order.bolt_transaction_reference,
        order.inventory_reserved,
    )


def ledger_of(order: Order, events: Iterable[TransactionEvent]) -> dict[str, bool]:
    ledger: dict[str, bool] = {}
    for event in events:
        transition = apply_event(order, event, NOW)
        for entry in transition.ledger:
            assert entry.key not in ledger  # one entry per key, ever
            ledger[entry.key] = entry.applied
        if transition.ledger:
            order = transition.order
    return ledger


def _checkout_webhooks(order: Order) -> list[TransactionEvent]:
    """One checkout's webhooks: review, authorisation, captures as Bolt lists them (cumulative), two refunds."""
    return [
        webhook("pending", order),
        webhook("auth", order),
        webhook("capture", order, captures=[("CA1", 3000)]),
        webhook("capture", order, captures=[("CA1", 3000), ("CA2", 3999)]),
        webhook("credit", amount=1000, transaction_id="TC1"),
        webhook("credit", amount=500, transaction_id="TC2"),
    ]


@given(data=st.data())
def test_any_arrival_order_with_any_duplicates_converges_to_the_same_order(data: st.DataObject) -> None:
    pending = place_order(Shop.demo())
    webhooks = _checkout_webhooks(pending)
    in_order, _ = run(pending, *webhooks)
    shuffled = data.draw(st.permutations(webhooks), label="arrival order")
    duplicates = data.draw(st.lists(st.sampled_from(webhooks), max_size=4), label="redeliveries")
    arrivals = list(shuffled)
    for duplicate in duplicates:
        arrivals.insert(data.draw(st.integers(0, len(arrivals)), label="at"), duplicate)

    after, _ = run(pending, *arrivals)

    assert converged(after) == converged(in_order)
    assert money(after) == ("partially_refunded", 6999, 6999, 1500)
    assert ledger_of(pending, arrivals) == ledger_of(pending, webhooks)
