"""POST /bolt/discounts/apply (discounts.code.apply) through the handler: each discount type, each 62xx code."""

from typing import Any

import pytest
from bolt_merchant.catalog.models import Discount
from bolt_merchant.checkout.carts import StoredCart

from devstack import bolt_payloads
from tests import expect, seed
from tests.support import AwsStack, CallCounter, HookFunction, event_body, load_event, response_body, signed_event

WELCOME = "discounts/universal_welcome10.json"
HOODIES = (("HOODIE-M", 2),)  # 13600: over SAVE15's minimum, free standard shipping


def apply(code: str | None, cart: dict[str, Any] | None = None) -> dict[str, Any]:
    data = bolt_payloads.discount_apply(code or "", cart)
    if code is None:
        del data["discount_code"]
    return signed_event("discounts", bolt_payloads.universal("discounts.code.apply", data))


def applied(code: str, amount: int, description: str, kind: str) -> dict[str, Any]:
    return expect.success(
        "discounts.code.apply",
        {
            "discount_code": code,
            "discount_amount": amount,
            "discount_description": description,
            "discount_type": kind,
            "discount_category": "coupon",
        },
    )


def refused(code: int, message: str) -> dict[str, Any]:
    return expect.failure("discounts.code.apply", code, message)


class TestEachType:
    def test_fixed_amount_from_the_event(self, discounts: HookFunction, demo_cart: StoredCart) -> None:
        response = discounts(load_event(WELCOME))

        assert response["statusCode"] == 200
        assert response_body(response) == applied("WELCOME10", 1000, "$10 off your first order", "fixed_amount")

    def test_the_legacy_body_is_answered_without_the_envelope(self, discounts: HookFunction) -> None:
        response = discounts(load_event("discounts/legacy_welcome10.json"))

        assert response["statusCode"] == 200
        body = response_body(response)
        assert "event" not in body
        assert body == expect.success(
            "discounts.code.apply",
            applied("WELCOME10", 1000, "$10 off your first order", "fixed_amount")["data"],
            False,
        )

    def test_the_code_is_matched_case_and_space_insensitively(self, discounts: HookFunction) -> None:
        body = response_body(discounts(apply("  welcome10 ")))

        assert body["data"]["discount_code"] == "WELCOME10"

    def test_the_code_may_come_inside_the_cart(self, discounts: HookFunction) -> None:
        cart = bolt_payloads.order_cart()
        cart["discount_code"] = "WELCOME10"

        assert response_body(discounts(apply(None, cart)))["data"]["discount_amount"] == 1000

    def test_percentage_over_its_minimum(self, discounts: HookFunction) -> None:
        cart = seed.valid_order_cart("c_hoodies", HOODIES)
        subtotal = expect.subtotal([{"sku": "HOODIE-M", "quantity": 2}])

        response = discounts(apply("SAVE15", cart))

        assert response["statusCode"] == 200
        assert response_body(response) == applied(
            "SAVE15", subtotal * 15 // 100, "15% off orders over $100", "percentage"
        )

    def test_percentage_exactly_at_its_minimum(self, discounts: HookFunction, aws: AwsStack) -> None:
        # SAVE15 needs a subtotal of 10000: four mugs at 2500
        seed.set_product(aws, "MUG-12OZ", unit_price=2500)
        cart = bolt_payloads.order_cart("c_min", (("MUG-12OZ", "Stoneware Mug 12oz", 4, 2500),), tax=725)

        assert response_body(discounts(apply("SAVE15", cart)))["data"]["discount_amount"] == 1500

    @pytest.mark.parametrize(("shipping", "cost"), [("standard", 599), ("express", 1599), ("overnight", 3499)], ids=str)
    def test_free_shipping_is_the_chosen_option_cost(self, discounts: HookFunction, shipping: str, cost: int) -> None:
        cart = seed.valid_order_cart(seed.DEMO_CART_ID, seed.DEMO_ITEMS, shipping=shipping)

        response = discounts(apply("FREESHIP", cart))

        assert response_body(response) == applied("FREESHIP", cost, "Free standard shipping", "free_shipping")

    def test_free_shipping_when_shipping_is_already_free_is_zero(self, discounts: HookFunction) -> None:
        cart = seed.valid_order_cart("c_hoodies", HOODIES, shipping="standard")

        assert response_body(discounts(apply("FREESHIP", cart)))["data"]["discount_amount"] == 0

    def test_free_shipping_before_an_option_is_chosen_is_zero(self, discounts: HookFunction) -> None:
        cart = seed.valid_order_cart(seed.DEMO_CART_ID, seed.DEMO_ITEMS, shipping=None)

        assert response_body(discounts(apply("FREESHIP", cart)))["data"]["discount_amount"] == 0

    def test_free_shipping_trusts_our_price_not_the_cost_bolt_sends(self, discounts: HookFunction) -> None:
        cart = seed.valid_order_cart(seed.DEMO_CART_ID, seed.DEMO_ITEMS, shipping="express")
        cart["shipments"][0]["cost"] = bolt_payloads.money(99_999)

        assert response_body(discounts(apply("FREESHIP", cart)))["data"]["discount_amount"] == 1599


class TestCeiling:
    """Bolt refuses a discount above items + shipping + tax (reference §3.6)."""

    @pytest.fixture
    def big_discounts(self, aws: AwsStack) -> None:
        seed.add_discounts(
            aws,
            [
                Discount(code="HUGE", type="fixed_amount", amount=1_000_000, description="Too generous"),
                Discount(code="ALL100", type="percentage", percent=100, description="Everything free"),
            ],
        )

    @pytest.mark.usefixtures("big_discounts")
    def test_a_fixed_amount_above_the_cart_is_capped_at_items_shipping_and_tax(self, discounts: HookFunction) -> None:
        cart = bolt_payloads.order_cart()

        amount = response_body(discounts(apply("HUGE", cart)))["data"]["discount_amount"]

        assert amount == bolt_payloads.DEMO_SUBTOTAL + 599 + bolt_payloads.DEMO_TAX == bolt_payloads.DEMO_TOTAL

    @pytest.mark.usefixtures("big_discounts")
    def test_a_digital_cart_caps_at_its_items(self, discounts: HookFunction) -> None:
        cart = seed.valid_order_cart("c_gift", (("GIFT-25", 1),), shipping=None)

        assert response_body(discounts(apply("HUGE", cart)))["data"]["discount_amount"] == 2500

    @pytest.mark.usefixtures("big_discounts")
    def test_a_hundred_percent_is_the_subtotal(self, discounts: HookFunction) -> None:
        amount = response_body(discounts(apply("ALL100", bolt_payloads.order_cart())))["data"]["discount_amount"]

        assert amount == bolt_payloads.DEMO_SUBTOTAL


class TestFailures:
    def test_an_unknown_code_is_6201(self, discounts: HookFunction) -> None:
        response = discounts(load_event("discounts/unknown_code.json"))

        assert response["statusCode"] == 422
        assert response_body(response) == refused(6201, "The coupon code NOSUCHCODE is not found")

    def test_an_expired_code_is_6202(self, discounts: HookFunction) -> None:
        response = discounts(load_event("discounts/expired_code.json"))

        assert response["statusCode"] == 422
        assert response_body(response) == refused(6202, "The coupon code EXPIRED5 has expired")

    def test_a_code_not_active_yet_is_6203(self, discounts: HookFunction) -> None:
        response = discounts(apply("FUTURE20"))

        assert response["statusCode"] == 422
        assert response_body(response) == refused(6203, "The coupon code FUTURE20 is not active yet")

    def test_a_single_use_code_consumed_by_an_order_is_6204(
        self, discounts: HookFunction, order_create: HookFunction, aws: AwsStack
    ) -> None:
        assert response_body(discounts(apply("ONEUSE")))["data"]["discount_amount"] == 300
        seed.seed_cart(aws, "c_first")
        first = seed.valid_order_cart("c_first", seed.DEMO_ITEMS, discounts=(("ONEUSE", 300),))
        assert order_create(seed.order_create_event(first))["statusCode"] == 200
        assert seed.discount_uses(aws, "ONEUSE") == 1

        response = discounts(apply("ONEUSE", seed.valid_order_cart("c_second", seed.DEMO_ITEMS)))

        assert response["statusCode"] == 422
        assert response_body(response) == refused(6204, "The coupon code ONEUSE has reached its usage limit")

    def test_a_cart_whose_order_was_created_takes_no_more_codes(
        self, discounts: HookFunction, order_create: HookFunction, aws: AwsStack
    ) -> None:
        seed.seed_cart(aws, "c_ordered")
        cart = seed.valid_order_cart("c_ordered", seed.DEMO_ITEMS)
        assert order_create(seed.order_create_event(cart))["statusCode"] == 200

        response = discounts(apply("WELCOME10", cart))

        assert response["statusCode"] == 422
        assert response_body(response) == refused(6200, "An order was already created for this cart")

    def test_a_minimum_not_met_is_6205(self, discounts: HookFunction) -> None:
        response = discounts(apply("SAVE15"))  # the demo cart: 6400 < 10000

        assert response["statusCode"] == 422
        assert response_body(response) == refused(
            6205, "The coupon code SAVE15 needs a subtotal of at least 10000 cents"
        )

    def test_free_shipping_under_its_minimum_is_6205(self, discounts: HookFunction) -> None:
        cart = seed.valid_order_cart("c_mug", (("MUG-12OZ", 1),))

        assert response_body(discounts(apply("FREESHIP", cart)))["error"]["code"] == 6205

    @pytest.mark.parametrize("code", [None, ""], ids=["absent", "empty"])
    def test_no_code_is_6200(self, discounts: HookFunction, code: str | None) -> None:
        response = discounts(apply(code))

        assert response["statusCode"] == 422
        assert response_body(response)["error"]["code"] == 6200

    def test_a_cart_that_already_became_an_order_is_6200(
        self, discounts: HookFunction, order_create: HookFunction, demo_cart: StoredCart
    ) -> None:
        assert order_create(load_event("order_create/universal_valid.json"))["statusCode"] == 200

        response = discounts(load_event(WELCOME))

        assert response["statusCode"] == 422
        assert response_body(response) == refused(6200, "An order was already created for this cart")

    def test_an_item_we_do_not_sell_is_6103(self, discounts: HookFunction) -> None:
        cart = bolt_payloads.order_cart(lines=(("NOT-SOLD", "Nothing", 1, 100),), shipping=None, tax=0)

        assert response_body(discounts(apply("WELCOME10", cart)))["error"]["code"] == 6103

    def test_schema_invalid_is_a_422_with_6200(self, discounts: HookFunction) -> None:
        payload = event_body(load_event(WELCOME))
        payload["data"]["cart"]["items"][0]["quantity"] = "two"

        response = discounts(signed_event("discounts", payload))

        assert response["statusCode"] == 422
        assert response_body(response) == refused(6200, "Invalid or missing fields: cart.items.0.quantity")

    def test_a_bad_signature_is_a_401_without_touching_dynamodb(
        self, discounts: HookFunction, dynamodb_calls: CallCounter
    ) -> None:
        response = discounts(load_event("discounts/bad_signature.json"))

        assert response["statusCode"] == 401
        assert response_body(response) == expect.SIGNATURE_REJECTED
        assert dynamodb_calls.count() == 0

    def test_applying_a_code_does_not_count_a_use(self, discounts: HookFunction, aws: AwsStack) -> None:
        for _ in range(3):
            assert discounts(apply("ONEUSE"))["statusCode"] == 200

        assert seed.discount_uses(aws, "ONEUSE") == 0

    def test_the_stored_cart_and_the_code_are_read_together(
        self, discounts: HookFunction, demo_cart: StoredCart, dynamodb_calls: CallCounter
    ) -> None:
        discounts(load_event(WELCOME))  # warms the catalog cache
        dynamodb_calls.reset()

        assert discounts(load_event(WELCOME))["statusCode"] == 200
        assert dynamodb_calls.calls == ["BatchGetItem"]
        [(_, params)] = dynamodb_calls.params
        assert sorted(len(request["Keys"]) for request in params["RequestItems"].values()) == [1, 1]
