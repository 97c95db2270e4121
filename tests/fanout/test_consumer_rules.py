"""The consumers' rules on their own (fanout/confirmation.py send_confirmation, fanout/fulfilment.py hand_off): which
events they act on, what reaches the shopper and the OMS, and when nothing should, with the order read through the
in-memory store and the side effects caught by RecordingMailer and MemoryOms. SQS, SES, the idempotency table and
the OMS over HTTP are tests/fanout's handler tests."""

from collections.abc import Sequence

import pytest
from bolt_merchant.core.errors import DependencyUnavailable
from bolt_merchant.core.models import AppliedDiscount
from bolt_merchant.fanout.confirmation import confirmation_email, send_confirmation, wants_confirmation
from bolt_merchant.fanout.consumers import Deferred, OrderMissing
from bolt_merchant.fanout.fulfilment import FulfilmentAction, fulfilment_action, hand_off
from bolt_merchant.orders.models import Hold, Order, OutboxEvent
from bolt_merchant.payments.webhook import handle_transaction

from tests.fakes import NOW, MemoryOms, MemoryTransactionStore, RecordingMailer, Shop, place_order, webhook

EMAIL = "shopper@example.com"


@pytest.fixture
def store() -> MemoryTransactionStore:
    return MemoryTransactionStore(Shop.demo())


def placed(
    store: MemoryTransactionStore,
    *events: str,
    contact_email: str | None = EMAIL,
    cart_id: str = "c_placed0001",
    discounts: Sequence[AppliedDiscount] = (),
) -> Order:
    """An order placed with the given webhooks applied (through the webhook's rules)."""
    order = place_order(store.shop, cart_id, contact_email=contact_email, discounts=discounts)
    for kind in events:
        handle_transaction(webhook(kind, order), store, lambda _event, _order_id: None, NOW)
    return store.shop.orders[order.order_id]


def event(event_type: str) -> OutboxEvent:
    return OutboxEvent(event_id="BO-X:v2", event_type=event_type, order_id="BO-X", occurred_at=NOW)


# ---------------------------------------------------------------- confirmation email


@pytest.mark.parametrize(
    ("event_type", "wanted"),
    [
        ("order.authorized", True),
        ("order.paid", True),
        ("order.created", False),
        ("order.captured", False),
        ("order.cancelled", False),
        ("order.payment_review", False),
    ],
)
def test_only_an_authorisation_or_a_payment_asks_for_a_confirmation(event_type: str, wanted: bool) -> None:
    assert wants_confirmation(event(event_type)) is wanted


def test_the_confirmation_goes_to_the_shopper_with_the_orders_lines_and_totals(store: MemoryTransactionStore) -> None:
    order = placed(store, "auth")
    mailer = RecordingMailer()

    assert send_confirmation(order.order_id, store, mailer) == "sent"

    [(to, message)] = mailer.sent
    assert to == EMAIL
    assert message.subject == f"Your order {order.order_id} is confirmed"
    assert "  2 x Canvas Tote (Blue): USD 48.00" in message.text.splitlines()
    assert "Shipping: USD 5.99" in message.text
    assert "Total: USD 69.99" in message.text
    assert "Discount" not in message.text


def test_a_discount_shows_as_a_negative_line(store: MemoryTransactionStore) -> None:
    welcome = AppliedDiscount(code="WELCOME10", type="fixed_amount", amount=1000, description="$10 off")
    order = placed(store, discounts=[welcome])

    assert "Discount: -USD 10.00" in confirmation_email(order).text


def test_no_email_for_an_order_without_contact_or_already_cancelled(store: MemoryTransactionStore) -> None:
    anonymous = placed(store, "auth", contact_email=None)
    mailer = RecordingMailer()

    assert send_confirmation(anonymous.order_id, store, mailer) == "no_contact"

    cancelled = placed(store, "auth", "void", cart_id="c_cancelled1")
    assert send_confirmation(cancelled.order_id, store, mailer) == "order_cancelled"
    assert mailer.sent == []


def test_an_order_not_in_the_table_fails_the_message(store: MemoryTransactionStore) -> None:
    with pytest.raises(OrderMissing):
        send_confirmation("BO-MISSING", store, RecordingMailer())


def test_a_mailer_failure_is_raised_so_the_message_is_retried(store: MemoryTransactionStore) -> None:
    order = placed(store, "auth")
    mailer = RecordingMailer(failures=[DependencyUnavailable("confirmation email failed: Throttling")])

    with pytest.raises(DependencyUnavailable):
        send_confirmation(order.order_id, store, mailer)
    assert send_confirmation(order.order_id, store, mailer) == "sent"  # the retry
    assert len(mailer.sent) == 1


# ---------------------------------------------------------------- fulfilment hand-off


@pytest.mark.parametrize(
    ("event_type", "action"),
    [
        ("order.authorized", FulfilmentAction.SUBMIT),
        ("order.paid", FulfilmentAction.SUBMIT),
        ("order.cancelled", FulfilmentAction.CANCEL),
        ("order.captured", None),
        ("order.created", None),
        ("order.refunded", None),
    ],
)
def test_which_events_go_to_the_oms(event_type: str, action: FulfilmentAction | None) -> None:
    assert fulfilment_action(event(event_type)) is action


def test_a_submission_carries_what_the_warehouse_needs_and_no_payment_data(
    store: MemoryTransactionStore,
) -> None:
    order = placed(store, "auth")
    oms = MemoryOms()

    assert hand_off(order.order_id, FulfilmentAction.SUBMIT, store, oms) == "submitted"

    [body] = oms.bodies
    assert oms.keys == [order.order_id]
    assert set(body) == {
        "order_id",
        "currency",
        "items",
        "shipping",
        "shipping_addresses",
        "billing_address",
        "contact_email",
        "totals",
    }
    assert [(i["sku"], i["quantity"]) for i in body["items"]] == [("TOTE-BLUE", 2), ("MUG-12OZ", 1)]
    assert body["contact_email"] == EMAIL  # whom the warehouse contacts about the delivery
    assert "authorized" not in repr(body)
    assert "captures" not in repr(body)


def test_a_held_order_is_not_submitted_and_nothing_is_recorded(store: MemoryTransactionStore) -> None:
    order = placed(store, "auth")
    held = order.model_copy(update={"status": "on_hold", "holds": [Hold(reason="totals_mismatch", since=NOW)]})
    store.shop.orders[order.order_id] = held
    oms = MemoryOms()

    with pytest.raises(Deferred) as deferred:
        hand_off(order.order_id, FulfilmentAction.SUBMIT, store, oms)

    assert deferred.value.outcome == "held"
    assert oms.bodies == []


def test_a_cancellation_of_an_authorised_order_has_a_key_of_its_own(store: MemoryTransactionStore) -> None:
    order = placed(store, "auth", "void")
    oms = MemoryOms()

    assert hand_off(order.order_id, FulfilmentAction.CANCEL, store, oms) == "cancelled"

    assert (oms.cancelled[order.order_id], oms.keys) == (1, [f"{order.order_id}:cancel"])


def test_an_order_declined_before_authorisation_was_never_submitted_so_is_not_cancelled(
    store: MemoryTransactionStore,
) -> None:
    order = placed(store, "failed_payment")
    oms = MemoryOms()

    assert hand_off(order.order_id, FulfilmentAction.CANCEL, store, oms) == "never_submitted"
    assert oms.keys == []


def test_a_hand_off_for_an_order_not_in_the_table_fails_the_message(store: MemoryTransactionStore) -> None:
    with pytest.raises(OrderMissing):
        hand_off("BO-MISSING", FulfilmentAction.SUBMIT, store, MemoryOms())
