"""POST /bolt/cart/update (cart.update) and POST /bolt/universal through their handlers."""

from typing import Any

import pytest
from bolt_merchant.checkout.carts import StoredCart

from devstack import bolt_payloads
from tests import expect, seed
from tests.support import (
    EVENTS_DIR,
    AwsStack,
    CallCounter,
    HookFunction,
    demo_products,
    event_body,
    load_event,
    response_body,
    signed_event,
)

PRODUCTS = demo_products()


def update(**changes: Any) -> dict[str, Any]:
    return signed_event("cart_update", bolt_payloads.universal("cart.update", bolt_payloads.cart_update(**changes)))


def cart_line(sku: str, quantity: int) -> dict[str, Any]:
    product = PRODUCTS[sku]
    return {
        "reference": sku,
        "sku": sku,
        "name": product.name,
        "quantity": quantity,
        "unit_price": product.unit_price,
        "total_amount": product.unit_price * quantity,
        "type": "physical" if product.needs_shipping else "digital",
        "taxable": product.taxable,
    }


def bolt_cart(
    lines: list[tuple[str, int]], discounts: list[dict[str, Any]] | None = None, version: int = 2
) -> dict[str, Any]:
    """cart.update's answer: our cart in Bolt's shape (reference §3.7), amounts as plain cents."""
    discounts = discounts or []
    subtotal = sum(PRODUCTS[sku].unit_price * quantity for sku, quantity in lines)
    return {
        "order_reference": seed.DEMO_CART_ID,
        "display_id": "",
        "currency": "USD",
        "total_amount": subtotal - sum(d["amount"] for d in discounts),
        "tax_amount": 0,
        "items": [cart_line(sku, quantity) for sku, quantity in lines],
        "discounts": discounts,
        "shipments": [],
        "metadata": {"cart_version": str(version)},
    }


WELCOME10 = {
    "amount": 1000,
    "code": "WELCOME10",
    "reference": "WELCOME10",
    "description": "$10 off your first order",
    "type": "fixed_amount",
    "discount_category": "coupon",
}


def errors(code: int, message: str, universal: bool = True) -> dict[str, Any]:
    body = {"status": "failure", "errors": [{"code": code, "message": message}]}
    return {"event": "cart.update", **body} if universal else body


class TestCartUpdate:
    def test_adding_an_item(self, cart_update: HookFunction, demo_cart: StoredCart, aws: AwsStack) -> None:
        response = cart_update(load_event("cart_update/add_item.json"))

        assert response["statusCode"] == 200
        assert response_body(response) == expect.success(
            "cart.update", {"order_create": {"cart": bolt_cart([("TOTE-BLUE", 2), ("MUG-12OZ", 2)])}}
        )
        stored = seed.stored_cart(aws)
        assert stored is not None
        assert [(line.sku, line.quantity) for line in stored.lines] == [("TOTE-BLUE", 2), ("MUG-12OZ", 2)]
        assert stored.version == 2

    def test_adding_a_new_product(self, cart_update: HookFunction, demo_cart: StoredCart) -> None:
        body = response_body(cart_update(update(add=(("HOODIE-M", 1),))))

        assert body["data"]["order_create"]["cart"] == bolt_cart([("TOTE-BLUE", 2), ("MUG-12OZ", 1), ("HOODIE-M", 1)])

    def test_removing_an_item(self, cart_update: HookFunction, demo_cart: StoredCart) -> None:
        response = cart_update(load_event("cart_update/remove_item.json"))

        assert response_body(response)["data"]["order_create"]["cart"] == bolt_cart([("TOTE-BLUE", 1), ("MUG-12OZ", 1)])

    def test_removing_a_whole_line(self, cart_update: HookFunction, demo_cart: StoredCart) -> None:
        body = response_body(cart_update(update(remove=(("MUG-12OZ", 1),))))

        assert body["data"]["order_create"]["cart"] == bolt_cart([("TOTE-BLUE", 2)])

    def test_adding_a_discount_code(self, cart_update: HookFunction, demo_cart: StoredCart, aws: AwsStack) -> None:
        response = cart_update(load_event("cart_update/add_discount.json"))

        assert response_body(response)["data"]["order_create"]["cart"] == bolt_cart(
            [("TOTE-BLUE", 2), ("MUG-12OZ", 1)], [WELCOME10]
        )
        stored = seed.stored_cart(aws)
        assert stored is not None
        assert stored.discount_codes == ["WELCOME10"]

    def test_removing_a_discount_code(self, cart_update: HookFunction, aws: AwsStack) -> None:
        seed.seed_cart(aws, discount_codes=["WELCOME10"])

        body = response_body(cart_update(update(codes_to_remove=("welcome10",))))

        assert body["data"]["order_create"]["cart"]["discounts"] == []
        stored = seed.stored_cart(aws)
        assert stored is not None
        assert stored.discount_codes == []

    def test_adding_a_code_twice_keeps_one(self, cart_update: HookFunction, demo_cart: StoredCart) -> None:
        cart_update(update(codes_to_add=("WELCOME10",)))

        body = response_body(cart_update(update(codes_to_add=("welcome10",))))

        assert [d["code"] for d in body["data"]["order_create"]["cart"]["discounts"]] == ["WELCOME10"]

    def test_the_legacy_body_is_answered_without_the_envelope(
        self, cart_update: HookFunction, demo_cart: StoredCart
    ) -> None:
        response = cart_update(load_event("cart_update/legacy_add_item.json"))

        body = response_body(response)
        assert "event" not in body
        assert body == {
            "status": "success",
            "order_create": {"cart": bolt_cart([("TOTE-BLUE", 2), ("MUG-12OZ", 2)])},
        }

    def test_removing_an_item_not_in_the_cart_is_an_errors_list(
        self, cart_update: HookFunction, demo_cart: StoredCart, aws: AwsStack
    ) -> None:
        response = cart_update(load_event("cart_update/remove_missing_item.json"))

        assert response["statusCode"] == 422
        assert response_body(response) == errors(6613, "Item HOODIE-M is not in the cart")
        stored = seed.stored_cart(aws)
        assert stored is not None
        assert stored.version == 1

    def test_removing_every_item_is_refused(self, cart_update: HookFunction, demo_cart: StoredCart) -> None:
        response = cart_update(update(remove=(("TOTE-BLUE", 2), ("MUG-12OZ", 1))))

        assert response_body(response) == errors(6613, "The cart cannot be empty")

    def test_an_unknown_product_is_6611(self, cart_update: HookFunction, demo_cart: StoredCart) -> None:
        response = cart_update(update(add=(("NOT-SOLD", 1),)))

        assert response["statusCode"] == 422
        assert response_body(response) == errors(6611, "Item NOT-SOLD is not sold here")

    def test_more_than_in_stock_is_6605(self, cart_update: HookFunction, demo_cart: StoredCart) -> None:
        response = cart_update(update(add=(("HOODIE-M", PRODUCTS["HOODIE-M"].inventory + 1),)))

        assert response_body(response)["errors"][0]["code"] == 6605

    def test_a_code_that_cannot_apply_is_refused_with_its_62xx_code(
        self, cart_update: HookFunction, demo_cart: StoredCart, aws: AwsStack
    ) -> None:
        response = cart_update(update(codes_to_add=("EXPIRED5",)))

        assert response["statusCode"] == 422
        assert response_body(response) == errors(6202, "The coupon code EXPIRED5 has expired")
        stored = seed.stored_cart(aws)
        assert stored is not None
        assert (stored.discount_codes, stored.version) == ([], 1)

    def test_an_unknown_cart_is_a_404_2001003(self, cart_update: HookFunction) -> None:
        response = cart_update(load_event("cart_update/add_item.json"))

        assert response["statusCode"] == 404
        assert response_body(response) == errors(2001003, "Cart not found or expired")

    def test_a_cart_that_became_an_order_is_a_409_2001002(
        self, cart_update: HookFunction, order_create: HookFunction, demo_cart: StoredCart
    ) -> None:
        assert order_create(load_event("order_create/universal_valid.json"))["statusCode"] == 200

        response = cart_update(load_event("cart_update/add_item.json"))

        assert response["statusCode"] == 409
        assert response_body(response) == errors(2001002, "This cart has already become an order")

    def test_schema_invalid_is_an_errors_list_422(self, cart_update: HookFunction) -> None:
        payload = event_body(load_event("cart_update/add_item.json"))
        payload["data"]["add_items"][0]["quantity"] = -1

        response = cart_update(signed_event("cart_update", payload))

        assert response["statusCode"] == 422
        assert response_body(response) == errors(6009, "Invalid or missing fields: add_items.0.quantity")


def forget_demo_checkout(aws: AwsStack) -> None:
    """Delete the demo cart and everything of its order, so the same events can run again from the start."""
    keys = [{"pk": f"CART#{seed.DEMO_CART_ID}", "sk": "CART"}]
    keys += [{"pk": f"ORDER#{seed.DEMO_ORDER_ID}", "sk": sk} for sk in seed.partition(aws)]
    for key in keys:
        aws.dynamodb.delete_item(TableName=seed.orders_table(aws), Key={k: {"S": v} for k, v in key.items()})


UNIVERSAL_EVENTS = sorted(path.stem for path in (EVENTS_DIR / "universal").glob("*.json"))


class TestUniversal:
    def test_every_event_the_endpoint_serves_has_an_example(self) -> None:
        assert set(UNIVERSAL_EVENTS) == {
            "order_create",
            "discounts_code_apply",
            "cart_update",
            "order_shipping",
            "order_tax",
            "order_shipping_and_tax",
            "unknown_event",
        }

    @pytest.mark.parametrize("name", [n for n in UNIVERSAL_EVENTS if n != "unknown_event"])
    def test_each_event_is_dispatched_and_answered_in_its_envelope(
        self, universal: HookFunction, demo_cart: StoredCart, name: str
    ) -> None:
        event = load_event(f"universal/{name}.json")
        bolt_event = event_body(event)["event"]

        response = universal(event)

        assert response["statusCode"] == 200, response["body"]
        body = response_body(response)
        assert (body["event"], body["status"]) == (bolt_event, "success")
        assert body["data"]

    @pytest.mark.parametrize(
        ("name", "function_dir", "dedicated_event"),
        [
            ("order_create", "order_create", "order_create/universal_valid.json"),
            ("discounts_code_apply", "discounts", "discounts/universal_welcome10.json"),
            ("cart_update", "cart_update", "cart_update/add_item.json"),
            ("order_shipping", "shipping", "shipping/universal_valid.json"),
            ("order_shipping_and_tax", "shipping_and_tax", "shipping_and_tax/valid.json"),
            ("order_tax", "tax", "tax/delivery_option.json"),
        ],
    )
    def test_the_answer_is_the_dedicated_endpoints_answer(
        self,
        hook_function: Any,
        aws: AwsStack,
        name: str,
        function_dir: str,
        dedicated_event: str,
    ) -> None:
        # the same services: each side gets its own fresh demo cart
        seed.seed_cart(aws)
        through_universal = response_body(hook_function("universal")(load_event(f"universal/{name}.json")))
        forget_demo_checkout(aws)
        seed.seed_cart(aws)

        direct = response_body(hook_function(function_dir)(load_event(dedicated_event)))

        assert through_universal == direct

    def test_an_unknown_event_is_a_422_in_bolts_failure_shape(
        self, universal: HookFunction, dynamodb_calls: CallCounter
    ) -> None:
        response = universal(load_event("universal/unknown_event.json"))

        assert response["statusCode"] == 422
        assert response_body(response) == expect.failure("order.refund", 6001, "Unsupported event for this endpoint")
        assert dynamodb_calls.count() == 0

    def test_an_event_name_is_cut_short_in_the_answer(self, universal: HookFunction) -> None:
        response = universal(signed_event("universal", {"event": "x" * 500, "data": {}}))

        assert response["statusCode"] == 422
        assert response_body(response)["event"] == "x" * 64

    def test_a_business_failure_keeps_the_events_shape(self, universal: HookFunction) -> None:
        payload = bolt_payloads.universal("discounts.code.apply", bolt_payloads.discount_apply("NOSUCHCODE"))

        response = universal(signed_event("universal", payload))

        assert response_body(response) == expect.failure(
            "discounts.code.apply", 6201, "The coupon code NOSUCHCODE is not found"
        )

    def test_cart_update_failures_are_an_errors_list_here_too(
        self, universal: HookFunction, demo_cart: StoredCart
    ) -> None:
        payload = event_body(load_event("cart_update/remove_missing_item.json"))

        response = universal(signed_event("universal", payload))

        assert response["statusCode"] == 422
        assert response_body(response) == errors(6613, "Item HOODIE-M is not in the cart")

    def test_a_legacy_body_is_answered_without_event(self, universal: HookFunction, demo_cart: StoredCart) -> None:
        legacy = event_body(load_event("discounts/legacy_welcome10.json"))

        response = universal(signed_event("universal", legacy))

        body = response_body(response)
        assert response["statusCode"] == 200
        assert "event" not in body
        assert body["discount_code"] == "WELCOME10"

    def test_a_legacy_body_of_an_unknown_type_is_a_422_without_event(self, universal: HookFunction) -> None:
        response = universal(signed_event("universal", {"type": "order.refund", "cart": {}}))

        assert response["statusCode"] == 422
        assert response_body(response) == {
            "status": "failure",
            "error": {"code": 6001, "message": "Unsupported event for this endpoint"},
        }

    def test_a_bad_signature_is_a_401_without_touching_dynamodb(
        self, universal: HookFunction, dynamodb_calls: CallCounter
    ) -> None:
        event = load_event("universal/order_create.json")
        event["body"] = event["body"].replace("7463", "1")

        response = universal(event)

        assert response["statusCode"] == 401
        assert dynamodb_calls.count() == 0
