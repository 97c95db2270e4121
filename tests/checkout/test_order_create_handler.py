"""POST /bolt/order/create (order.create, pre-authorisation) through the handler: the order, the reservation, every
2001xxx code, idempotency and races."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from bolt_merchant.checkout.carts import StoredCart

from devstack import bolt_payloads
from tests import expect, seed
from tests.support import (
    AwsStack,
    CallCounter,
    HookFunction,
    demo_products,
    load_event,
    load_handler,
    response_body,
    signed_event,
)

VALID = "order_create/universal_valid.json"
DEMO_ORDER = seed.DEMO_ORDER_ID
ORDER_URL = f"https://shop.example.com/checkout/success?order={DEMO_ORDER}"


def created(order_id: str = DEMO_ORDER, total: int = bolt_payloads.DEMO_TOTAL) -> dict[str, Any]:
    return expect.success(
        "order.create",
        {
            "display_id": order_id,
            "order_received_url": f"https://shop.example.com/checkout/success?order={order_id}",
            "total": total,
        },
    )


def refused(code: int, message: str) -> dict[str, Any]:
    return expect.failure("order.create", code, message)


def demo_order_cart(**changes: Any) -> dict[str, Any]:
    """Bolt's cart for the demo cart (what events/order_create/universal_valid.json carries), changed."""
    return {**bolt_payloads.order_cart(), **changes}


def assert_nothing_written(
    aws: AwsStack, order_id: str = DEMO_ORDER, cart_id: str = seed.DEMO_CART_ID, *, stock: bool = True
) -> None:
    assert seed.stored_order(aws, order_id) is None
    assert seed.cart_item_attributes(aws, cart_id)["status"] == "open"
    assert seed.partition(aws, order_id) == {}
    if not stock:
        return
    for sku, product in demo_products().items():
        if sku != "TOTE-BLUE":  # some tests change the totes' stock themselves
            assert seed.stock(aws, sku) == (product.inventory, 0), sku


class TestCreated:
    def test_the_event_creates_the_order_pending_payment(
        self, order_create: HookFunction, demo_cart: StoredCart, aws: AwsStack
    ) -> None:
        response = order_create(load_event(VALID))

        assert response["statusCode"] == 200
        assert response_body(response) == created()
        order = seed.stored_order(aws)
        assert order is not None
        assert order.status == "pending_payment"
        assert order.phase == "pending_payment"
        assert order.cart_id == seed.DEMO_CART_ID
        assert [(line.sku, line.quantity, line.unit_price) for line in order.lines] == [
            ("TOTE-BLUE", 2, 2400),
            ("MUG-12OZ", 1, 1600),
        ]
        assert order.totals.model_dump() == {
            "subtotal": bolt_payloads.DEMO_SUBTOTAL,
            "discount": 0,
            "shipping": 599,
            "tax": bolt_payloads.DEMO_TAX,
            "total": bolt_payloads.DEMO_TOTAL,
        }
        assert order.shipping is not None
        assert (order.shipping.reference, order.shipping.cost) == ("standard", 599)
        assert order.bolt_order_token == bolt_payloads.order_token_for(seed.DEMO_CART_ID)
        assert order.contact_email == bolt_payloads.SF_ADDRESS["email"]
        assert order.inventory_reserved
        assert seed.order_item_attributes(aws)["status"] == "pending_payment"

    def test_inventory_is_reserved(self, order_create: HookFunction, demo_cart: StoredCart, aws: AwsStack) -> None:
        products = demo_products()

        order_create(load_event(VALID))

        assert seed.stock(aws, "TOTE-BLUE") == (products["TOTE-BLUE"].inventory - 2, 2)
        assert seed.stock(aws, "MUG-12OZ") == (products["MUG-12OZ"].inventory - 1, 1)
        assert seed.stock(aws, "HOODIE-M") == (products["HOODIE-M"].inventory, 0)

    def test_the_cart_is_closed(self, order_create: HookFunction, demo_cart: StoredCart, aws: AwsStack) -> None:
        order_create(load_event(VALID))

        attributes = seed.cart_item_attributes(aws)
        assert (attributes["status"], attributes["order_id"]) == ("ordered", DEMO_ORDER)

    def test_the_stored_cart_document_says_it_is_ordered(
        self, order_create: HookFunction, demo_cart: StoredCart, aws: AwsStack
    ) -> None:
        # get_cart() rebuilds the cart from its stored document: what every later hook reads
        order_create(load_event(VALID))

        cart = seed.stored_cart(aws)
        assert cart is not None
        assert (cart.status, cart.order_id) == ("ordered", DEMO_ORDER)

    def test_an_outbox_event_is_written_with_the_order(
        self, order_create: HookFunction, demo_cart: StoredCart, aws: AwsStack
    ) -> None:
        order_create(load_event(VALID))

        [(sk, event)] = seed.outbox(aws).items()
        assert sk == f"EVENT#{DEMO_ORDER}:order.created"
        assert (event.event_type, event.order_id) == ("order.created", DEMO_ORDER)
        assert event.detail == {"status": "pending_payment", "total": bolt_payloads.DEMO_TOTAL}

    def test_the_legacy_body_is_answered_without_the_envelope(
        self, order_create: HookFunction, demo_cart: StoredCart
    ) -> None:
        response = order_create(load_event("order_create/legacy_valid.json"))

        assert response["statusCode"] == 200
        body = response_body(response)
        assert "event" not in body
        assert body == {"status": "success", **created()["data"]}

    def test_a_discount_use_is_counted(self, order_create: HookFunction, aws: AwsStack) -> None:
        seed.seed_cart(aws)
        cart = seed.valid_order_cart(seed.DEMO_CART_ID, seed.DEMO_ITEMS, discounts=(("WELCOME10", 1000),))

        response = order_create(seed.order_create_event(cart))

        assert response_body(response) == created(total=bolt_payloads.DEMO_TOTAL - 1000)
        assert seed.discount_uses(aws, "WELCOME10") == 1
        order = seed.stored_order(aws)
        assert order is not None
        assert [(d.code, d.amount) for d in order.discounts] == [("WELCOME10", 1000)]

    def test_free_shipping_and_a_fixed_amount_together(self, order_create: HookFunction, aws: AwsStack) -> None:
        seed.seed_cart(aws)
        cart = seed.valid_order_cart(
            seed.DEMO_CART_ID, seed.DEMO_ITEMS, discounts=(("WELCOME10", 1000), ("FREESHIP", 599))
        )

        response = order_create(seed.order_create_event(cart))

        assert response["statusCode"] == 200
        assert seed.discount_uses(aws, "WELCOME10") == seed.discount_uses(aws, "FREESHIP") == 1

    def test_a_digital_cart_needs_no_shipping(self, order_create: HookFunction, aws: AwsStack) -> None:
        seed.seed_cart(aws, "c_gift", (("GIFT-25", 2),))
        cart = seed.valid_order_cart("c_gift", (("GIFT-25", 2),), shipping=None)

        response = order_create(seed.order_create_event(cart))

        assert response_body(response) == created(seed.order_id_for("c_gift"), 5000)

    def test_pickup_in_store(self, order_create: HookFunction, aws: AwsStack) -> None:
        seed.seed_cart(aws)
        lines = bolt_payloads.DEMO_LINES
        cart = bolt_payloads.order_cart(shipping=("store-sf", "Union Square Store", 0), tax=bolt_payloads.DEMO_TAX)
        assert [line[0] for line in lines] == ["TOTE-BLUE", "MUG-12OZ"]

        response = order_create(seed.order_create_event(cart))

        assert response_body(response) == created(total=bolt_payloads.DEMO_SUBTOTAL + bolt_payloads.DEMO_TAX)


class TestTotals:
    @pytest.mark.parametrize("off_by", [1, -1], ids=["plus-1", "minus-1"])
    def test_a_total_within_one_cent_is_accepted(
        self, order_create: HookFunction, demo_cart: StoredCart, aws: AwsStack, off_by: int
    ) -> None:
        cart = bolt_payloads.order_cart(total=bolt_payloads.DEMO_TOTAL + off_by)

        response = order_create(seed.order_create_event(cart))

        assert response_body(response) == created()  # our total, not Bolt's
        order = seed.stored_order(aws)
        assert order is not None
        assert order.totals.total == bolt_payloads.DEMO_TOTAL

    @pytest.mark.parametrize("off_by", [2, -2, 100], ids=["plus-2", "minus-2", "plus-100"])
    def test_a_total_off_by_more_than_a_cent_is_2001004(
        self, order_create: HookFunction, demo_cart: StoredCart, aws: AwsStack, off_by: int
    ) -> None:
        cart = bolt_payloads.order_cart(total=bolt_payloads.DEMO_TOTAL + off_by)

        response = order_create(seed.order_create_event(cart))

        assert response["statusCode"] == 422
        assert response_body(response) == refused(2001004, "Your cart total has changed; please try again")
        assert_nothing_written(aws)

    def test_a_tax_mismatch_is_2001004(self, order_create: HookFunction, demo_cart: StoredCart, aws: AwsStack) -> None:
        cart = bolt_payloads.order_cart(tax=bolt_payloads.DEMO_TAX + 5)

        response = order_create(seed.order_create_event(cart))

        assert response["statusCode"] == 422
        assert response_body(response) == refused(2001004, "The tax for your cart has changed; please try again")
        assert_nothing_written(aws)


class TestRefused:
    """Each order.create failure code, driven through the handler; none of them writes anything."""

    def test_an_unknown_cart_is_2001003(self, order_create: HookFunction, aws: AwsStack) -> None:
        response = order_create(load_event(VALID))  # the demo cart was never stored

        assert response["statusCode"] == 422
        assert response_body(response) == refused(2001003, "Your session timed out; please refresh your cart")
        assert seed.stored_order(aws) is None

    def test_an_expired_cart_is_2001003(self, order_create: HookFunction, aws: AwsStack) -> None:
        seed.seed_cart(aws, expires_at=datetime(2025, 1, 1, tzinfo=UTC))

        response = order_create(load_event(VALID))

        assert response_body(response)["error"]["code"] == 2001003
        assert_nothing_written(aws)

    def test_a_cart_without_order_reference_is_2001003(self, order_create: HookFunction) -> None:
        response = order_create(seed.order_create_event(demo_order_cart(order_reference="")))

        assert response_body(response) == refused(2001003, "The cart has no order_reference")

    def test_a_catalog_price_change_after_the_cart_was_created_is_2001004(
        self, order_create: HookFunction, demo_cart: StoredCart, aws: AwsStack
    ) -> None:
        seed.set_product(aws, "TOTE-BLUE", unit_price=2600)

        response = order_create(load_event(VALID))

        assert response["statusCode"] == 422
        assert response_body(response) == refused(2001004, "Item details were out of date; please try again")
        assert_nothing_written(aws)

    def test_a_stale_price_in_bolts_cart_is_2001004(
        self, order_create: HookFunction, demo_cart: StoredCart, aws: AwsStack
    ) -> None:
        response = order_create(load_event("order_create/price_changed.json"))

        assert response_body(response) == refused(2001004, "Item details were out of date; please try again")
        assert_nothing_written(aws)

    @pytest.mark.parametrize(
        "items",
        [
            (("TOTE-BLUE", 3), ("MUG-12OZ", 1)),
            (("TOTE-BLUE", 2),),
            (("TOTE-BLUE", 2), ("MUG-12OZ", 1), ("HOODIE-M", 1)),
            (("TOTE-BLUE", 2), ("HOODIE-M", 1)),
        ],
        ids=["more", "item-missing", "item-added", "item-swapped"],
    )
    def test_items_or_quantities_that_differ_from_our_cart_are_2001004(
        self, order_create: HookFunction, demo_cart: StoredCart, aws: AwsStack, items: tuple[tuple[str, int], ...]
    ) -> None:
        cart = seed.valid_order_cart(seed.DEMO_CART_ID, items)  # consistent in itself, but not our cart

        response = order_create(seed.order_create_event(cart))

        assert response_body(response) == refused(2001004, "Item details were out of date; please try again")

    def test_out_of_stock_since_the_cart_was_created_is_2001005(
        self, order_create: HookFunction, demo_cart: StoredCart, aws: AwsStack
    ) -> None:
        seed.set_product(aws, "TOTE-BLUE", inventory=1)

        response = order_create(load_event(VALID))

        assert response["statusCode"] == 422
        assert response_body(response) == refused(2001005, "Item TOTE-BLUE is no longer available")
        assert_nothing_written(aws)
        assert seed.stock(aws, "TOTE-BLUE") == (1, 0)

    def test_a_code_at_its_usage_limit_is_2001006(self, order_create: HookFunction, aws: AwsStack) -> None:
        for cart_id in ("c_first", "c_second"):
            seed.seed_cart(aws, cart_id)
        first, second = (
            seed.valid_order_cart(cart_id, seed.DEMO_ITEMS, discounts=(("ONEUSE", 300),))
            for cart_id in ("c_first", "c_second")
        )
        assert order_create(seed.order_create_event(first))["statusCode"] == 200

        response = order_create(seed.order_create_event(second))

        assert response["statusCode"] == 422
        assert response_body(response) == refused(2001006, "The coupon code ONEUSE has reached its usage limit")
        assert_nothing_written(aws, seed.order_id_for("c_second"), "c_second", stock=False)
        assert seed.discount_uses(aws, "ONEUSE") == 1

    def test_a_minimum_no_longer_met_is_2001006(self, order_create: HookFunction, demo_cart: StoredCart) -> None:
        cart = seed.valid_order_cart(seed.DEMO_CART_ID, seed.DEMO_ITEMS, discounts=(("SAVE15", 960),))

        response = order_create(seed.order_create_event(cart))

        assert response_body(response)["error"]["code"] == 2001006

    def test_an_expired_code_is_2001006(self, order_create: HookFunction, demo_cart: StoredCart) -> None:
        cart = seed.valid_order_cart(seed.DEMO_CART_ID, seed.DEMO_ITEMS, discounts=(("EXPIRED5", 500),))

        assert response_body(order_create(seed.order_create_event(cart)))["error"]["code"] == 2001006

    def test_a_discount_amount_that_differs_from_ours_is_2001006(
        self, order_create: HookFunction, demo_cart: StoredCart
    ) -> None:
        cart = seed.valid_order_cart(seed.DEMO_CART_ID, seed.DEMO_ITEMS, discounts=(("WELCOME10", 1500),))

        response = order_create(seed.order_create_event(cart))

        assert response_body(response) == refused(2001006, "The coupon code WELCOME10 no longer applies")

    def test_an_unknown_code_is_2001007(self, order_create: HookFunction, demo_cart: StoredCart, aws: AwsStack) -> None:
        cart = seed.valid_order_cart(seed.DEMO_CART_ID, seed.DEMO_ITEMS, discounts=(("NOSUCHCODE", 500),))

        response = order_create(seed.order_create_event(cart))

        assert response["statusCode"] == 422
        assert response_body(response) == refused(2001007, "The coupon code NOSUCHCODE is not found")
        assert_nothing_written(aws)

    def test_a_shipping_cost_that_changed_is_2001008(
        self, order_create: HookFunction, demo_cart: StoredCart, aws: AwsStack
    ) -> None:
        cart = bolt_payloads.order_cart(shipping=("standard", "Standard (5-7 days)", 499))

        response = order_create(seed.order_create_event(cart))

        assert response["statusCode"] == 422
        assert response_body(response) == refused(2001008, "The shipping amount for your cart has changed")
        assert_nothing_written(aws)

    def test_an_option_we_do_not_offer_is_2001008(self, order_create: HookFunction, demo_cart: StoredCart) -> None:
        cart = bolt_payloads.order_cart(shipping=("teleport", "Teleport", 599))

        response = order_create(seed.order_create_event(cart))

        assert response_body(response)["error"]["code"] == 2001008

    def test_no_shipping_chosen_for_physical_items_is_2001008(
        self, order_create: HookFunction, demo_cart: StoredCart
    ) -> None:
        cart = bolt_payloads.order_cart(shipping=None)

        response = order_create(seed.order_create_event(cart))

        assert response_body(response) == refused(2001008, "No shipping option was chosen")

    def test_an_order_cancelled_after_a_declined_payment_is_2001010(
        self,
        order_create: HookFunction,
        hook_function: Callable[[str], HookFunction],
        demo_cart: StoredCart,
        aws: AwsStack,
    ) -> None:
        assert order_create(load_event(VALID))["statusCode"] == 200
        webhook = hook_function("transaction_webhook")
        assert webhook(load_event("transaction_webhook/failed_payment.json"))["statusCode"] == 200

        response = order_create(load_event(VALID))

        assert response["statusCode"] == 422
        assert response_body(response) == refused(2001010, "This order was cancelled after a declined payment")
        order = seed.stored_order(aws)
        assert order is not None
        assert order.status == "cancelled"

    def test_an_existing_order_with_a_different_total_is_2001002(
        self, order_create: HookFunction, demo_cart: StoredCart, aws: AwsStack
    ) -> None:
        assert order_create(load_event(VALID))["statusCode"] == 200
        cart = bolt_payloads.order_cart(total=bolt_payloads.DEMO_TOTAL + 500)

        response = order_create(seed.order_create_event(cart))

        assert response["statusCode"] == 422
        assert response_body(response) == refused(2001002, "An order with a different total exists for this cart")
        order = seed.stored_order(aws)
        assert order is not None
        assert order.totals.total == bolt_payloads.DEMO_TOTAL

    def test_schema_invalid_is_a_422_with_2001001(self, order_create: HookFunction, aws: AwsStack) -> None:
        payload = seed.order_create_payload(bolt_payloads.order_cart())
        payload["data"]["order"]["cart"]["items"][0]["quantity"] = 0

        response = order_create(signed_event("order_create", payload))

        assert response["statusCode"] == 422
        assert response_body(response) == refused(2001001, "Invalid or missing fields: order.cart.items.0.quantity")

    def test_a_bad_signature_is_a_401_without_touching_dynamodb(
        self, order_create: HookFunction, demo_cart: StoredCart, dynamodb_calls: CallCounter, aws: AwsStack
    ) -> None:
        response = order_create(load_event("order_create/bad_signature.json"))

        assert response["statusCode"] == 401
        assert response_body(response) == expect.SIGNATURE_REJECTED
        assert dynamodb_calls.count() == 0
        assert seed.stored_order(aws) is None


class TestIdempotent:
    def test_the_same_order_create_twice_returns_the_same_display_id(
        self, order_create: HookFunction, demo_cart: StoredCart, aws: AwsStack
    ) -> None:
        first = order_create(load_event(VALID))
        second = order_create(load_event(VALID))

        assert response_body(first) == response_body(second) == created()
        assert seed.stock(aws, "TOTE-BLUE") == (demo_products()["TOTE-BLUE"].inventory - 2, 2)
        assert len(seed.orders_table_items(aws, "order")) == 1
        assert len(seed.outbox(aws)) == 1

    def test_a_repeat_after_the_order_moved_on_still_answers_the_same_order(
        self,
        order_create: HookFunction,
        hook_function: Callable[[str], HookFunction],
        demo_cart: StoredCart,
    ) -> None:
        # Bolt re-sends order.create after a timeout while the auth webhook was already applied (reference §6.1)
        assert order_create(load_event(VALID))["statusCode"] == 200
        assert hook_function("transaction_webhook")(load_event("transaction_webhook/auth.json"))["statusCode"] == 200

        assert response_body(order_create(load_event(VALID))) == created()

    def test_a_repeat_within_one_cent_is_the_same_order(
        self, order_create: HookFunction, demo_cart: StoredCart
    ) -> None:
        order_create(load_event(VALID))
        cart = bolt_payloads.order_cart(total=bolt_payloads.DEMO_TOTAL - 1)

        assert response_body(order_create(seed.order_create_event(cart))) == created()

    def test_universal_and_legacy_deliveries_are_the_same_order(
        self, order_create: HookFunction, demo_cart: StoredCart, aws: AwsStack
    ) -> None:
        universal = response_body(order_create(load_event(VALID)))
        legacy = response_body(order_create(load_event("order_create/legacy_valid.json")))

        assert universal["data"]["display_id"] == legacy["display_id"] == DEMO_ORDER
        assert len(seed.orders_table_items(aws, "order")) == 1


class TestConcurrency:
    """T15/T21 and the LAST-ONE race. Each thread has its own copy of the handler module, as each Lambda container
    does (a Powertools resolver keeps per-request state, so one copy must never serve two requests at once)."""

    DELIVERIES = 50

    def test_50_identical_deliveries_give_one_order_and_one_reservation(
        self, aws: AwsStack, demo_cart: StoredCart, lambda_context: Any
    ) -> None:
        aws.use_function("order_create")
        handlers = [load_handler("order_create") for _ in range(self.DELIVERIES)]
        event = load_event(VALID)

        with seed.serialised_moto():
            responses = seed.run_concurrently(
                [lambda handler=handler: handler(dict(event), lambda_context) for handler in handlers]
            )

        statuses = sorted({r["statusCode"] for r in responses})
        assert statuses == [200], [response_body(r) for r in responses if r["statusCode"] != 200][:3]
        assert {response_body(r)["data"]["display_id"] for r in responses} == {DEMO_ORDER}
        assert len(seed.orders_of_cart(aws, seed.DEMO_CART_ID)) == 1
        products = demo_products()
        assert seed.stock(aws, "TOTE-BLUE") == (products["TOTE-BLUE"].inventory - 2, 2)
        assert seed.stock(aws, "MUG-12OZ") == (products["MUG-12OZ"].inventory - 1, 1)
        assert len(seed.outbox(aws)) == 1

    @pytest.mark.parametrize("trial", range(5))
    def test_two_carts_racing_for_the_last_unit_give_one_success_and_one_2001005(
        self, aws: AwsStack, lambda_context: Any, trial: int
    ) -> None:
        aws.use_function("order_create")
        carts = [f"c_race{trial}a", f"c_race{trial}b"]
        events = []
        for cart_id in carts:
            seed.seed_cart(aws, cart_id, (("LAST-ONE", 1),))
            events.append(seed.order_create_event(seed.valid_order_cart(cart_id, (("LAST-ONE", 1),))))
        handlers = [load_handler("order_create") for _ in carts]

        with seed.serialised_moto():
            responses = seed.run_concurrently(
                [
                    lambda handler=handler, event=event: handler(event, lambda_context)
                    for handler, event in zip(handlers, events, strict=True)
                ]
            )

        codes = sorted((r["statusCode"], response_body(r).get("error", {}).get("code")) for r in responses)
        assert codes == [(200, None), (422, 2001005)]
        winner = next(cart for cart, r in zip(carts, responses, strict=True) if r["statusCode"] == 200)
        loser = next(cart for cart in carts if cart != winner)
        assert len(seed.orders_of_cart(aws, winner)) == 1
        assert seed.orders_of_cart(aws, loser) == []
        assert seed.cart_item_attributes(aws, loser)["status"] == "open"
        assert seed.stock(aws, "LAST-ONE") == (0, 1)

    def test_the_loser_gets_2001005_even_when_it_arrives_later(self, order_create: HookFunction, aws: AwsStack) -> None:
        for cart_id in ("c_early", "c_late"):
            seed.seed_cart(aws, cart_id, (("LAST-ONE", 1),))
        early, late = (
            seed.order_create_event(seed.valid_order_cart(cart_id, (("LAST-ONE", 1),)))
            for cart_id in ("c_early", "c_late")
        )

        assert order_create(early)["statusCode"] == 200
        response = order_create(late)

        assert response_body(response) == refused(2001005, "Item LAST-ONE is no longer available")
        assert seed.stock(aws, "LAST-ONE") == (0, 1)
