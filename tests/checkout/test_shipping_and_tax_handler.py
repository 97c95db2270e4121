"""POST /bolt/shipping-and-tax (order.shipping_and_tax, Bolt's legacy combined hook) end to end in process."""

from collections.abc import Callable
from typing import Any

import pytest

from tests import expect
from tests.support import (
    AwsStack,
    CallCounter,
    HookFunction,
    event_body,
    load_event,
    resign,
    response_body,
    response_header,
)

VALID = "shipping_and_tax/valid.json"


@pytest.fixture
def shipping_and_tax(hook_function: Callable[[str], HookFunction]) -> HookFunction:
    return hook_function("shipping_and_tax")


def payload() -> dict[str, Any]:
    return event_body(load_event(VALID))


def test_each_option_carries_the_california_tax_on_the_items(shipping_and_tax: HookFunction) -> None:
    items = payload()["data"]["cart"]["items"]
    tax = expect.items_tax(items, "US-CA")  # California does not tax shipping

    response = shipping_and_tax(load_event(VALID))

    assert response["statusCode"] == 200
    assert response_body(response) == expect.success(
        "order.shipping_and_tax",
        {
            "shipping_options": expect.delivery_options("US", expect.subtotal(items), tax=lambda cost: tax),
            "tax_result": {"amount": 0},
        },
    )


def test_in_new_york_each_option_adds_its_own_shipping_tax(shipping_and_tax: HookFunction) -> None:
    body = payload()
    body["data"]["shipping_address"].update(region="NY", postal_code="10012", locality="New York")
    items = body["data"]["cart"]["items"]
    items_tax = expect.items_tax(items, "US-NY")

    response = shipping_and_tax(resign(load_event(VALID), body))

    options = response_body(response)["data"]["shipping_options"]
    assert options == expect.delivery_options(
        "US", expect.subtotal(items), tax=lambda cost: items_tax + expect.shipping_tax(cost, "US-NY")
    )
    assert len({o["tax_amount"] for o in options}) == len(options)


def test_free_shipping_over_the_threshold(shipping_and_tax: HookFunction) -> None:
    body = payload()
    body["data"]["cart"]["items"] = [{"sku": "LAST-ONE", "quantity": 1, "unit_price": 9900}]
    items = body["data"]["cart"]["items"]

    response = shipping_and_tax(resign(load_event(VALID), body))

    options = response_body(response)["data"]["shipping_options"]
    assert {o["reference"]: o["cost"] for o in options}["standard"] == 0
    assert options == expect.delivery_options(
        "US", expect.subtotal(items), tax=lambda cost: expect.items_tax(items, "US-CA")
    )


def test_legacy_request_is_answered_without_the_envelope(shipping_and_tax: HookFunction) -> None:
    data = payload()["data"]

    response = shipping_and_tax(resign(load_event(VALID), {"type": "order.shipping_and_tax", **data}))

    body = response_body(response)
    assert response["statusCode"] == 200
    assert "event" not in body
    assert body == {"status": "success", **response_body(shipping_and_tax(load_event(VALID)))["data"]}


def test_unknown_country_is_a_422_6103(shipping_and_tax: HookFunction) -> None:
    body = payload()
    body["data"]["shipping_address"].update(country_code="JP", region="Tokyo", postal_code="100-0001")

    response = shipping_and_tax(resign(load_event(VALID), body))

    assert response["statusCode"] == 422
    assert response_body(response) == expect.failure("order.shipping_and_tax", 6103, "We do not ship to JP")


def test_unsigned_is_a_401_without_dynamodb(shipping_and_tax: HookFunction, dynamodb_calls: CallCounter) -> None:
    event = load_event(VALID)
    del event["headers"]["X-Bolt-Hmac-Sha256"]

    response = shipping_and_tax(event)

    assert response["statusCode"] == 401
    assert response_body(response) == expect.SIGNATURE_REJECTED
    assert dynamodb_calls.count() == 0


def test_dynamodb_failure_is_a_503(shipping_and_tax: HookFunction, aws: AwsStack) -> None:
    aws.dynamodb.delete_table(TableName=aws.catalog_table)

    response = shipping_and_tax(load_event(VALID))

    assert response["statusCode"] == 503
    assert response_header(response, "Retry-After") == "5"
    assert response_body(response) == {"event": "order.shipping_and_tax", **expect.UNAVAILABLE}
