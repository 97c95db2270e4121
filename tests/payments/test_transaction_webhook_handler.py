"""POST /bolt/webhooks/transaction through the handler: each type's effect, replays, partial captures and refunds,
totals mismatch, dropped-order recovery, cancellations releasing stock, ignored types, signatures, schemas."""

from typing import Any

import pytest
from bolt_merchant.orders.models import Order

from devstack import bolt_payloads
from tests import expect, seed
from tests.payments.conftest import Webhooks, emitted_metrics
from tests.support import (
    AwsStack,
    CallCounter,
    demo_products,
    load_event,
    response_body,
    response_header,
    signed_event,
)

TOTAL = bolt_payloads.DEMO_TOTAL
PRODUCTS = demo_products()
hook = bolt_payloads.transaction_webhook
capture_id = bolt_payloads.capture_id
credit_id = bolt_payloads.credit_id


def ok(result: str, order_id: str | None = seed.DEMO_ORDER_ID) -> dict[str, Any]:
    body = {"status": "success", "result": result}
    return {**body, "display_id": order_id} if order_id else body


def snapshot(aws: AwsStack, order_id: str = seed.DEMO_ORDER_ID) -> dict[str, Any]:
    """Everything a webhook may write for an order: the order item, its ledger and its outbox, plus the catalog."""
    return {
        "partition": seed.partition(aws, order_id),
        "stock": {sku: seed.stock(aws, sku) for sku in PRODUCTS},
        "uses": {code: seed.discount_uses(aws, code) for code in ("WELCOME10", "ONEUSE")},
    }


def demo_stock_reserved(aws: AwsStack) -> bool:
    return seed.stock(aws, "TOTE-BLUE") == (PRODUCTS["TOTE-BLUE"].inventory - 2, 2) and seed.stock(aws, "MUG-12OZ") == (
        PRODUCTS["MUG-12OZ"].inventory - 1,
        1,
    )


def demo_stock_released(aws: AwsStack) -> bool:
    return seed.stock(aws, "TOTE-BLUE") == (PRODUCTS["TOTE-BLUE"].inventory, 0) and seed.stock(aws, "MUG-12OZ") == (
        PRODUCTS["MUG-12OZ"].inventory,
        0,
    )


def outbox_types(aws: AwsStack) -> list[str]:
    events = sorted(seed.outbox(aws).values(), key=lambda e: (e.occurred_at, e.event_id))
    return [event.event_type for event in events]


# What must have been delivered before a type's example in events/ applies to the demo order (a capture, payment
# or credit needs an authorised or captured order to be meaningful).
BEFORE = {
    "pending": [],
    "auth": [],
    "capture": ["auth"],
    "payment": [],
    "credit": ["auth", "capture"],
    "void": ["auth"],
    "failed_payment": [],
    "rejected_reversible": ["pending"],
    "rejected_irreversible": [],
}


class TestEachType:
    """Each events/transaction_webhook/<type>.json against the demo order, and what it does to the order."""

    @pytest.mark.parametrize(
        ("name", "status", "phase", "money", "event_type"),
        [
            ("pending", "payment_review", "review", (0, 0, 0), "order.payment_review"),
            ("auth", "authorized", "authorized", (TOTAL, 0, 0), "order.authorized"),
            ("capture", "captured", "authorized", (TOTAL, TOTAL, 0), "order.captured"),
            ("payment", "captured", "authorized", (TOTAL, TOTAL, 0), "order.paid"),
            ("credit", "partially_refunded", "authorized", (TOTAL, TOTAL, 1500), "order.refunded"),
            ("void", "cancelled", "cancelled", (TOTAL, 0, 0), "order.cancelled"),
            ("failed_payment", "cancelled", "cancelled", (0, 0, 0), "order.cancelled"),
            ("rejected_reversible", "payment_review", "review", (0, 0, 0), None),  # after pending: no change
            ("rejected_irreversible", "cancelled", "cancelled", (0, 0, 0), "order.cancelled"),
        ],
    )
    def test_effect_on_the_order(
        self,
        webhooks: Webhooks,
        demo_order: Order,
        aws: AwsStack,
        name: str,
        status: str,
        phase: str,
        money: tuple[int, int, int],
        event_type: str | None,
    ) -> None:
        for earlier in BEFORE[name]:
            assert webhooks.event(earlier)["statusCode"] == 200
        events_before = len(seed.outbox(aws))

        response = webhooks.event(name)

        assert response["statusCode"] == 200
        assert response_body(response) == ok("applied")
        order = webhooks.order()
        assert (order.status, order.phase) == (status, phase)
        assert (order.authorized, order.captured, order.refunded) == money
        assert seed.order_item_attributes(aws)["status"] == status
        new_events = outbox_types(aws)[events_before:]
        assert new_events == ([event_type] if event_type else [])

    def test_capture_without_auth_implies_the_authorisation(self, webhooks: Webhooks, demo_order: Order) -> None:
        assert webhooks.event("capture")["statusCode"] == 200

        order = webhooks.order()
        assert (order.status, order.authorized, order.captured) == ("captured", TOTAL, TOTAL)

    def test_re_review_rejected_reversible_then_auth(self, webhooks: Webhooks, demo_order: Order) -> None:
        # T24
        webhooks.event("rejected_reversible")
        webhooks.event("auth")

        assert webhooks.order().status == "authorized"

    def test_the_legacy_flat_form_works(self, webhooks: Webhooks, demo_order: Order) -> None:
        response = webhooks.event("legacy_auth")

        assert response["statusCode"] == 200
        assert response_body(response) == ok("applied")
        order = webhooks.order()
        assert (order.status, order.authorized) == ("authorized", TOTAL)

    def test_the_legacy_form_and_the_v2_form_of_one_event_are_one_event(
        self, webhooks: Webhooks, demo_order: Order
    ) -> None:
        webhooks.event("legacy_auth")

        assert response_body(webhooks.event("auth")) == ok("duplicate")

    def test_the_legacy_form_with_a_numeric_order_reference(self, webhooks: Webhooks, aws: AwsStack) -> None:
        webhooks.create_order("12345", (("MUG-12OZ", 1),))
        payload = bolt_payloads.legacy_transaction_webhook("auth", cart_id="12345", amount=2315)
        payload["order"] = 12345

        assert webhooks.deliver_ok(payload) == ok("applied", seed.order_id_for("12345"))

    def test_void_after_a_partial_capture_closes_the_authorisation(
        self, webhooks: Webhooks, demo_order: Order, aws: AwsStack
    ) -> None:
        webhooks.event("auth")
        webhooks.deliver_ok(hook("capture", captures=((capture_id(1), 5000),)))
        assert webhooks.order().status == "partially_captured"

        webhooks.event("void")

        order = webhooks.order()
        assert (order.status, order.captured, order.authorization_closed) == ("captured", 5000, True)
        assert demo_stock_reserved(aws)  # captured goods are not given back

    def test_an_auth_before_order_create_finished_asks_bolt_to_retry(
        self, webhooks: Webhooks, aws: AwsStack, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # T20/§6.2: the cart exists, its order.create is probably still running
        seed.seed_cart(aws)

        response = webhooks.event("auth")

        assert response["statusCode"] == 503
        assert response_header(response, "Retry-After") is not None
        assert seed.stored_order(aws) is None
        # counted apart from other 503s: WebhookAwaitingOrderAlarm fires when it keeps happening
        assert emitted_metrics(capsys.readouterr().out)["WebhookAwaitingOrder"] == 1

    def test_the_order_is_found_by_display_id_alone(self, webhooks: Webhooks, demo_order: Order) -> None:
        payload = hook("auth")
        payload["data"]["order"]["cart"]["order_reference"] = None
        payload["data"]["order"]["cart"]["display_id"] = seed.DEMO_ORDER_ID

        assert webhooks.deliver_ok(payload) == ok("applied")

    def test_a_credit_is_found_by_its_source_transaction(self, webhooks: Webhooks, demo_order: Order) -> None:
        webhooks.event("auth")
        webhooks.event("capture")
        payload = hook("credit", amount=700)
        payload["data"]["order"] = None  # only the source transaction's reference links it to the order

        assert webhooks.deliver_ok(payload) == ok("applied")
        assert webhooks.order().refunded == 700


class TestReplays:
    """T13: any webhook delivered 10 times leaves the order, ledger, outbox and stock as one delivery did."""

    @pytest.mark.parametrize("name", list(BEFORE))
    def test_ten_deliveries_are_one(self, webhooks: Webhooks, demo_order: Order, aws: AwsStack, name: str) -> None:
        for earlier in BEFORE[name]:
            webhooks.event(earlier)
        assert webhooks.event(name)["statusCode"] == 200
        once = snapshot(aws)

        replies = [webhooks.event(name) for _ in range(9)]

        assert {r["statusCode"] for r in replies} == {200}
        assert {response_body(r)["result"] for r in replies} == {"duplicate"}
        assert snapshot(aws) == once

    def test_a_replayed_recovery_creates_nothing_more(self, webhooks: Webhooks, aws: AwsStack) -> None:
        seed.seed_cart(aws)
        assert webhooks.event("pending")["statusCode"] == 200
        once = snapshot(aws)

        for _ in range(9):
            assert webhooks.event("pending")["statusCode"] == 200

        assert snapshot(aws) == once
        assert len(seed.orders_of_cart(aws, seed.DEMO_CART_ID)) == 1

    def test_a_replay_through_another_request_id_is_still_one(self, webhooks: Webhooks, demo_order: Order) -> None:
        # T17: the key is in the body, not in the transport wrapper
        event = load_event("transaction_webhook/auth.json")
        webhooks.webhook(event)
        event["requestContext"]["requestId"] = "another-request"
        event["headers"]["X-Bolt-Trace-Id"] = "another-trace"

        assert response_body(webhooks.webhook(event)) == ok("duplicate")


class TestPartialMoney:
    """T19, §6.6: captures counted by capture id, credits by credit transaction id."""

    def test_two_partial_captures_then_the_rest(self, webhooks: Webhooks, demo_order: Order, aws: AwsStack) -> None:
        webhooks.event("auth")
        first = ((capture_id(1), 3000),)
        webhooks.deliver_ok(hook("capture", captures=first))
        assert (webhooks.order().status, webhooks.order().captured) == ("partially_captured", 3000)

        # Bolt lists every capture so far: the first is not counted again
        webhooks.deliver_ok(hook("capture", captures=(*first, (capture_id(2), TOTAL - 3000))))

        order = webhooks.order()
        assert (order.status, order.captured) == ("captured", TOTAL)
        assert set(seed.ledger(aws)) >= {f"TX#capture#{capture_id(1)}", f"TX#capture#{capture_id(2)}"}

    def test_two_different_credits_are_both_counted_and_a_duplicate_never(
        self, webhooks: Webhooks, demo_order: Order, aws: AwsStack
    ) -> None:
        webhooks.event("auth")
        webhooks.event("capture")

        webhooks.deliver_ok(hook("credit", amount=1000, credit=credit_id(1)))
        webhooks.deliver_ok(hook("credit", amount=1000, credit=credit_id(2)))  # same amount, another refund
        replay = webhooks.deliver_ok(hook("credit", amount=1000, credit=credit_id(1)))

        assert replay["result"] == "duplicate"
        order = webhooks.order()
        assert (order.status, order.refunded) == ("partially_refunded", 2000)
        credits = {sk: item["amount"] for sk, item in seed.ledger(aws).items() if sk.startswith("TX#credit#")}
        assert credits == {f"TX#credit#{credit_id(1)}": 1000, f"TX#credit#{credit_id(2)}": 1000}

    def test_refunding_everything_captured_is_refunded(self, webhooks: Webhooks, demo_order: Order) -> None:
        webhooks.event("payment")
        webhooks.deliver_ok(hook("credit", amount=TOTAL - 100, credit=credit_id(1)))
        webhooks.deliver_ok(hook("credit", amount=100, credit=credit_id(2)))

        order = webhooks.order()
        assert (order.status, order.refunded) == ("refunded", TOTAL)

    def test_credits_above_the_captures_are_recorded_in_full_and_hold_the_order(
        self, webhooks: Webhooks, demo_order: Order, capsys: Any
    ) -> None:
        webhooks.event("auth")
        webhooks.deliver_ok(hook("capture", captures=((capture_id(1), 3000),)))
        capsys.readouterr()

        webhooks.deliver_ok(hook("credit", amount=2000, credit=credit_id(1)))
        answer = webhooks.deliver_ok(hook("credit", amount=2000, credit=credit_id(2)))

        order = webhooks.order()
        assert (order.captured, order.refunded) == (3000, 4000)  # Bolt's amounts, never trimmed
        assert (order.status, order.hold_reasons, answer["result"]) == (
            "on_hold",
            ["refunded_exceeds_captured"],
            "held",
        )
        assert emitted_metrics(capsys.readouterr().out)["RefundAheadOfCapture"] == 1

    def test_captures_above_the_authorisation_are_recorded_in_full_and_hold_the_order(
        self, webhooks: Webhooks, demo_order: Order, capsys: Any
    ) -> None:
        webhooks.event("auth")
        capsys.readouterr()

        webhooks.deliver_ok(hook("capture", captures=((capture_id(1), TOTAL), (capture_id(2), 500))))

        order = webhooks.order()
        assert (order.authorized, order.captured) == (TOTAL, TOTAL + 500)
        assert (order.status, order.hold_reasons) == ("on_hold", ["captured_exceeds_authorised"])
        metrics = emitted_metrics(capsys.readouterr().out)
        assert (metrics["CaptureExceedsAuthorization"], metrics["OrderHeld"]) == (1, 1)

    def test_a_declined_capture_is_not_counted(self, webhooks: Webhooks, demo_order: Order) -> None:
        webhooks.event("auth")
        payload = hook("capture", captures=((capture_id(1), 3000),))
        payload["data"]["captures"][0]["status"] = "declined"

        webhooks.deliver_ok(payload)

        assert webhooks.order().captured == 0

    def test_a_credit_before_its_capture_is_counted_once_the_capture_arrives(
        self, webhooks: Webhooks, demo_order: Order
    ) -> None:
        webhooks.deliver_ok(hook("credit", amount=1000))
        early = webhooks.order()
        assert (early.refunded, early.hold_reasons) == (1000, ["refunded_exceeds_captured"])

        webhooks.event("capture")

        order = webhooks.order()
        assert (order.captured, order.refunded, order.status) == (TOTAL, 1000, "partially_refunded")
        assert order.holds == []  # the hold left with its cause

    def test_a_credit_arriving_first_does_not_become_the_orders_transaction(
        self, webhooks: Webhooks, demo_order: Order
    ) -> None:
        # the order's transaction reference is what captures, refunds and voids are later asked for on Bolt: it is
        # the payment's, never a refund's own reference
        webhooks.deliver_ok(hook("credit", amount=1000))
        webhooks.event("auth")

        assert webhooks.order().bolt_transaction_reference == bolt_payloads.payment_reference()


class TestTotalsMismatch:
    def test_an_authorised_amount_other_than_the_total_puts_the_order_on_hold(
        self, webhooks: Webhooks, demo_order: Order, aws: AwsStack, capsys: Any
    ) -> None:
        capsys.readouterr()

        response = webhooks.deliver(hook("auth", amount=TOTAL + 500))

        assert response["statusCode"] == 200
        order = webhooks.order()
        assert (order.status, order.hold_reasons) == ("on_hold", ["totals_mismatch"])
        assert emitted_metrics(capsys.readouterr().out)["TotalsMismatch"] == 1
        assert outbox_types(aws)[-1] == "order.on_hold"

    def test_one_cent_off_is_not_a_mismatch(self, webhooks: Webhooks, demo_order: Order, capsys: Any) -> None:
        capsys.readouterr()

        webhooks.deliver_ok(hook("auth", amount=TOTAL - 1))

        assert webhooks.order().status == "authorized"
        assert "TotalsMismatch" not in emitted_metrics(capsys.readouterr().out)

    def test_another_currency_puts_the_order_on_hold(self, webhooks: Webhooks, demo_order: Order, capsys: Any) -> None:
        capsys.readouterr()

        webhooks.deliver_ok(hook("auth", currency="EUR"))

        order = webhooks.order()
        assert (order.status, order.hold_reasons, order.authorized) == ("on_hold", ["currency_mismatch"], 0)
        assert emitted_metrics(capsys.readouterr().out)["TotalsMismatch"] == 1

    def test_an_order_on_hold_stays_on_hold(self, webhooks: Webhooks, demo_order: Order) -> None:
        webhooks.deliver_ok(hook("auth", amount=TOTAL + 500))
        webhooks.event("capture")
        webhooks.event("credit")

        assert webhooks.order().status == "on_hold"


class TestDroppedOrderRecovery:
    """§6.3: order.create never recorded the order, Bolt authorised anyway; pending/payment rebuild it."""

    @pytest.mark.parametrize(("name", "status"), [("pending", "payment_review"), ("payment", "captured")])
    def test_pending_or_payment_create_the_order_from_the_cart_and_reserve_stock(
        self, webhooks: Webhooks, aws: AwsStack, name: str, status: str
    ) -> None:
        seed.seed_cart(aws)

        response = webhooks.event(name)

        assert response["statusCode"] == 200
        assert response_body(response) == ok("applied")
        order = webhooks.order()
        assert order.status == status
        assert order.totals.total == TOTAL
        assert demo_stock_reserved(aws)
        assert seed.cart_item_attributes(aws)["status"] == "ordered"
        assert "order.created" in outbox_types(aws)

    def test_the_recovered_order_keeps_bolts_order_token(self, webhooks: Webhooks, aws: AwsStack) -> None:
        # data.order.token is in the webhook; order.create would have stored it (the back office reads it)
        seed.seed_cart(aws)

        webhooks.event("pending")

        assert webhooks.order().bolt_order_token == bolt_payloads.order_token_for(seed.DEMO_CART_ID)

    def test_a_later_order_create_converges_on_the_recovered_order(self, webhooks: Webhooks, aws: AwsStack) -> None:
        seed.seed_cart(aws)
        webhooks.event("pending")

        response = webhooks.order_create(load_event("order_create/universal_valid.json"))

        assert response_body(response)["data"]["display_id"] == seed.DEMO_ORDER_ID
        assert demo_stock_reserved(aws)

    @pytest.mark.parametrize("name", ["auth", "capture", "void", "credit", "failed_payment", "rejected_irreversible"])
    def test_other_types_wait_while_order_create_may_still_be_running(
        self, webhooks: Webhooks, aws: AwsStack, name: str
    ) -> None:
        seed.seed_cart(aws)

        response = webhooks.event(name)

        assert response["statusCode"] == 503  # order.create may still be running: Bolt retries
        assert seed.orders_table_items(aws, "order") == []
        assert demo_stock_released(aws)

    @pytest.mark.parametrize("name", ["auth", "capture", "credit"])
    def test_money_for_a_cart_we_never_had_gets_an_order_held_as_unknown(
        self, webhooks: Webhooks, aws: AwsStack, name: str
    ) -> None:
        response = webhooks.event(name)

        assert response["statusCode"] == 200
        assert response_body(response) == ok("held")
        order = webhooks.order()
        assert "recovered_unknown_cart" in order.hold_reasons
        assert order.totals.total == TOTAL  # as Bolt's cart says
        assert demo_stock_reserved(aws)  # what Bolt charged for is held in stock

    def test_a_void_for_a_cart_we_never_had_is_kept_for_reconciliation(self, webhooks: Webhooks, aws: AwsStack) -> None:
        response = webhooks.event("void")

        assert response_body(response) == ok("held")
        assert seed.orders_table_items(aws, "order") == []
        assert [item["kind"] for item in seed.orders_table_items(aws, "waiting")] == ["waiting"]

    def test_a_pending_for_a_cart_we_never_had_creates_a_held_order(self, webhooks: Webhooks, aws: AwsStack) -> None:
        response = webhooks.event("pending")

        assert response["statusCode"] == 200
        order = webhooks.order()
        assert (order.status, order.hold_reasons) == ("on_hold", ["recovered_unknown_cart"])
        assert [line.sku for line in order.lines] == [sku for sku, _ in seed.DEMO_ITEMS]
        assert demo_stock_reserved(aws)

    def test_a_recovery_short_of_stock_reserves_what_exists_and_holds(self, webhooks: Webhooks, aws: AwsStack) -> None:
        seed.seed_cart(aws)
        seed.set_product(aws, "TOTE-BLUE", inventory=1)

        response = webhooks.event("pending")

        assert response["statusCode"] == 200
        order = webhooks.order()
        assert order.hold_reasons == ["recovered_short_of_stock:TOTE-BLUE:1"]
        assert order.reserved == {
            "TOTE-BLUE": 1,
            **{sku: units for sku, units in seed.DEMO_ITEMS if sku != "TOTE-BLUE"},
        }
        assert seed.stock(aws, "TOTE-BLUE") == (0, 1)  # never below zero


class TestCancellation:
    """failed_payment / rejected_irreversible before authorisation cancel and give back stock and discount uses."""

    @pytest.fixture
    def discounted_order(self, webhooks: Webhooks) -> Order:
        return webhooks.create_order(seed.DEMO_CART_ID, seed.DEMO_ITEMS, discounts=(("WELCOME10", 1000),))

    @pytest.mark.parametrize("name", ["failed_payment", "rejected_irreversible", "void"])
    def test_cancelling_releases_stock_and_discount_use_once(
        self, webhooks: Webhooks, discounted_order: Order, aws: AwsStack, name: str
    ) -> None:
        assert demo_stock_reserved(aws)
        assert seed.discount_uses(aws, "WELCOME10") == 1
        payload = hook(name, amount=discounted_order.totals.total)

        for _ in range(3):  # T25: the replays release nothing more
            assert webhooks.deliver(payload)["statusCode"] == 200

        order = webhooks.order()
        assert (order.status, order.inventory_reserved) == ("cancelled", False)
        assert demo_stock_released(aws)
        assert seed.discount_uses(aws, "WELCOME10") == 0

    def test_failed_payment_then_rejected_irreversible_release_once(
        self, webhooks: Webhooks, discounted_order: Order, aws: AwsStack
    ) -> None:
        webhooks.event("rejected_irreversible")
        webhooks.event("failed_payment")  # §4.1: it can arrive after rejected_irreversible

        assert demo_stock_released(aws)
        assert seed.discount_uses(aws, "WELCOME10") == 0

    def test_a_decline_after_authorisation_cancels_nothing(
        self, webhooks: Webhooks, demo_order: Order, aws: AwsStack, capsys: Any
    ) -> None:
        webhooks.event("auth")
        capsys.readouterr()

        assert webhooks.event("failed_payment")["statusCode"] == 200

        order = webhooks.order()
        assert (order.phase, order.hold_reasons) == ("authorized", ["decline_after_authorisation"])
        assert demo_stock_reserved(aws)
        assert emitted_metrics(capsys.readouterr().out)["IllegalTransitionAfterTerminal"] == 1

    @pytest.mark.parametrize(
        ("terminal", "late"),
        [("void", "capture"), ("void", "auth"), ("rejected_irreversible", "auth"), ("failed_payment", "payment")],
    )
    def test_money_after_a_cancellation_is_recorded_and_holds_the_order(
        self, webhooks: Webhooks, demo_order: Order, aws: AwsStack, capsys: Any, terminal: str, late: str
    ) -> None:
        # T23: the cancellation stands (stock stays given back) and the late money-moving event is recorded, not
        # absorbed: Bolt holds or took money, so the order is held for a person, with an alert
        if terminal == "void":
            webhooks.event("pending")
        webhooks.event(terminal)
        capsys.readouterr()

        response = webhooks.event(late)

        assert response_body(response) == {**ok("held"), "display_id": seed.DEMO_ORDER_ID}
        order = webhooks.order()
        assert (order.phase, order.hold_reasons) == ("cancelled", ["money_after_terminal_state"])
        assert order.authorized == TOTAL
        metrics = emitted_metrics(capsys.readouterr().out)
        assert (metrics["IllegalTransitionAfterTerminal"], metrics["OrderHeld"]) == (1, 1)
        assert demo_stock_released(aws)


class TestIgnoredAndRejected:
    @pytest.mark.parametrize("name", ["newsletter_subscription", "risk_insights"])
    def test_non_transaction_types_are_acknowledged_without_any_read_or_write(
        self, webhooks: Webhooks, demo_order: Order, dynamodb_calls: CallCounter, capsys: Any, name: str
    ) -> None:
        dynamodb_calls.reset()
        capsys.readouterr()

        response = webhooks.event(name)

        assert response["statusCode"] == 200
        assert response_body(response) == ok("ignored", None)
        assert dynamodb_calls.count() == 0
        assert emitted_metrics(capsys.readouterr().out)["WebhookIgnored"] == 1

    @pytest.mark.parametrize("kind", ["foo.bar", "credit_card_deleted", "PAYMENT", ""])
    def test_unknown_types_are_acknowledged_and_ignored(self, webhooks: Webhooks, demo_order: Order, kind: str) -> None:
        payload = hook("auth")
        payload["type"] = kind

        assert webhooks.deliver_ok(payload) == ok("ignored", None)
        assert webhooks.order().status == "pending_payment"

    def test_a_bad_signature_is_a_401_without_touching_dynamodb(
        self, webhooks: Webhooks, demo_order: Order, dynamodb_calls: CallCounter
    ) -> None:
        dynamodb_calls.reset()

        response = webhooks.event("bad_signature")

        assert response["statusCode"] == 401
        assert response_body(response) == expect.SIGNATURE_REJECTED
        assert dynamodb_calls.count() == 0
        assert webhooks.order().status == "pending_payment"

    def test_an_unsigned_webhook_is_a_401_without_touching_dynamodb(
        self, webhooks: Webhooks, dynamodb_calls: CallCounter
    ) -> None:
        event = load_event("transaction_webhook/auth.json")
        del event["headers"]["X-Bolt-Hmac-Sha256"]
        del event["multiValueHeaders"]["X-Bolt-Hmac-Sha256"]

        assert webhooks.webhook(event)["statusCode"] == 401
        assert dynamodb_calls.count() == 0

    def test_a_schema_invalid_webhook_is_a_422_without_writes(
        self, webhooks: Webhooks, demo_order: Order, aws: AwsStack
    ) -> None:
        before = snapshot(aws)

        response = webhooks.event("schema_invalid")

        assert response["statusCode"] == 422
        assert response_body(response) == {
            "status": "failure",
            "error": {"code": 6009, "message": "Invalid or missing fields: data.amount"},
        }
        assert snapshot(aws) == before

    @pytest.mark.parametrize(
        "payload",
        [
            {"object": "transaction", "data": {}},
            {"type": 7, "object": "transaction", "data": {}},
            {"type": "auth", "object": "transaction", "data": {"amount": -5}},
            {"type": "auth", "object": "transaction", "data": {"captures": [{"status": "succeeded"}]}},
            {"id": "TA1", "amount": 100},
        ],
        ids=["no-type", "numeric-type", "negative-amount", "capture-without-id", "legacy-without-type"],
    )
    def test_other_invalid_shapes_are_422(self, webhooks: Webhooks, payload: dict[str, Any]) -> None:
        response = webhooks.deliver(payload)

        assert response["statusCode"] == 422
        assert response_body(response)["error"]["code"] == 6009

    @pytest.mark.parametrize("body", [b"not json", b"[]", b""], ids=["text", "array", "empty"])
    def test_a_body_that_is_not_a_json_object_is_a_400(self, webhooks: Webhooks, body: bytes) -> None:
        assert webhooks.webhook(signed_event("transaction_webhook", body))["statusCode"] == 400
