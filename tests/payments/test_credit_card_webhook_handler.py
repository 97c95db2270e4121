"""POST /bolt/webhooks/credit-card (beta credit card events) through the handler: verified, recorded once, acked."""

from collections.abc import Callable
from typing import Any

import pytest

from tests import expect, seed
from tests.support import (
    AwsStack,
    CallCounter,
    HookFunction,
    event_body,
    load_event,
    refuse_next,
    response_body,
    signed_event,
)

DELETED = "credit_card_webhook/credit_card_deleted.json"


@pytest.fixture
def credit_card_webhook(hook_function: Callable[[str], HookFunction]) -> HookFunction:
    return hook_function("credit_card_webhook")


def recorded(aws: AwsStack) -> list[dict[str, Any]]:
    return seed.orders_table_items(aws, "card_event")


def test_the_event_is_recorded_and_acknowledged(credit_card_webhook: HookFunction, aws: AwsStack) -> None:
    response = credit_card_webhook(load_event(DELETED))

    assert response["statusCode"] == 200
    assert response_body(response) == {"status": "success", "result": "applied"}
    [item] = recorded(aws)
    assert (item["pk"], item["event_type"]) == ("CARDEVENT#CCdemo0001", "credit_card_deleted")


def test_no_card_data_is_stored(credit_card_webhook: HookFunction, aws: AwsStack) -> None:
    credit_card_webhook(load_event(DELETED))

    [item] = recorded(aws)
    assert set(item) == {"pk", "sk", "kind", "event_type"}
    assert "1111" not in str(item)


def test_a_duplicate_is_acknowledged_and_recorded_once(credit_card_webhook: HookFunction, aws: AwsStack) -> None:
    credit_card_webhook(load_event(DELETED))

    replies = [credit_card_webhook(load_event(DELETED)) for _ in range(3)]

    assert {r["statusCode"] for r in replies} == {200}
    assert {response_body(r)["result"] for r in replies} == {"duplicate"}
    assert len(recorded(aws)) == 1


def test_another_card_is_another_event(credit_card_webhook: HookFunction, aws: AwsStack) -> None:
    payload = event_body(load_event(DELETED))
    credit_card_webhook(load_event(DELETED))
    payload["data"]["id"] = "CCdemo0002"

    assert response_body(credit_card_webhook(signed_event("credit_card_webhook", payload)))["result"] == "applied"
    assert len(recorded(aws)) == 2


def test_a_bad_signature_is_a_401_without_touching_dynamodb(
    credit_card_webhook: HookFunction, dynamodb_calls: CallCounter, aws: AwsStack
) -> None:
    response = credit_card_webhook(load_event("credit_card_webhook/bad_signature.json"))

    assert response["statusCode"] == 401
    assert response_body(response) == expect.SIGNATURE_REJECTED
    assert dynamodb_calls.count() == 0
    assert recorded(aws) == []


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "credit_card_deleted", "data": {}},
        {"type": "credit_card_deleted"},
        {"data": {"id": "CC1"}},
        {"type": 5, "data": {"id": "CC1"}},
        {"type": "credit_card_deleted", "data": {"id": ""}},
    ],
    ids=["no-id", "no-data", "no-type", "numeric-type", "empty-id"],
)
def test_an_event_without_type_or_id_is_a_422(
    credit_card_webhook: HookFunction, aws: AwsStack, payload: dict[str, Any]
) -> None:
    response = credit_card_webhook(signed_event("credit_card_webhook", payload))

    assert response["statusCode"] == 422
    assert response_body(response) == {
        "status": "failure",
        "error": {"code": 6009, "message": "Invalid or missing fields: type, data.id"},
    }
    assert recorded(aws) == []


def test_a_body_that_is_not_json_is_a_400(credit_card_webhook: HookFunction) -> None:
    assert credit_card_webhook(signed_event("credit_card_webhook", b"nope"))["statusCode"] == 400


def test_a_write_dynamodb_refuses_is_a_final_422(credit_card_webhook: HookFunction, aws: AwsStack) -> None:
    refuse_next("PutItem")

    response = credit_card_webhook(load_event(DELETED))

    assert response["statusCode"] == 422
    assert "Retry-After" not in (response.get("headers") or {})
    assert response_body(response) == expect.failure(None, 6009, "The request could not be processed")
    assert recorded(aws) == []
