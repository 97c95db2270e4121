"""The transaction webhook's rules (payments/webhook.py handle_transaction) against the in-memory store: which order
an event belongs to, ignored / duplicate / applied, the dropped-order recovery, a webhook ahead of its order, and the
optimistic retry when another writer gets to the order first."""

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from bolt_merchant.bolt.cart import Cart
from bolt_merchant.core.errors import DependencyUnavailable, OrderNotCreatedYet
from bolt_merchant.orders.models import Order, order_id_for
from bolt_merchant.payments.transactions import TransactionEvent
from bolt_merchant.payments.webhook import handle_transaction

from tests.fakes import NOW, PAYMENT_REFERENCE, MemoryTransactionStore, Shop, open_cart, place_order, webhook


@pytest.fixture
def shop() -> Shop:
    return Shop.demo()


@pytest.fixture
def store(shop: Shop) -> MemoryTransactionStore:
    return MemoryTransactionStore(shop)


@pytest.fixture
def order(shop: Shop) -> Order:
    return place_order(shop)


class Recovery:
    """The recover_order callable: counts its calls and runs `then` (e.g. placing the order)."""

    def __init__(self, then: Callable[[TransactionEvent], None] = lambda _: None) -> None:
        self.calls: list[TransactionEvent] = []
        self._then = then

    def __call__(self, event: TransactionEvent, order_id: str) -> None:
        assert order_id == order_id_for(str(event.cart.order_reference if event.cart else event.order_reference))
        self.calls.append(event)
        self._then(event)


# ---------------------------------------------------------------- which order


def test_a_type_we_do_not_process_is_ignored_without_reading_anything(
    store: MemoryTransactionStore, order: Order
) -> None:
    outcome = handle_transaction(webhook("newsletter_signup", order), store, Recovery(), NOW)

    assert (outcome.result, outcome.order_id) == ("ignored", None)
    assert "newsletter_signup" in outcome.reason
    assert store.shop.orders[order.order_id].version == 1


def test_an_event_naming_no_order_and_no_transaction_is_ignored(store: MemoryTransactionStore) -> None:
    outcome = handle_transaction(webhook("auth", reference=None, order_reference=None), store, Recovery(), NOW)

    assert (outcome.result, outcome.reason) == ("ignored", "no order, cart or transaction reference")
    assert store.attention_items == {}


def test_the_order_is_found_from_the_cart_reference(store: MemoryTransactionStore, order: Order) -> None:
    outcome = handle_transaction(webhook("auth", order), store, Recovery(), NOW)

    assert (outcome.result, outcome.order_id) == ("applied", order.order_id)
    assert store.shop.orders[order.order_id].status == "authorized"


def test_the_order_is_found_from_the_display_id(store: MemoryTransactionStore, order: Order) -> None:
    outcome = handle_transaction(
        webhook("auth", amount=order.totals.total, order_reference="", display_id=order.order_id),
        store,
        Recovery(),
        NOW,
    )

    assert (outcome.result, outcome.order_id) == ("applied", order.order_id)


def test_a_legacy_credit_finds_its_order_through_the_payment_reference(
    store: MemoryTransactionStore, order: Order
) -> None:
    # Given the order was authorised (which indexed its payment reference) and captured
    handle_transaction(webhook("payment", order), store, Recovery(), NOW)
    assert store.order_id_for_reference(PAYMENT_REFERENCE) == order.order_id

    # When a credit arrives naming only the payment it refunds
    credit = webhook("credit", amount=700, transaction_id="TC1", order_reference="")
    outcome = handle_transaction(credit, store, Recovery(), NOW)

    # Then it is applied to that order
    assert (outcome.result, outcome.order_id) == ("applied", order.order_id)
    assert store.shop.orders[order.order_id].refunded == 700


def test_a_payment_reference_nobody_knows_is_kept_for_reconciliation(store: MemoryTransactionStore) -> None:
    outcome = handle_transaction(webhook("credit", amount=700, transaction_id="TC1"), store, Recovery(), NOW)

    assert (outcome.result, outcome.reason) == ("held", "no order or cart reference: left to reconciliation")
    [waiting] = store.attention_items.values()
    assert (waiting.kind, waiting.payment_reference, waiting.due) == ("waiting", PAYMENT_REFERENCE, NOW)


# ---------------------------------------------------------------- applied, duplicate


def test_applied_writes_the_order_ledger_events_and_reference_in_one_write(
    store: MemoryTransactionStore, order: Order
) -> None:
    writes = store.shop.writes

    outcome = handle_transaction(webhook("auth", order), store, Recovery(), NOW)

    assert outcome.result == "applied"
    assert store.shop.writes == writes + 1
    assert store.shop.ledger_keys(order.order_id) == ["auth#TAdemo0000001"]
    assert store.shop.event_types(order.order_id) == ["order.created", "order.authorized"]
    assert store.shop.references == {PAYMENT_REFERENCE: order.order_id}


def test_a_redelivery_is_a_duplicate_and_writes_nothing(store: MemoryTransactionStore, order: Order) -> None:
    event = webhook("auth", order)
    handle_transaction(event, store, Recovery(), NOW)
    writes = store.shop.writes

    outcome = handle_transaction(event, store, Recovery(), NOW)

    assert (outcome.result, outcome.order_id) == ("duplicate", order.order_id)
    assert store.shop.writes == writes


def test_the_alerts_of_an_applied_event_are_passed_on(store: MemoryTransactionStore, order: Order) -> None:
    outcome = handle_transaction(webhook("auth", order, amount=1), store, Recovery(), NOW)

    assert (outcome.result, outcome.alerts) == ("held", ["TotalsMismatch", "OrderHeld"])


def test_a_cancellation_gives_the_stock_back(store: MemoryTransactionStore, order: Order) -> None:
    assert store.shop.stock("TOTE-BLUE") == (48, 2)

    handle_transaction(webhook("failed_payment", order), store, Recovery(), NOW)

    assert store.shop.stock("TOTE-BLUE") == (50, 0)
    assert store.shop.stock("MUG-12OZ") == (200, 0)


# ---------------------------------------------------------------- no order yet


def test_an_authorisation_for_a_cart_we_never_stored_recovers_its_order(
    shop: Shop, store: MemoryTransactionStore
) -> None:
    # Bolt holds money for it: an order must exist afterwards (held, by the real recovery, as unknown)
    recovery = Recovery(lambda event: place_order(shop, str(event.order_reference), [("MUG-12OZ", 1)]))

    outcome = handle_transaction(webhook("auth", amount=2199, order_reference="c_nobody"), store, recovery, NOW)

    assert len(recovery.calls) == 1
    assert (outcome.result, outcome.order_id) == ("applied", order_id_for("c_nobody"))


@pytest.mark.parametrize("kind", ["void", "failed_payment", "rejected_irreversible"])
def test_a_decline_for_an_order_we_never_had_is_kept_for_reconciliation(
    store: MemoryTransactionStore, kind: str
) -> None:
    recovery = Recovery()

    outcome = handle_transaction(webhook(kind, order_reference="c_nobody"), store, recovery, NOW)

    assert (outcome.result, outcome.order_id) == ("held", order_id_for("c_nobody"))
    assert recovery.calls == []  # no money is held: nothing to recover
    assert [item.kind for item in store.attention_items.values()] == ["waiting"]


def test_a_webhook_ahead_of_its_order_asks_bolt_to_retry(shop: Shop, store: MemoryTransactionStore) -> None:
    # order.create is still running: the cart exists, the order not yet
    open_cart(shop, "c_racing01", [("MUG-12OZ", 1)])

    with pytest.raises(OrderNotCreatedYet):
        handle_transaction(webhook("auth", order_reference="c_racing01"), store, Recovery(), NOW)


def _with_cart(event: TransactionEvent) -> TransactionEvent:
    """The event as a v2 webhook carries it: with Bolt's cart, which a recovery creates the order from."""
    return replace(event, cart=Cart.model_validate({"order_reference": event.order_reference}))


@pytest.mark.parametrize("kind", ["pending", "payment"])
def test_a_dropped_order_is_recovered_once_and_the_event_applied(
    shop: Shop, store: MemoryTransactionStore, kind: str
) -> None:
    recovery = Recovery(lambda event: place_order(shop, str(event.order_reference), [("MUG-12OZ", 1)]))
    event = _with_cart(webhook(kind, amount=2199, order_reference="c_dropped1"))

    outcome = handle_transaction(event, store, recovery, NOW)

    assert len(recovery.calls) == 1
    assert (outcome.result, outcome.order_id) == ("applied", order_id_for("c_dropped1"))
    assert store.shop.orders[order_id_for("c_dropped1")].status in {"payment_review", "captured"}


def test_a_recovery_that_created_nothing_is_not_tried_again(shop: Shop, store: MemoryTransactionStore) -> None:
    # Given a recovery that leaves no order behind, for a cart we never stored
    recovery = Recovery()
    event = _with_cart(webhook("payment", amount=2199, order_reference="c_dropped2"))

    # Then it ran once, and Bolt is asked to deliver again (the money must not be left without an order)
    with pytest.raises(DependencyUnavailable):
        handle_transaction(event, store, recovery, NOW)
    assert len(recovery.calls) == 1


def test_a_recovery_that_created_nothing_for_a_stored_cart_asks_bolt_to_retry(
    shop: Shop, store: MemoryTransactionStore
) -> None:
    open_cart(shop, "c_dropped3", [("MUG-12OZ", 1)])
    recovery = Recovery()

    with pytest.raises(DependencyUnavailable):
        handle_transaction(_with_cart(webhook("pending", order_reference="c_dropped3")), store, recovery, NOW)
    assert len(recovery.calls) == 1


def test_without_bolts_cart_the_order_is_still_recovered(shop: Shop, store: MemoryTransactionStore) -> None:
    recovery = Recovery(lambda event: place_order(shop, str(event.order_reference), [("MUG-12OZ", 1)]))

    outcome = handle_transaction(webhook("payment", amount=2199, order_reference="c_dropped4"), store, recovery, NOW)

    assert len(recovery.calls) == 1
    assert outcome.result == "applied"


def test_a_webhook_waiting_for_order_create_recovers_the_order_once_the_window_is_over(
    shop: Shop, store: MemoryTransactionStore
) -> None:
    open_cart(shop, "c_racing02", [("MUG-12OZ", 1)])
    recovery = Recovery(lambda event: place_order(shop, str(event.order_reference), [("MUG-12OZ", 1)]))
    event = webhook("auth", amount=2199, order_reference="c_racing02")
    with pytest.raises(OrderNotCreatedYet):
        handle_transaction(event, store, recovery, NOW, timedelta(seconds=60))

    outcome = handle_transaction(event, store, recovery, NOW + timedelta(seconds=61), timedelta(seconds=60))

    assert len(recovery.calls) == 1
    assert outcome.result == "applied"


# ---------------------------------------------------------------- another writer first


def test_an_order_changed_meanwhile_is_read_again_and_both_changes_kept(
    store: MemoryTransactionStore, order: Order
) -> None:
    handle_transaction(webhook("auth", order), store, Recovery(), NOW)
    # Another container applies a capture between this delivery's read and its write
    store.before_apply.append(
        lambda: handle_transaction(webhook("capture", order, captures=[("CA1", 2000)]), store, Recovery(), NOW)
    )

    outcome = handle_transaction(webhook("credit", amount=500, transaction_id="TC1"), store, Recovery(), NOW)

    after = store.shop.orders[order.order_id]
    assert outcome.result == "applied"
    assert (after.captured, after.refunded, after.status) == (2000, 500, "partially_refunded")
    assert store.shop.ledger_keys(order.order_id) == ["auth#TAdemo0000001", "capture#CA1", "credit#TC1"]


def test_the_same_event_applied_meanwhile_by_another_container_is_a_duplicate(
    store: MemoryTransactionStore, order: Order
) -> None:
    event = webhook("auth", order)
    store.before_apply.append(lambda: handle_transaction(event, store, Recovery(), NOW))

    outcome = handle_transaction(event, store, Recovery(), NOW)

    assert outcome.result == "duplicate"
    assert store.shop.ledger_keys(order.order_id) == ["auth#TAdemo0000001"]


def test_an_order_that_keeps_changing_is_reported_unavailable_after_five_tries(
    shop: Shop, store: MemoryTransactionStore, order: Order
) -> None:
    def bump() -> None:
        current = shop.orders[order.order_id]
        shop.orders[order.order_id] = current.model_copy(update={"version": current.version + 1})

    store.before_apply.extend([bump] * 5)

    with pytest.raises(DependencyUnavailable):
        handle_transaction(webhook("auth", order), store, Recovery(), NOW)
    assert store.before_apply == []  # five attempts, each beaten by another writer
    assert store.shop.ledger_keys(order.order_id) == []
