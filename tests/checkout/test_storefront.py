"""POST /storefront/carts and /storefront/carts/{cart_id}/bolt-order-token through the storefront handler.

Bolt's API is faked at the HTTP boundary (a server on 127.0.0.1): the real BoltApiClient and requests session
talk to it, so headers, nonces, retries and error mapping are checked on the wire.
"""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from bolt_merchant.bolt import api as storefront_http
from bolt_merchant.checkout.carts import CartConflict, StoredCart
from bolt_merchant.core import settings as wiring
from bolt_merchant.core.errors import DependencyUnavailable

from devstack import bolt_payloads
from tests import seed
from tests.checkout.conftest import FakeBoltApi
from tests.support import DEV_API_KEY, AwsStack, HookFunction, demo_products, load_event, response_body, response_header

CREATE_CART = "storefront/create_cart.json"
ORDER_TOKEN = "storefront/order_token.json"
LOOPBACK = pytest.mark.allow_hosts(["127.0.0.1"])


def create_cart_event(payload: Any) -> dict[str, Any]:
    event = load_event(CREATE_CART)
    event["body"] = payload if isinstance(payload, str) else json.dumps(payload)
    return event


def order_token_event(cart_id: str = seed.DEMO_CART_ID) -> dict[str, Any]:
    event = load_event(ORDER_TOKEN)
    event["path"] = event["path"].replace(seed.DEMO_CART_ID, cart_id)
    event["requestContext"]["path"] = event["requestContext"]["path"].replace(seed.DEMO_CART_ID, cart_id)
    event["pathParameters"] = {"cart_id": cart_id}
    return event


def failure(code: int, message: str) -> dict[str, Any]:
    return {"status": "failure", "error": {"code": code, "message": message}}


class TestCreateCart:
    def test_the_event_creates_a_cart_priced_from_the_catalog(self, storefront: HookFunction, aws: AwsStack) -> None:
        products = demo_products()

        response = storefront(load_event(CREATE_CART))

        assert response["statusCode"] == 201
        body = response_body(response)
        cart_id = body["cart_id"]
        assert body["cart"] == {
            "cart_id": cart_id,
            "currency": "USD",
            "status": "open",
            "version": 1,
            "items": [
                {
                    "sku": "TOTE-BLUE",
                    "name": products["TOTE-BLUE"].name,
                    "quantity": 2,
                    "unit_price": 2400,
                    "total": 4800,
                },
                {
                    "sku": "MUG-12OZ",
                    "name": products["MUG-12OZ"].name,
                    "quantity": 1,
                    "unit_price": 1600,
                    "total": 1600,
                },
            ],
            "subtotal": bolt_payloads.DEMO_SUBTOTAL,
            "discount_codes": [],
        }
        stored = seed.stored_cart(aws, cart_id)
        assert stored is not None
        assert [(line.sku, line.quantity, line.unit_price) for line in stored.lines] == [
            ("TOTE-BLUE", 2, 2400),
            ("MUG-12OZ", 1, 1600),
        ]

    def test_client_prices_are_ignored(self, storefront: HookFunction) -> None:
        # the event sends unit_price 1 for the totes
        assert json.loads(load_event(CREATE_CART)["body"])["items"][0]["unit_price"] == 1

        body = response_body(storefront(load_event(CREATE_CART)))

        assert body["cart"]["items"][0]["unit_price"] == demo_products()["TOTE-BLUE"].unit_price

    def test_the_same_sku_twice_is_one_line(self, storefront: HookFunction) -> None:
        payload = {"currency": "USD", "items": [{"sku": "MUG-12OZ", "quantity": 1}, {"sku": "MUG-12OZ", "quantity": 2}]}

        body = response_body(storefront(create_cart_event(payload)))

        assert [(i["sku"], i["quantity"]) for i in body["cart"]["items"]] == [("MUG-12OZ", 3)]

    def test_every_cart_gets_its_own_id(self, storefront: HookFunction) -> None:
        ids = {response_body(storefront(load_event(CREATE_CART)))["cart_id"] for _ in range(3)}

        assert len(ids) == 3

    def test_a_discount_code_is_checked_before_the_cart_is_stored(self, storefront: HookFunction) -> None:
        payload = {"currency": "USD", "items": [{"sku": "MUG-12OZ", "quantity": 1}], "discount_codes": ["expired5"]}

        response = storefront(create_cart_event(payload))

        assert response["statusCode"] == 422
        assert response_body(response) == failure(6202, "The coupon code EXPIRED5 has expired")

    def test_an_unknown_sku_is_a_422(self, storefront: HookFunction, aws: AwsStack) -> None:
        payload = {"currency": "USD", "items": [{"sku": "NOT-SOLD", "quantity": 1}]}

        response = storefront(create_cart_event(payload))

        assert response["statusCode"] == 422
        assert response_body(response) == failure(6611, "Item NOT-SOLD is not sold here")
        assert seed.orders_table_items(aws, "cart") == []

    def test_a_quantity_over_stock_is_a_422(self, storefront: HookFunction, aws: AwsStack) -> None:
        inventory = demo_products()["HOODIE-M"].inventory
        payload = {"currency": "USD", "items": [{"sku": "HOODIE-M", "quantity": inventory + 1}]}

        response = storefront(create_cart_event(payload))

        assert response["statusCode"] == 422
        assert response_body(response) == failure(6605, f"Only {inventory} of HOODIE-M left in stock")
        assert seed.orders_table_items(aws, "cart") == []

    def test_the_whole_stock_can_be_put_in_a_cart(self, storefront: HookFunction) -> None:
        payload = {"currency": "USD", "items": [{"sku": "LAST-ONE", "quantity": 1}]}

        assert storefront(create_cart_event(payload))["statusCode"] == 201

    def test_another_currency_is_a_422(self, storefront: HookFunction) -> None:
        payload = {"currency": "EUR", "items": [{"sku": "MUG-12OZ", "quantity": 1}]}

        response = storefront(create_cart_event(payload))

        assert response["statusCode"] == 422
        assert response_body(response)["error"]["code"] == 6103

    @pytest.mark.parametrize(
        ("payload", "fields"),
        [
            ({"currency": "USD", "items": []}, "items"),
            ({"currency": "USD"}, "items"),
            ({"items": [{"sku": "MUG-12OZ", "quantity": 1}]}, "currency"),
            ({"currency": "usd", "items": [{"sku": "MUG-12OZ", "quantity": 1}]}, "currency"),
            ({"currency": "USD", "items": [{"sku": "MUG-12OZ", "quantity": 0}]}, "items.0.quantity"),
            ({"currency": "USD", "items": [{"sku": "MUG-12OZ", "quantity": "2"}]}, "items.0.quantity"),
            ({"currency": "USD", "items": [{"sku": "MUG-12OZ", "quantity": 1.5}]}, "items.0.quantity"),
            ({"currency": "USD", "items": [{"sku": "MUG#TX#1", "quantity": 1}]}, "items.0.sku"),
            ({"currency": "USD", "items": [{"quantity": 1}]}, "items.0.sku"),
        ],
        ids=[
            "no-items",
            "items-missing",
            "currency-missing",
            "lower-case-currency",
            "zero-quantity",
            "string-quantity",
            "fractional-quantity",
            "key-injection",
            "sku-missing",
        ],
    )
    def test_schema_errors_are_a_422_naming_the_fields(
        self, storefront: HookFunction, aws: AwsStack, payload: dict[str, Any], fields: str
    ) -> None:
        response = storefront(create_cart_event(payload))

        assert response["statusCode"] == 422
        assert response_body(response) == failure(6009, f"Invalid or missing fields: {fields}")
        assert seed.orders_table_items(aws, "cart") == []

    @pytest.mark.parametrize(
        ("body", "reason"),
        [
            ("not json", "body is not valid JSON"),
            ("", "body is not valid JSON"),
            ("[]", "body must be a JSON object"),
            ('{"currency":"USD","currency":"EUR","items":[]}', "duplicate key in JSON object"),
        ],
        ids=["text", "empty", "array", "duplicate-key"],
    )
    def test_a_body_that_is_not_a_json_object_is_a_400(self, storefront: HookFunction, body: str, reason: str) -> None:
        response = storefront(create_cart_event(body))

        assert response["statusCode"] == 400
        assert response_body(response) == failure(6009, f"Malformed request: {reason}")


@LOOPBACK
class TestOrderToken:
    def test_the_event_gets_a_token_for_the_demo_cart(
        self, storefront: HookFunction, fake_bolt: FakeBoltApi, demo_cart: StoredCart
    ) -> None:
        response = storefront(load_event(ORDER_TOKEN))

        assert response["statusCode"] == 200
        assert response_header(response, "Content-Type") == "application/json"
        assert response_body(response) == {"cart_id": seed.DEMO_CART_ID, "order_token": "bolt-token-1"}
        [request] = fake_bolt.requests
        assert (request.method, request.path) == ("POST", "/v1/merchant/orders")

    def test_bolt_gets_the_api_key_a_nonce_and_our_cart_to_the_cent(
        self, storefront: HookFunction, fake_bolt: FakeBoltApi, aws: AwsStack
    ) -> None:
        seed.seed_cart(aws, discount_codes=["WELCOME10"])
        products = demo_products()

        storefront(load_event(ORDER_TOKEN))

        [request] = fake_bolt.requests
        assert request.headers["X-Api-Key"] == DEV_API_KEY
        assert len(request.headers["X-Nonce"]) >= 16
        assert request.headers["Content-Type"] == "application/json"
        cart = request.body["cart"]
        assert request.body["channel"] == "browser"
        assert cart["order_reference"] == seed.DEMO_CART_ID
        assert cart["currency"] == "USD"
        assert [(i["sku"], i["quantity"], i["unit_price"], i["total_amount"]) for i in cart["items"]] == [
            ("TOTE-BLUE", 2, products["TOTE-BLUE"].unit_price, 2 * products["TOTE-BLUE"].unit_price),
            ("MUG-12OZ", 1, products["MUG-12OZ"].unit_price, products["MUG-12OZ"].unit_price),
        ]
        assert [(d["code"], d["amount"], d["type"]) for d in cart["discounts"]] == [("WELCOME10", 1000, "fixed_amount")]
        # every cent accounted for: items - discounts (shipping and tax come from the hooks later)
        items_total = sum(i["total_amount"] for i in cart["items"])
        assert cart["total_amount"] == items_total - sum(d["amount"] for d in cart["discounts"]) == 5400
        assert cart["metadata"] == {"cart_version": "1"}

    def test_the_same_cart_version_reuses_its_token(
        self, storefront: HookFunction, fake_bolt: FakeBoltApi, demo_cart: StoredCart, aws: AwsStack
    ) -> None:
        first = response_body(storefront(load_event(ORDER_TOKEN)))
        second = response_body(storefront(load_event(ORDER_TOKEN)))

        assert first == second
        assert len(fake_bolt.requests) == 1
        stored = seed.stored_cart(aws)
        assert stored is not None
        assert (stored.bolt_order_token, stored.bolt_order_token_version) == (first["order_token"], stored.version)

    def test_a_changed_cart_gets_a_new_token(
        self,
        storefront: HookFunction,
        cart_update: HookFunction,
        fake_bolt: FakeBoltApi,
        demo_cart: StoredCart,
    ) -> None:
        first = response_body(storefront(load_event(ORDER_TOKEN)))["order_token"]
        assert cart_update(load_event("cart_update/add_item.json"))["statusCode"] == 200

        second = response_body(storefront(load_event(ORDER_TOKEN)))["order_token"]

        assert first != second
        assert len(fake_bolt.requests) == 2
        assert fake_bolt.requests[1].body["cart"]["metadata"] == {"cart_version": "2"}

    def test_a_catalog_price_change_reprices_the_cart_before_bolt_sees_it(
        self, storefront: HookFunction, fake_bolt: FakeBoltApi, demo_cart: StoredCart, aws: AwsStack
    ) -> None:
        seed.set_product(aws, "TOTE-BLUE", unit_price=2600)

        storefront(load_event(ORDER_TOKEN))

        [request] = fake_bolt.requests
        assert request.body["cart"]["items"][0]["unit_price"] == 2600
        stored = seed.stored_cart(aws)
        assert stored is not None
        assert (stored.lines[0].unit_price, stored.version) == (2600, 2)

    def test_a_503_is_retried_with_a_fresh_nonce(
        self, storefront: HookFunction, fake_bolt: FakeBoltApi, demo_cart: StoredCart
    ) -> None:
        fake_bolt.then(503, {"errors": [{"code": 1, "message": "busy"}]})

        response = storefront(load_event(ORDER_TOKEN))

        assert response["statusCode"] == 200
        assert response_body(response)["order_token"] == "bolt-token-2"
        first, second = fake_bolt.requests
        assert first.headers["X-Nonce"] != second.headers["X-Nonce"]
        assert first.headers["X-Api-Key"] == second.headers["X-Api-Key"] == DEV_API_KEY
        assert first.body == second.body
        assert len(fake_bolt.sleeps) == 1

    def test_a_429_waits_at_least_retry_after(
        self, storefront: HookFunction, fake_bolt: FakeBoltApi, demo_cart: StoredCart
    ) -> None:
        fake_bolt.then(429, {"errors": [{"code": 429, "message": "slow down"}]}, {"Retry-After": "3"})

        response = storefront(load_event(ORDER_TOKEN))

        assert response["statusCode"] == 200
        assert len(fake_bolt.requests) == 2
        [pause] = fake_bolt.sleeps
        assert pause >= 3

    def test_bolt_down_after_every_retry_is_a_503_to_retry_later(
        self, storefront: HookFunction, fake_bolt: FakeBoltApi, demo_cart: StoredCart, aws: AwsStack
    ) -> None:
        for _ in range(4):
            fake_bolt.then(502)

        response = storefront(load_event(ORDER_TOKEN))

        assert response["statusCode"] == 503
        assert response_header(response, "Retry-After") is not None
        assert response_body(response) == failure(6001, "Temporarily unavailable, retry later")
        assert len(fake_bolt.requests) == 4
        stored = seed.stored_cart(aws)
        assert stored is not None
        assert stored.bolt_order_token is None

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
    def test_a_4xx_from_bolt_is_a_502_without_retry(
        self, storefront: HookFunction, fake_bolt: FakeBoltApi, demo_cart: StoredCart, status: int
    ) -> None:
        fake_bolt.then(status, {"errors": [{"code": 1005, "message": "CANARY invalid cart"}]})

        response = storefront(load_event(ORDER_TOKEN))

        assert response["statusCode"] == 502
        assert response_body(response) == failure(6001, "Bolt could not create an order token for this cart")
        assert len(fake_bolt.requests) == 1

    def test_an_answer_without_a_token_is_a_502(
        self, storefront: HookFunction, fake_bolt: FakeBoltApi, demo_cart: StoredCart
    ) -> None:
        fake_bolt.then(200, {"something": "else"})

        assert storefront(load_event(ORDER_TOKEN))["statusCode"] == 502

    def test_an_unknown_cart_is_a_404_without_calling_bolt(
        self, storefront: HookFunction, fake_bolt: FakeBoltApi
    ) -> None:
        response = storefront(order_token_event("c_nosuchcart"))

        assert response["statusCode"] == 404
        assert response_body(response) == failure(2001003, "Cart not found or expired")
        assert fake_bolt.requests == []

    def test_an_expired_cart_is_a_404(self, storefront: HookFunction, fake_bolt: FakeBoltApi, aws: AwsStack) -> None:
        seed.seed_cart(aws, "c_expired", expires_at=datetime(2025, 1, 1, tzinfo=UTC))

        assert storefront(order_token_event("c_expired"))["statusCode"] == 404
        assert fake_bolt.requests == []

    def test_a_cart_that_became_an_order_gets_no_token(
        self,
        storefront: HookFunction,
        order_create: HookFunction,
        fake_bolt: FakeBoltApi,
        demo_cart: StoredCart,
    ) -> None:
        assert order_create(load_event("order_create/universal_valid.json"))["statusCode"] == 200

        response = storefront(load_event(ORDER_TOKEN))

        assert response["statusCode"] == 409
        assert response_body(response) == failure(2001002, "This cart has already become an order")
        assert fake_bolt.requests == []  # Bolt is not even asked

    def test_a_cart_that_became_an_order_does_not_get_its_earlier_token_back(
        self,
        storefront: HookFunction,
        order_create: HookFunction,
        fake_bolt: FakeBoltApi,
        demo_cart: StoredCart,
    ) -> None:
        assert storefront(load_event(ORDER_TOKEN))["statusCode"] == 200
        assert order_create(load_event("order_create/universal_valid.json"))["statusCode"] == 200

        response = storefront(load_event(ORDER_TOKEN))

        assert response["statusCode"] == 409
        assert len(fake_bolt.requests) == 1


@LOOPBACK
def test_the_real_wiring_reads_the_api_key_from_the_stage_secret(
    storefront: HookFunction,
    demo_cart: StoredCart,
    fake_bolt: FakeBoltApi,
    aws: AwsStack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # no replaced client: bolt/api.py bolt_api() as deployed, with BOLT_API_BASE_URL pointing at the fake
    monkeypatch.setattr(storefront_http, "bolt_api", fake_bolt.deployed_factory)
    wiring.reset()

    response = storefront(load_event(ORDER_TOKEN))

    assert response["statusCode"] == 200
    [request] = fake_bolt.requests
    assert request.headers["X-Api-Key"] == DEV_API_KEY


def test_creating_a_cart_again_with_the_same_document_is_our_own_retried_write(aws: AwsStack) -> None:
    # botocore retries a PutItem whose answer timed out; the retry's condition then fails on our own cart
    cart = seed.seed_cart(aws, "c_retried")

    seed.checkout_store(aws).create_cart(cart)

    assert seed.stored_cart(aws, "c_retried") == cart


def test_replacing_a_cart_again_with_the_same_document_is_our_own_retried_write(aws: AwsStack) -> None:
    cart = seed.seed_cart(aws, "c_updated")
    updated = cart.model_copy(update={"discount_codes": ["WELCOME10"], "version": cart.version + 1})
    store = seed.checkout_store(aws)
    store.replace_cart(updated, expected_version=cart.version)

    store.replace_cart(updated, expected_version=cart.version)  # the resend: version is already +1, by us

    assert seed.stored_cart(aws, "c_updated") == updated
    with pytest.raises(CartConflict):  # a different change made against the old version is still refused
        store.replace_cart(cart.model_copy(update={"version": cart.version + 1}), expected_version=cart.version)


def test_another_cart_under_an_existing_id_is_still_refused(aws: AwsStack) -> None:
    cart = seed.seed_cart(aws, "c_taken")
    other = cart.model_copy(update={"discount_codes": ["WELCOME10"]})

    with pytest.raises(DependencyUnavailable, match="cart id already taken"):
        seed.checkout_store(aws).create_cart(other)
    assert seed.stored_cart(aws, "c_taken") == cart
