"""The reconciliation runner (payments/reconcile.py: reconcile_order, resolve_waiting, reconcile_due) against the
in-memory store and Bolt: Bolt's snapshot applied once and marked `reconcile`, an unchanged order's check recorded
and backed off, pending back-office answers applied then forgotten, webhooks that found no order resolved from
Bolt's facts, a run bounded by its limit and its time, Bolt's failures reported and never turned into facts, a
second run changing nothing, and a webhook landing between the read and the write kept."""

from datetime import timedelta
from typing import Any

import pytest
from bolt_merchant.core.errors import BoltNotFound, BoltUnavailable
from bolt_merchant.orders.models import Order, attention_due, order_id_for
from bolt_merchant.orders.table import RECONCILE_AFTER
from bolt_merchant.payments import recovery
from bolt_merchant.payments.reconcile import reconcile_due, reconcile_order, resolve_waiting
from bolt_merchant.payments.store import AttentionItem
from bolt_merchant.payments.transactions import TransactionEvent
from bolt_merchant.payments.webhook import handle_transaction

from devstack import bolt_payloads
from tests.fakes import (
    NOW,
    PAYMENT_REFERENCE,
    BoltPayment,
    FakeBoltTransactions,
    MemoryCheckoutStore,
    MemoryTransactionStore,
    Shop,
    place_order,
    webhook,
)

TOTAL = 6999  # TOTE-BLUE x2 (4800) + MUG-12OZ (1600) + standard shipping (599)
RUN_AT = NOW + timedelta(hours=2)  # orders placed at NOW are due an hour later
LATER = NOW + timedelta(hours=3)


class Bolt(FakeBoltTransactions):
    """Bolt's Transactions API with the order (cart) each payment belongs to in its details, and scripted failures
    of the details call."""

    def __init__(self) -> None:
        super().__init__()
        self.carts: dict[str, dict[str, Any]] = {}
        self.failures: dict[str, Exception] = {}

    def transaction(self, reference: str) -> dict[str, Any]:
        if reference in self.failures:
            raise self.failures[reference]
        details = super().transaction(reference)
        if reference in self.carts:
            details["order"] = {"token": "tok", "cart": self.carts[reference]}
        return details

    def dashboard_capture(self, payment: BoltPayment, amount: int) -> str:
        """A capture made in Bolt's dashboard: Bolt knows it, no webhook tells us. Its capture id."""
        self.capture(
            payment.reference,
            amount,
            payment.currency,
            f"dashboard-capture-{payment.reference}-{len(payment.captures)}",
        )
        return str(payment.captures[-1]["id"])

    def dashboard_credit(self, payment: BoltPayment, amount: int) -> str:
        credit = self.credit(
            payment.reference, amount, payment.currency, f"dashboard-credit-{payment.reference}-{len(payment.credits)}"
        )
        return str(credit["id"])

    def details_calls(self) -> int:
        return self.count("transaction")


class Desk:
    """A shop, its store and Bolt, the recovery the runner may call, and helpers to arrange orders."""

    def __init__(self) -> None:
        self.shop = Shop.demo()
        self.store = MemoryTransactionStore(self.shop)
        self.bolt = Bolt()
        self.recovered: list[str] = []

    def authorised(self, cart_id: str = "c_placed0001") -> tuple[Order, BoltPayment]:
        """An order placed and authorised (through the webhook's rules), its payment authorised at Bolt."""
        order = place_order(self.shop, cart_id)
        reference = PAYMENT_REFERENCE if cart_id == "c_placed0001" else f"REF-{cart_id}"
        payment = self.bolt.authorize(order.totals.total, reference=reference)
        event = webhook("auth", order, transaction_id=payment.id, reference=reference)
        assert handle_transaction(event, self.store, self.recover, NOW).result == "applied"
        return self.order(order.order_id), payment

    def order(self, order_id: str) -> Order:
        return self.shop.orders[order_id]

    def recover(self, event: TransactionEvent, order_id: str) -> None:
        """The order of a payment Bolt holds money for, built by the real recovery from the shop's data."""
        self.recovered.append(order_id)
        cart_id = recovery.recovery_cart_id(event) or order_id
        snapshot = MemoryCheckoutStore(self.shop).snapshot(cart_id, order_id, [])
        skus = [item.catalog_sku for item in event.cart.items if item.catalog_sku] if event.cart else []
        found = recovery.recover(event, snapshot, self.shop.catalog(), self.store.stock(skus), NOW)
        self.store.create_recovered(found.order, found.taken, found.events, snapshot.cart is not None)

    def ledger_sources(self, order_id: str) -> dict[str, str]:
        return {record.key: record.source for record in self.store.ledger(order_id)}

    def run(self, now: Any = RUN_AT, **kwargs: Any) -> Any:
        options: dict[str, Any] = {"limit": 100, "time_left": lambda: 60.0, **kwargs}
        return reconcile_due(self.store, self.bolt, self.recover, now, **options)


@pytest.fixture
def desk() -> Desk:
    return Desk()


# ---------------------------------------------------------------- reconcile_order
def test_a_dashboard_capture_is_applied_once_and_marked_reconcile(desk: Desk) -> None:
    """Bolt's snapshot carries a capture no webhook told us of: it is recorded by its Bolt id with Bolt's amount,
    ledgered with source "reconcile", announced once; the next look finds nothing new."""
    order, payment = desk.authorised()
    capture_id = desk.bolt.dashboard_capture(payment, 2000)

    first = reconcile_order(desk.store, desk.bolt, order.order_id, NOW)
    second = reconcile_order(desk.store, desk.bolt, order.order_id, LATER)

    assert (first, second) == ("changed", "unchanged")
    after = desk.order(order.order_id)
    assert (after.status, after.captured, after.captures) == ("partially_captured", 2000, {capture_id: 2000})
    assert desk.ledger_sources(order.order_id)[f"capture#{capture_id}"] == "reconcile"
    assert desk.shop.event_types(order.order_id).count("order.captured") == 1
    assert len(desk.store.ledger(order.order_id)) == 2  # the auth, the capture: the check added no entry


def test_a_dashboard_credit_and_its_capture_are_applied_in_one_look(desk: Desk) -> None:
    """Captured and partly refunded in Bolt's dashboard: both facts land in one reconciliation."""
    order, payment = desk.authorised()
    capture_id = desk.bolt.dashboard_capture(payment, TOTAL)
    credit_id = desk.bolt.dashboard_credit(payment, 700)

    assert reconcile_order(desk.store, desk.bolt, order.order_id, NOW) == "changed"

    after = desk.order(order.order_id)
    assert (after.status, after.captured, after.refunded) == ("partially_refunded", TOTAL, 700)
    sources = desk.ledger_sources(order.order_id)
    assert (sources[f"capture#{capture_id}"], sources[f"credit#{credit_id}"]) == ("reconcile", "reconcile")


def test_a_dashboard_void_cancels_the_order_and_gives_its_stock_back_once(desk: Desk) -> None:
    """Voided in Bolt's dashboard before any capture: the order is cancelled and its stock released, once."""
    stock_before = desk.shop.stock("TOTE-BLUE")
    order, payment = desk.authorised()
    desk.bolt.void(payment.reference, "dashboard-void")

    outcomes = [reconcile_order(desk.store, desk.bolt, order.order_id, at) for at in (NOW, LATER)]

    assert outcomes == ["changed", "unchanged"]
    assert desk.order(order.order_id).status == "cancelled"
    assert desk.shop.stock("TOTE-BLUE") == stock_before
    assert desk.shop.event_types(order.order_id).count("order.cancelled") == 1


def test_an_unchanged_order_records_the_check_and_backs_off(desk: Desk) -> None:
    """Nothing new at Bolt: no ledger entry, no event, but the check is recorded (reconcile_checks + 1,
    reconciled_at) so the next one comes later than it would have."""
    order, _ = desk.authorised()
    due_before = attention_due(order, RECONCILE_AFTER)
    events_before = desk.shop.event_types(order.order_id)

    assert reconcile_order(desk.store, desk.bolt, order.order_id, NOW) == "unchanged"

    after = desk.order(order.order_id)
    assert (after.reconcile_checks, after.reconciled_at, after.version) == (1, NOW, order.version + 1)
    assert (after.authorized, after.captured, after.status) == (order.authorized, 0, "authorized")
    assert len(desk.store.ledger(order.order_id)) == 1  # the auth alone: a check is not a fact
    assert desk.shop.event_types(order.order_id) == events_before
    due_after = attention_due(after, RECONCILE_AFTER)
    assert due_before is not None
    assert due_after is not None
    assert due_after > due_before
    assert due_after == NOW + 2 * RECONCILE_AFTER


def test_an_order_without_a_bolt_transaction_is_checked_without_asking_bolt(desk: Desk) -> None:
    order = place_order(desk.shop)

    assert reconcile_order(desk.store, desk.bolt, order.order_id, NOW) == "no_transaction"

    assert desk.bolt.details_calls() == 0
    assert desk.order(order.order_id).reconcile_checks == 1


def test_a_pending_back_office_answer_is_applied_then_forgotten(desk: Desk) -> None:
    """Bolt refunded for an operator, but the answer could not be written: reconciliation applies the kept answer
    (source "backoffice", as the operator's action) before Bolt's snapshot, then forgets it."""
    order, payment = desk.authorised()
    desk.bolt.dashboard_capture(payment, TOTAL)
    reconcile_order(desk.store, desk.bolt, order.order_id, NOW)
    credit = desk.bolt.credit(payment.reference, 900, "USD", "operator-refund")
    answer = TransactionEvent(
        "credit",
        credit["id"],
        credit["reference"],
        900,
        "USD",
        status="completed",
        display_id=order.order_id,
        source_reference=payment.reference,
        source="backoffice",
    )
    desk.store.record_pending_answer(order.order_id, "op-1", answer, NOW)

    assert reconcile_order(desk.store, desk.bolt, order.order_id, LATER) == "changed"

    assert desk.store.pending_answers(order.order_id) == []
    after = desk.order(order.order_id)
    assert (after.refunded, after.credits) == (900, {credit["id"]: 900})
    assert desk.ledger_sources(order.order_id)[f"credit#{credit['id']}"] == "backoffice"


def test_a_pending_answer_a_webhook_already_brought_is_forgotten_and_counted_once(desk: Desk) -> None:
    order, payment = desk.authorised()
    desk.bolt.dashboard_capture(payment, TOTAL)
    reconcile_order(desk.store, desk.bolt, order.order_id, NOW)
    credit = desk.bolt.credit(payment.reference, 900, "USD", "operator-refund")
    echo = webhook("credit", amount=900, transaction_id=credit["id"])
    assert handle_transaction(echo, desk.store, desk.recover, NOW).result == "applied"
    desk.store.record_pending_answer(order.order_id, "op-1", echo, NOW)

    reconcile_order(desk.store, desk.bolt, order.order_id, LATER)

    assert desk.store.pending_answers(order.order_id) == []
    assert desk.order(order.order_id).refunded == 900


# ---------------------------------------------------------------- resolve_waiting
def waiting(desk: Desk, event: TransactionEvent, order_id: str | None = None) -> AttentionItem:
    desk.store.waiting_since(event, order_id, NOW)
    (item,) = [i for i in desk.store.attention_items.values() if i.kind == "waiting"]
    return item


def test_a_payment_bolt_holds_money_for_gets_its_order(desk: Desk) -> None:
    """A webhook that found no order and named no cart: Bolt says the payment is authorised and which cart it is
    for, so the order is recovered from Bolt's cart, Bolt's facts applied, and the marker forgotten."""
    payment = desk.bolt.authorize(bolt_payloads.DEMO_TOTAL, reference="REF-LOST")
    desk.bolt.carts["REF-LOST"] = bolt_payloads.order_cart("c_lost0001")
    item = waiting(desk, webhook("auth", transaction_id=payment.id, reference="REF-LOST", order_reference=""))

    assert resolve_waiting(desk.store, desk.bolt, desk.recover, item, NOW) == "recovered"

    order = desk.order(order_id_for("c_lost0001"))
    assert desk.recovered == [order.order_id]
    assert (order.phase, order.authorized, order.bolt_transaction_reference) == (
        "authorized",
        bolt_payloads.DEMO_TOTAL,
        "REF-LOST",
    )
    assert order.hold_reasons == ["recovered_unknown_cart"]  # a cart we never stored
    assert desk.store.attention_items == {}


@pytest.mark.parametrize("bolt_status", ["cancelled", "rejected_irreversible", "failed"])
def test_a_payment_bolt_declined_or_voided_with_nothing_taken_is_forgotten(desk: Desk, bolt_status: str) -> None:
    payment = desk.bolt.authorize(TOTAL, reference="REF-GONE")
    payment.status = bolt_status
    desk.bolt.carts["REF-GONE"] = bolt_payloads.order_cart("c_gone0001")
    item = waiting(desk, webhook("void", transaction_id=payment.id, reference="REF-GONE", order_reference=""))

    assert resolve_waiting(desk.store, desk.bolt, desk.recover, item, NOW) == "forgotten"

    assert desk.recovered == []
    assert desk.shop.orders == {}
    assert desk.store.attention_items == {}


def test_a_waiting_webhook_whose_order_now_exists_reconciles_it(desk: Desk) -> None:
    order, payment = desk.authorised()
    capture_id = desk.bolt.dashboard_capture(payment, 500)
    item = waiting(desk, webhook("capture", order), order.order_id)

    assert resolve_waiting(desk.store, desk.bolt, desk.recover, item, NOW) == "changed"

    assert desk.order(order.order_id).captures == {capture_id: 500}
    assert desk.recovered == []
    assert desk.store.attention_items == {}


# ---------------------------------------------------------------- reconcile_due
def test_a_run_takes_at_most_limit_items(desk: Desk) -> None:
    orders = [desk.authorised(f"c_order000{n}")[0] for n in range(4)]

    summary = desk.run(limit=2)

    assert summary.checked == 2
    checked = [o.order_id for o in orders if desk.order(o.order_id).reconcile_checks == 1]
    assert len(checked) == 2
    assert desk.bolt.details_calls() == 2


def test_a_run_stops_when_its_time_is_nearly_up(desk: Desk) -> None:
    for n in range(3):
        desk.authorised(f"c_order000{n}")
    left = iter([60.0, 60.0, 4.9, 60.0])

    summary = desk.run(time_left=lambda: next(left))

    assert summary.checked == 2
    assert desk.bolt.details_calls() == 2


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (BoltNotFound(404, 26, "Transaction not found."), "Bolt does not know the transaction"),
        (BoltUnavailable("Bolt API GET failed after 3 attempts: HTTP 503"), "failed after 3 attempts"),
    ],
    ids=["404", "5xx"],
)
def test_a_bolt_failure_postpones_the_item_is_reported_and_invents_nothing(
    desk: Desk, failure: Exception, message: str
) -> None:
    """Bolt cannot answer for one item: the run reports it in `errors`, changes nothing on it, pushes it back,
    and goes on with the others."""
    failing, failing_payment = desk.authorised("c_failing01")
    healthy, healthy_payment = desk.authorised("c_healthy01")
    desk.bolt.dashboard_capture(failing_payment, 1000)
    capture_id = desk.bolt.dashboard_capture(healthy_payment, 1000)
    desk.bolt.failures[failing_payment.reference] = failure
    lost = desk.bolt.authorize(TOTAL, reference="REF-WAITING")
    desk.bolt.failures["REF-WAITING"] = failure
    item = waiting(desk, webhook("auth", transaction_id=lost.id, reference="REF-WAITING", order_reference=""))

    summary = desk.run()

    assert summary.outcomes == {"bolt_failed": 2, "changed": 1}
    assert sorted(error.split(": ")[0] for error in summary.errors) == sorted([failing.order_id, "REF-WAITING"])
    assert all(message in error for error in summary.errors)
    assert desk.order(failing.order_id) == failing  # no fact invented, not even a check
    assert desk.order(healthy.order_id).captures == {capture_id: 1000}
    assert desk.store.attention_items[item.key["pk"]["S"]].due == RUN_AT + RECONCILE_AFTER
    assert desk.recovered == []


def test_running_twice_changes_nothing_the_second_time(desk: Desk) -> None:
    """Every fact is keyed by Bolt's ids: a second run over the same items records only its checks."""
    first_order, first_payment = desk.authorised("c_order0001")
    second_order, second_payment = desk.authorised("c_order0002")
    desk.bolt.dashboard_capture(first_payment, TOTAL)
    desk.bolt.dashboard_credit(first_payment, 300)
    desk.bolt.void(second_payment.reference, "dashboard-void")
    assert desk.run().outcomes == {"changed": 2}
    ledger = {o.order_id: desk.store.ledger(o.order_id) for o in (first_order, second_order)}
    events = {o.order_id: desk.shop.event_types(o.order_id) for o in (first_order, second_order)}
    money = {o.order_id: desk.order(o.order_id).model_dump(include=MONEY) for o in (first_order, second_order)}
    stock = {sku: desk.shop.stock(sku) for sku in ("TOTE-BLUE", "MUG-12OZ")}

    again = desk.run(LATER, ahead=timedelta(days=1))

    assert set(again.outcomes) == {"unchanged"}
    assert {o: desk.store.ledger(o) for o in ledger} == ledger
    assert {o: desk.shop.event_types(o) for o in events} == events
    assert {o: desk.order(o).model_dump(include=MONEY) for o in money} == money
    assert {sku: desk.shop.stock(sku) for sku in stock} == stock


MONEY = {"status", "phase", "authorized", "captured", "refunded", "captures", "credits", "holds", "inventory_reserved"}


def test_a_webhook_landing_between_the_read_and_the_write_is_kept(desk: Desk) -> None:
    """A webhook changes the order after reconciliation read it: the write is refused (version), the order read
    again, and both the webhook's fact and Bolt's snapshot are on it."""
    order, payment = desk.authorised()
    capture_id = desk.bolt.dashboard_capture(payment, TOTAL)
    credit_id = desk.bolt.dashboard_credit(payment, 400)
    late_webhook = webhook("credit", amount=400, transaction_id=credit_id)
    bumped: list[str] = []

    def webhook_arrives() -> None:
        bumped.append(handle_transaction(late_webhook, desk.store, desk.recover, NOW).result)

    desk.store.before_apply.append(webhook_arrives)

    assert reconcile_order(desk.store, desk.bolt, order.order_id, NOW) == "changed"

    assert bumped == ["held"]  # a credit before its capture, as the order stood then
    after = desk.order(order.order_id)
    assert (after.captured, after.refunded, after.status, after.holds) == (TOTAL, 400, "partially_refunded", [])
    sources = desk.ledger_sources(order.order_id)
    assert (sources[f"credit#{credit_id}"], sources[f"capture#{capture_id}"]) == ("webhook", "reconcile")


def test_an_order_that_keeps_changing_is_reported_not_overwritten(desk: Desk) -> None:
    order, payment = desk.authorised()
    desk.bolt.dashboard_capture(payment, 1000)

    def bump() -> None:
        current = desk.shop.orders[order.order_id]
        desk.shop.orders[order.order_id] = current.model_copy(update={"version": current.version + 1})

    desk.store.before_apply.extend([bump] * 5)
    summary = desk.run()

    assert summary.outcomes == {"bolt_failed": 1}
    assert "kept changing" in summary.errors[0]
    assert desk.order(order.order_id).captured == 0
