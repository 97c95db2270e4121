"""POST /bolt/tax (order.tax) end to end in process: tax on the items and on the option the shopper chose."""

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

DELIVERY = "tax/delivery_option.json"
PICKUP = "tax/pickup_store_sf.json"
UNKNOWN = "tax/unknown_option.json"
NYC = {"street_address1": "1 Main St", "locality": "New York", "region": "New York", "postal_code": "10044"}


@pytest.fixture
def tax(hook_function: Callable[[str], HookFunction]) -> HookFunction:
    return hook_function("tax")


def payload_of(name: str) -> dict[str, Any]:
    return event_body(load_event(name))


def test_delivery_in_california_is_taxed_at_7_25_percent_on_items_only(tax: HookFunction) -> None:
    data = payload_of(DELIVERY)["data"]
    items = data["cart"]["items"]
    standard = expect.METHODS["standard"]
    assert data["shipping_address"]["region"] == "California"
    assert expect.rate("US-CA") == 725

    response = tax(load_event(DELIVERY))

    assert response["statusCode"] == 200
    assert response_body(response) == expect.success(
        "order.tax",
        {
            "tax_result": {"subtotal_amount": expect.items_tax(items, "US-CA")},
            "shipping_option": {
                "service": standard.service,
                "reference": "standard",
                "cost": expect.delivery_cost("standard", expect.subtotal(items)),
                "tax_amount": 0,
            },
        },
    )


def test_delivery_in_new_york_taxes_the_shipping_too(tax: HookFunction) -> None:
    payload = payload_of(DELIVERY)
    payload["data"]["shipping_address"].update(NYC)
    payload["data"]["shipping_option"] = {"reference": "express"}
    items = payload["data"]["cart"]["items"]
    express = expect.METHODS["express"]

    response = tax(resign(load_event(DELIVERY), payload))

    assert response["statusCode"] == 200
    assert response_body(response)["data"] == {
        "tax_result": {"subtotal_amount": expect.items_tax(items, "US-NY")},
        "shipping_option": {
            "service": express.service,
            "reference": "express",
            "cost": express.cost,
            "tax_amount": expect.shipping_tax(express.cost, "US-NY"),
        },
    }
    assert response_body(response)["data"]["shipping_option"]["tax_amount"] > 0


def test_pickup_at_the_union_square_store(tax: HookFunction) -> None:
    items = payload_of(PICKUP)["data"]["cart"]["items"]
    store = expect.STORES["store-sf"]
    store_region = f"{store.address.country_code}-{store.address.region}"

    response = tax(load_event(PICKUP))

    assert response["statusCode"] == 200
    assert response_body(response) == expect.success(
        "order.tax",
        {
            "tax_result": {"subtotal_amount": expect.items_tax(items, store_region)},
            "in_store_pickup_option": expect.pickup_option(
                "store-sf", postal_code=None, tax_amount=expect.shipping_tax(store.cost, store_region)
            ),
        },
    )


def test_legacy_tax_request_is_answered_without_the_envelope(tax: HookFunction) -> None:
    data = payload_of(DELIVERY)["data"]

    response = tax(resign(load_event(DELIVERY), {"type": "order.tax", **data}))

    assert response["statusCode"] == 200
    body = response_body(response)
    assert "event" not in body
    assert body == {"status": "success", **response_body(tax(load_event(DELIVERY)))["data"]}


def test_an_unknown_option_is_a_422_6103(tax: HookFunction) -> None:
    response = tax(load_event(UNKNOWN))

    assert response["statusCode"] == 422
    assert response_body(response) == expect.failure("order.tax", 6103, "Shipping option teleport is not available")


def test_no_chosen_option_is_a_422_6103(tax: HookFunction) -> None:
    payload = payload_of(DELIVERY)
    del payload["data"]["shipping_option"]

    response = tax(resign(load_event(DELIVERY), payload))

    assert response["statusCode"] == 422
    assert response_body(response) == expect.failure("order.tax", 6103, "No shipping option was chosen")


def test_bad_signature_is_a_401_without_dynamodb(tax: HookFunction, dynamodb_calls: CallCounter) -> None:
    event = load_event(DELIVERY)
    event["body"] = event["body"].replace('"reference":"standard"', '"reference":"express"')

    response = tax(event)

    assert response["statusCode"] == 401
    assert response_body(response) == expect.SIGNATURE_REJECTED
    assert dynamodb_calls.count() == 0


def test_secrets_manager_failure_is_a_503(tax: HookFunction, aws: AwsStack) -> None:
    aws.secretsmanager.delete_secret(SecretId=aws.secret_name, ForceDeleteWithoutRecovery=True)

    response = tax(load_event(DELIVERY))

    assert response["statusCode"] == 503
    assert response_header(response, "Retry-After") == "5"
    assert response_body(response) == expect.UNAVAILABLE
