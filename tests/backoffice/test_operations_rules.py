"""The back office's rules (backoffice/operations.py) against the in-memory store and Bolt: each operation's state
and amount checks (refused before Bolt is called), what Bolt's answer records, restock plans, fulfilment, the echo
webhook Bolt sends afterwards being a duplicate, a retried operation acting once, and Bolt's odd answers."""

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pytest
from bolt_merchant.backoffice import operations
from bolt_merchant.backoffice.models import (
    CancelRequest,
    CaptureRequest,
    FulfilledLine,
    FulfilmentRequest,
    RefundRequest,
    RestockLine,
    Tracking,
)
from bolt_merchant.backoffice.operations import Operation, OperationContext, operation_key
from bolt_merchant.core.errors import (
    AdminCode,
    BoltRefused,
    Conflict,
    DependencyUnavailable,
    Invalid,
    NotFound,
    UpstreamFailed,
)
from bolt_merchant.core.models import AppliedDiscount
from bolt_merchant.orders.models import Order
from bolt_merchant.payments.transactions import CaptureInfo, TransactionEvent
from bolt_merchant.payments.webhook import WebhookOutcome, handle_transaction

from tests.fakes import (
    NOW,
    PAYMENT_REFERENCE,
    BoltPayment,
    FakeBoltTransactions,
    MemoryTransactionStore,
    Shop,
    place_order,
    webhook,
)

TOTAL = 6999  # TOTE-BLUE x2 (4800) + MUG-12OZ (1600) + standard shipping (599)


@dataclass
class Desk:
    """An operator's view of one order: the shop, its store, Bolt, and the order's payment at Bolt."""

    shop: Shop
    store: MemoryTransactionStore
    bolt: FakeBoltTransactions
    order_id: str
    payment: BoltPayment

    def context(self, operation: Operation, key: str = "key-1") -> OperationContext:
        return OperationContext(self.order_id, operation_key(self.order_id, operation, "body", key), NOW)

    def capture(self, amount: int | None = None, key: str = "key-1") -> operations.OperationResult:
        return operations.capture(self.context("capture", key), CaptureRequest(amount=amount), self.store, self.bolt)

    def refund(self, key: str = "key-1", **request: object) -> operations.OperationResult:
        return operations.refund(
            self.context("refund", key), RefundRequest.model_validate(request), self.store, self.bolt
        )

    def cancel(self, reason: str | None = None, key: str = "key-1") -> operations.OperationResult:
        return operations.cancel(self.context("cancel", key), CancelRequest(reason=reason), self.store, self.bolt)

    def fulfil(
        self, lines: Sequence[tuple[str, int]], tracking: tuple[str, str] | None = None, key: str = "key-1"
    ) -> operations.OperationResult:
        request = FulfilmentRequest(
            line_items=[FulfilledLine(line_item_key=sku, fulfilled_quantity=count) for sku, count in lines],
            tracking=Tracking(carrier=tracking[0], tracking_number=tracking[1]) if tracking else None,
        )
        return operations.fulfil(self.context("line-items", key), request, self.store, self.bolt)

    @property
    def order(self) -> Order:
        return self.shop.orders[self.order_id]

    def deliver(self, event: TransactionEvent) -> WebhookOutcome:
        """A transaction webhook from Bolt, through the webhook's own rules."""
        return handle_transaction(event, self.store, lambda _event, _order_id: None, NOW)

    def echo(self, kind: str) -> TransactionEvent:
        """The webhook Bolt sends after our action on the payment, listing its captures as Bolt has them."""
        captures = tuple(CaptureInfo(c["id"], int(c["amount"])) for c in self.payment.captures)
        return replace(webhook(kind, self.order, transaction_id=self.payment.id), captures=captures)


def desk_for(shop: Shop, *, authorise: bool = True, discounts: Sequence[AppliedDiscount] = ()) -> Desk:
    order = place_order(shop, discounts=discounts)
    bolt = FakeBoltTransactions()
    payment = bolt.authorize(order.totals.total, reference=PAYMENT_REFERENCE)
    desk = Desk(shop, MemoryTransactionStore(shop), bolt, order.order_id, payment)
    if authorise:
        assert desk.deliver(webhook("auth", order, transaction_id=payment.id)).result == "applied"
    return desk


@pytest.fixture
def desk() -> Desk:
    """An authorised order of TOTAL cents, its payment authorised at Bolt."""
    return desk_for(Shop.demo())


def ledger_notes(desk: Desk) -> dict[str, str]:
    return {record.key: record.note for record in desk.store.ledger(desk.order_id)}


# ---------------------------------------------------------------- capture


class TestCapture:
    def test_by_default_everything_left_is_captured_under_bolts_capture_id(self, desk: Desk) -> None:
        result = desk.capture()

        [capture] = desk.payment.captures
        assert result.result == {
            "capture_id": capture["id"],
            "amount": TOTAL,
            "transaction_reference": PAYMENT_REFERENCE,
        }
        assert (desk.order.status, desk.order.captured) == ("captured", TOTAL)
        assert ledger_notes(desk)[f"capture#{capture['id']}"] == "back office capture"
        [call] = desk.bolt.calls
        assert (call.amount, call.currency) == (TOTAL, "USD")
        assert call.idempotency_key == desk.context("capture").bolt_key("capture", PAYMENT_REFERENCE, TOTAL)

    def test_a_partial_capture_then_the_rest(self, desk: Desk) -> None:
        first = desk.capture(2000, key="first")
        second = desk.capture(key="second")

        assert (first.order.status, first.order.captured) == ("partially_captured", 2000)
        assert (second.result["amount"], second.order.status, second.order.captured) == (4999, "captured", TOTAL)
        assert first.result["capture_id"] != second.result["capture_id"]

    def test_the_echo_webhook_bolt_sends_afterwards_is_a_duplicate(self, desk: Desk) -> None:
        desk.capture()
        writes = desk.shop.writes

        assert desk.deliver(desk.echo("capture")).result == "duplicate"
        assert desk.shop.writes == writes

    def test_a_retried_operation_captures_once(self, desk: Desk) -> None:
        first = desk.capture(2000)
        again = desk.capture(2000)  # same operator request (same key): Bolt replays its answer

        assert len(desk.payment.captures) == 1
        assert again.result == first.result
        assert desk.order.captured == 2000

    def test_a_webhook_recording_the_capture_first_leaves_one_entry(self, desk: Desk) -> None:
        # Bolt's capture webhook gets to the order between Bolt's answer and our write
        desk.store.before_apply.append(lambda: desk.deliver(desk.echo("capture")))

        result = desk.capture()

        assert (result.order.captured, desk.order.captured) == (TOTAL, TOTAL)
        assert [key for key in ledger_notes(desk) if key.startswith("capture#")] == [
            f"capture#{result.result['capture_id']}"
        ]

    @pytest.mark.parametrize("amount", [0, -100, TOTAL + 1])
    def test_an_amount_outside_what_is_left_is_refused_before_bolt_is_called(self, desk: Desk, amount: int) -> None:
        with pytest.raises(Invalid) as refused:
            desk.capture(amount)

        assert refused.value.code == AdminCode.INVALID_AMOUNT
        assert desk.bolt.calls == []

    def test_bolt_refusing_the_capture_records_nothing(self, desk: Desk) -> None:
        # Someone captured part of the payment in Bolt's dashboard: Bolt refuses to capture the whole total
        desk.payment.captures.append({"id": "CA-DASHBOARD", "status": "succeeded", "amount": 1000})

        with pytest.raises(BoltRefused):
            desk.capture()

        assert (desk.order.captured, desk.order.version) == (0, 2)

    def test_an_answer_that_cannot_be_read_is_upstream_failure(self, desk: Desk) -> None:
        desk.bolt.then("capture", {"captures": "not a list"})

        with pytest.raises(UpstreamFailed):
            desk.capture()
        assert desk.order.captured == 0

    def test_an_answer_without_our_capture_is_upstream_failure(self, desk: Desk) -> None:
        desk.bolt.then("capture", {"id": desk.payment.id, "captures": []})

        with pytest.raises(UpstreamFailed, match="no capture of 6999"):
            desk.capture()


class TestCaptureRefusedByState:
    def test_not_authorised_yet(self) -> None:
        desk = desk_for(Shop.demo(), authorise=False)

        with pytest.raises(Conflict, match="not authorised"):
            desk.capture()
        assert desk.bolt.calls == []

    def test_cancelled(self, desk: Desk) -> None:
        desk.deliver(webhook("void", desk.order, transaction_id=desk.payment.id))

        with pytest.raises(Conflict, match="cancelled"):
            desk.capture()
        assert desk.bolt.calls == []

    def test_on_hold(self) -> None:
        desk = desk_for(Shop.demo(), authorise=False)
        desk.deliver(webhook("auth", desk.order, amount=100, transaction_id=desk.payment.id))

        with pytest.raises(Conflict, match="on hold"):
            desk.capture()
        assert desk.bolt.calls == []

    def test_fully_captured(self, desk: Desk) -> None:
        desk.capture()

        with pytest.raises(Conflict, match="Nothing left"):
            desk.capture(key="again")
        assert desk.bolt.count("capture") == 1

    def test_rest_of_the_authorisation_voided(self, desk: Desk) -> None:
        desk.capture(2000)
        desk.deliver(webhook("void", desk.order, transaction_id=desk.payment.id))

        with pytest.raises(Conflict, match="voided"):
            desk.capture(key="again")
        assert desk.bolt.count("capture") == 1


# ---------------------------------------------------------------- refund


@pytest.fixture
def captured(desk: Desk) -> Desk:
    desk.capture(key="capture")
    desk.bolt.calls.clear()
    return desk


class TestRefund:
    def test_by_default_everything_captured_is_refunded_under_bolts_credit_id(self, captured: Desk) -> None:
        result = captured.refund(reason="damaged in transit")

        [credit] = captured.payment.credits
        assert result.result["credit_id"] == credit["id"]
        assert result.result["amount"] == TOTAL
        assert (captured.order.status, captured.order.refunded) == ("refunded", TOTAL)
        assert ledger_notes(captured)[f"credit#{credit['id']}"] == "back office refund: damaged in transit"

    def test_the_echo_credit_webhook_is_a_duplicate(self, captured: Desk) -> None:
        result = captured.refund(amount=1000)
        credit = webhook("credit", amount=1000, transaction_id=result.result["credit_id"])

        assert captured.deliver(credit).result == "duplicate"
        assert captured.order.refunded == 1000

    def test_nothing_captured_nothing_to_refund(self, desk: Desk) -> None:
        with pytest.raises(Conflict, match="Nothing to refund"):
            desk.refund()
        assert desk.bolt.calls == []

    @pytest.mark.parametrize("amount", [0, TOTAL + 1])
    def test_an_amount_outside_what_was_captured_is_refused(self, captured: Desk, amount: int) -> None:
        with pytest.raises(Invalid) as refused:
            captured.refund(amount=amount)

        assert refused.value.code == AdminCode.INVALID_AMOUNT
        assert captured.bolt.calls == []

    @pytest.mark.parametrize(
        "answer",
        [
            {"id": "TC-X", "type": "cc_credit", "status": "declined", "amount": 100},
            {"id": "TC-X", "type": "cc_credit", "status": "completed", "credit": {"status": "failed"}, "amount": 100},
            {"id": "TC-X", "type": "cc_credit", "status": "mystery", "amount": 100},
        ],
        ids=["declined", "credit-failed", "unknown-status"],
    )
    def test_a_refund_bolt_did_not_complete_is_rejected_and_not_recorded(
        self, captured: Desk, answer: dict[str, object]
    ) -> None:
        captured.bolt.then("credit", answer)

        with pytest.raises(UpstreamFailed) as failed:
            captured.refund(amount=100)

        assert failed.value.code == AdminCode.BOLT_REJECTED
        assert captured.order.refunded == 0

    def test_a_refund_answer_without_an_id_is_upstream_failure(self, captured: Desk) -> None:
        captured.bolt.then("credit", {"status": "completed", "amount": 100})

        with pytest.raises(UpstreamFailed, match="no transaction id"):
            captured.refund(amount=100)
        assert captured.order.refunded == 0


class TestRestock:
    def test_restock_puts_every_unit_back_with_the_credit(self, captured: Desk) -> None:
        assert captured.shop.stock("TOTE-BLUE") == (48, 2)

        result = captured.refund(restock=True)

        assert result.result["restocked"] == {"TOTE-BLUE": 2, "MUG-12OZ": 1}
        assert captured.shop.stock("TOTE-BLUE") == (50, 0)
        assert captured.shop.stock("MUG-12OZ") == (200, 0)
        assert (captured.order.restocked, captured.order.inventory_reserved) == (
            {"TOTE-BLUE": 2, "MUG-12OZ": 1},
            False,
        )
        credit_id = result.result["credit_id"]
        assert f"restock#{credit_id}" in ledger_notes(captured)
        assert "order.restocked" in captured.shop.event_types(captured.order_id)

    def test_named_units_only_and_never_more_than_are_left(self, captured: Desk) -> None:
        one = [RestockLine(line_item_key="TOTE-BLUE", quantity=1)]
        captured.refund(amount=1000, restock=True, line_items=one, key="first")

        assert captured.shop.stock("TOTE-BLUE") == (49, 1)
        assert captured.order.inventory_reserved is True
        with pytest.raises(Invalid, match="Only 1 unit"):
            captured.refund(
                amount=1000, restock=True, line_items=[RestockLine(line_item_key="TOTE-BLUE", quantity=2)], key="2nd"
            )
        assert captured.shop.stock("TOTE-BLUE") == (49, 1)

    @pytest.mark.parametrize(
        ("request_", "message"),
        [
            ({"line_items": [{"line_item_key": "TOTE-BLUE", "quantity": 1}]}, "restock: true"),
            ({"restock": True, "line_items": [{"line_item_key": "NOPE", "quantity": 1}]}, "Unknown line_item_key"),
            (
                {"restock": True, "line_items": [{"line_item_key": "MUG-12OZ", "quantity": 1}] * 2},
                "listed twice",
            ),
        ],
        ids=["without-restock", "unknown", "twice"],
    )
    def test_line_items_are_checked_before_bolt_is_called(
        self, captured: Desk, request_: dict[str, object], message: str
    ) -> None:
        with pytest.raises(Invalid, match=message) as refused:
            captured.refund(**request_)

        assert refused.value.code == AdminCode.INVALID_LINE_ITEMS
        assert captured.bolt.calls == []

    def test_a_second_refund_after_everything_was_restocked_restocks_nothing(self, captured: Desk) -> None:
        captured.refund(amount=1000, restock=True, key="first")

        result = captured.refund(amount=1000, restock=True, key="second")

        assert result.result["restocked"] == {}
        assert captured.shop.stock("TOTE-BLUE") == (50, 0)


# ---------------------------------------------------------------- cancel


class TestCancel:
    def test_a_void_cancels_and_gives_back_stock_and_discount_uses(self) -> None:
        shop = Shop.demo()
        welcome = AppliedDiscount(code="WELCOME10", type="fixed_amount", amount=1000, description="$10 off")
        desk = desk_for(shop, discounts=[welcome])
        assert (shop.uses["WELCOME10"], shop.stock("TOTE-BLUE")) == (1, (48, 2))

        result = desk.cancel(reason="customer asked")

        assert (result.order.status, result.result["status"]) == ("cancelled", "cancelled")
        assert desk.payment.status == "cancelled"
        assert (shop.uses["WELCOME10"], shop.stock("TOTE-BLUE"), shop.stock("MUG-12OZ")) == (0, (50, 0), (200, 0))
        assert ledger_notes(desk)[f"void#{desk.payment.id}"] == "back office cancel: customer asked"

    def test_the_echo_void_webhook_is_a_duplicate_and_releases_nothing_twice(self, desk: Desk) -> None:
        desk.cancel()

        assert desk.deliver(desk.echo("void")).result == "duplicate"
        assert desk.shop.stock("TOTE-BLUE") == (50, 0)

    def test_captured_funds_are_refunded_not_cancelled(self, captured: Desk) -> None:
        with pytest.raises(Conflict, match="refund them"):
            captured.cancel()
        assert captured.bolt.calls == []

    def test_a_cancelled_order_is_not_cancelled_again(self, desk: Desk) -> None:
        desk.cancel()

        with pytest.raises(Conflict, match="already cancelled"):
            desk.cancel(key="again")
        assert desk.bolt.count("void") == 1

    def test_a_fulfilled_order_cannot_be_cancelled(self, desk: Desk) -> None:
        desk.fulfil([("MUG-12OZ", 1)])

        with pytest.raises(Conflict, match="fulfilled"):
            desk.cancel()
        assert desk.bolt.count("void") == 0

    def test_an_order_bolt_never_authorised_has_no_transaction_to_void(self) -> None:
        desk = desk_for(Shop.demo(), authorise=False)

        with pytest.raises(Conflict, match="no Bolt transaction"):
            desk.cancel()
        assert desk.bolt.calls == []

    def test_a_void_bolt_did_not_do_is_rejected_and_not_recorded(self, desk: Desk) -> None:
        desk.bolt.then("void", {"id": desk.payment.id, "status": "authorized"})

        with pytest.raises(UpstreamFailed) as failed:
            desk.cancel()

        assert failed.value.code == AdminCode.BOLT_REJECTED
        assert desk.order.status == "authorized"
        assert desk.shop.stock("TOTE-BLUE") == (48, 2)


# ---------------------------------------------------------------- fulfilment


class TestFulfil:
    def test_quantities_are_recorded_as_absolute_and_the_status_follows(self, desk: Desk) -> None:
        partly = desk.fulfil([("TOTE-BLUE", 1)])
        fully = desk.fulfil([("TOTE-BLUE", 2), ("MUG-12OZ", 1)], key="second")

        assert partly.result == {"changed": True, "fulfilment_status": "partially_fulfilled"}
        assert fully.result == {"changed": True, "fulfilment_status": "fulfilled"}
        assert desk.order.fulfilled == {"TOTE-BLUE": 2, "MUG-12OZ": 1}
        events = [e for e in desk.shop.events_of(desk.order_id) if e.event_type == "order.fulfilment_updated"]
        assert [e.detail["fulfilled_units"] for e in events] == [1, 3]

    def test_the_same_quantities_again_change_nothing(self, desk: Desk) -> None:
        desk.fulfil([("TOTE-BLUE", 1)])
        writes = desk.shop.writes

        assert desk.fulfil([("TOTE-BLUE", 1)], key="again").result == {"changed": False}
        assert desk.shop.writes == writes

    def test_tracking_reports_the_new_units_to_bolt_and_records_the_shipment(self, desk: Desk) -> None:
        desk.fulfil([("TOTE-BLUE", 1)])

        result = desk.fulfil([("TOTE-BLUE", 2), ("MUG-12OZ", 1)], tracking=("UPS", "1Z999"), key="ship")

        [call] = [c for c in desk.bolt.calls if c.action == "track_shipment"]
        assert (call.reference, call.body["carrier"], call.body["tracking_number"]) == (
            PAYMENT_REFERENCE,
            "UPS",
            "1Z999",
        )
        assert call.body["items"] == [
            {"reference": "MUG-12OZ", "sku": "MUG-12OZ", "quantity": 1},
            {"reference": "TOTE-BLUE", "sku": "TOTE-BLUE", "quantity": 1},
        ]
        assert result.result == {"changed": True, "fulfilment_status": "fulfilled"}
        assert [(s.carrier, s.tracking_number, s.items) for s in desk.order.shipments] == [
            ("UPS", "1Z999", {"MUG-12OZ": 1, "TOTE-BLUE": 1})
        ]

    def test_a_retry_after_the_record_failed_reports_the_same_shipment_under_the_same_key(self, desk: Desk) -> None:
        # Given Bolt took the tracking but the order kept changing until the operation gave up
        def another_writer() -> None:
            current = desk.shop.orders[desk.order_id]
            desk.shop.orders[desk.order_id] = current.model_copy(update={"version": current.version + 1})

        desk.store.before_apply.extend([another_writer] * 5)
        with pytest.raises(DependencyUnavailable):
            desk.fulfil([("TOTE-BLUE", 2)], tracking=("UPS", "1Z999"), key="ship")
        assert desk.order.fulfilled == {}

        # When the operator retries
        result = desk.fulfil([("TOTE-BLUE", 2)], tracking=("UPS", "1Z999"), key="ship")

        # Then Bolt hears the same report under the same key (it replays), and the order records it once
        first, second = [c for c in desk.bolt.calls if c.action == "track_shipment"]
        assert (second.idempotency_key, second.body) == (first.idempotency_key, first.body)
        assert result.result == {"changed": True, "fulfilment_status": "partially_fulfilled"}
        assert len(desk.order.shipments) == 1

    @pytest.mark.parametrize(
        ("lines", "message"),
        [
            ([("TOTE-BLUE", 3)], "exceeds the 2 ordered"),
            ([("NOPE", 1)], "Unknown line_item_key"),
            ([("MUG-12OZ", 1), ("MUG-12OZ", 1)], "listed twice"),
        ],
    )
    def test_invalid_lines_are_refused(self, desk: Desk, lines: list[tuple[str, int]], message: str) -> None:
        with pytest.raises(Invalid, match=message):
            desk.fulfil(lines)
        assert desk.order.fulfilled == {}

    def test_fulfilled_quantities_never_decrease(self, desk: Desk) -> None:
        desk.fulfil([("TOTE-BLUE", 2)])

        with pytest.raises(Conflict, match="never decrease"):
            desk.fulfil([("TOTE-BLUE", 1)], key="less")

    def test_nothing_is_fulfilled_before_authorisation_or_after_cancellation(self, desk: Desk) -> None:
        pending = desk_for(Shop.demo(), authorise=False)
        desk.cancel()

        with pytest.raises(Conflict, match="not authorised"):
            pending.fulfil([("TOTE-BLUE", 1)])
        with pytest.raises(Conflict, match="cancelled"):
            desk.fulfil([("TOTE-BLUE", 1)])


# ---------------------------------------------------------------- the order view


def test_the_view_shows_what_can_still_be_captured_and_refunded_and_the_timeline(desk: Desk) -> None:
    desk.capture(2000)
    desk.refund(amount=500)

    view = operations.get_order(desk.order_id, desk.store)

    assert (view.amounts.authorized, view.amounts.captured, view.amounts.refunded) == (TOTAL, 2000, 500)
    assert (view.amounts.capturable, view.amounts.refundable) == (4999, 1500)
    assert view.timeline is not None
    assert [entry.type for entry in view.timeline] == ["auth", "capture", "credit"]


def test_an_unknown_order_is_not_found(desk: Desk) -> None:
    with pytest.raises(NotFound):
        operations.get_order("BO-NOPE", desk.store)
