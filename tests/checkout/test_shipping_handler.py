"""POST /bolt/shipping (order.shipping) end to end in process: API Gateway event -> handler -> moto."""

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parameters.base import DEFAULT_PROVIDERS
from bolt_merchant.bolt.signed import PENDING_SIGNATURE_HEADER, SIGNATURE_HEADER
from bolt_merchant.core import settings as wiring

from devstack.bolt_payloads import sign
from tests import expect
from tests.support import (
    CANARY,
    DEV_PENDING_SECRET,
    DEV_SECRET,
    AwsStack,
    CallCounter,
    HookFunction,
    event_body,
    load_event,
    resign,
    response_body,
    response_header,
    signed_event,
)

UNIVERSAL = "shipping/universal_valid.json"
LEGACY = "shipping/legacy_valid.json"


@pytest.fixture
def shipping(hook_function: Callable[[str], HookFunction]) -> HookFunction:
    return hook_function("shipping")


def universal_payload() -> dict[str, Any]:
    return event_body(load_event(UNIVERSAL))


def without_signature(event: dict[str, Any]) -> dict[str, Any]:
    event["headers"].pop(SIGNATURE_HEADER, None)
    event["multiValueHeaders"].pop(SIGNATURE_HEADER, None)
    return event


def with_headers(event: dict[str, Any], **headers: str) -> dict[str, Any]:
    event = without_signature(event)
    event["headers"].update(headers)
    event["multiValueHeaders"].update({name: [value] for name, value in headers.items()})
    return event


class TestValidRequests:
    def test_universal_envelope_gets_deliveries_and_the_nearby_store(self, shipping: HookFunction) -> None:
        payload = universal_payload()
        items = payload["data"]["cart"]["items"]

        response = shipping(load_event(UNIVERSAL))

        assert response["statusCode"] == 200
        assert response_header(response, "Content-Type") == "application/json"
        assert response_body(response) == expect.success(
            "order.shipping",
            {
                "shipping_options": expect.delivery_options("US", expect.subtotal(items)),
                "in_store_pickup_options": [expect.pickup_option("store-sf", "94102")],
            },
        )

    def test_legacy_body_is_answered_without_the_envelope(self, shipping: HookFunction) -> None:
        items = event_body(load_event(LEGACY))["cart"]["items"]

        response = shipping(load_event(LEGACY))

        assert response["statusCode"] == 200
        body = response_body(response)
        assert "event" not in body
        assert body == expect.success(
            "order.shipping",
            {
                "shipping_options": expect.delivery_options("US", expect.subtotal(items)),
                "in_store_pickup_options": [expect.pickup_option("store-sf", "94102")],
            },
            universal=False,
        )

    def test_standard_shipping_is_free_over_the_threshold(self, shipping: HookFunction) -> None:
        payload = universal_payload()
        payload["data"]["cart"]["items"] = [
            {"sku": "HOODIE-M", "quantity": 1, "unit_price": 6800},
            {"sku": "TOTE-BLUE", "quantity": 1, "unit_price": 2400},
        ]
        merchandise = expect.subtotal(payload["data"]["cart"]["items"])
        assert merchandise >= expect.METHODS["standard"].free_over_subtotal  # type: ignore[operator]

        response = shipping(resign(load_event(UNIVERSAL), payload))

        options = response_body(response)["data"]["shipping_options"]
        assert options == expect.delivery_options("US", merchandise)
        assert {o["reference"]: o["cost"] for o in options}["standard"] == 0

    def test_a_digital_only_cart_gets_no_shipping_required(self, shipping: HookFunction) -> None:
        payload = universal_payload()
        payload["data"]["cart"]["items"] = [{"sku": "GIFT-25", "quantity": 1, "unit_price": 2500}]

        response = shipping(resign(load_event(UNIVERSAL), payload))

        assert response_body(response)["data"] == {
            "shipping_options": [
                {"service": "No Shipping Required", "reference": "noshipping", "cost": 0, "tax_amount": 0}
            ],
            "in_store_pickup_options": [],
        }

    def test_livermore_gets_no_pickup_store(self, shipping: HookFunction) -> None:
        payload = universal_payload()
        payload["data"]["shipping_address"]["postal_code"] = "94550"

        response = shipping(resign(load_event(UNIVERSAL), payload))

        assert response_body(response)["data"]["in_store_pickup_options"] == []

    def test_lower_case_header_names_are_read(self, shipping: HookFunction) -> None:
        # T06(b): HTTP API v2 and some proxies lower-case header names
        event = load_event(UNIVERSAL)
        signature = event["headers"][SIGNATURE_HEADER]

        response = shipping(with_headers(event, **{SIGNATURE_HEADER.lower(): signature}))

        assert response["statusCode"] == 200


class TestSignature:
    """T01-T07, T11: every bad signature is a 401 in Bolt's failure shape, decided before any DynamoDB call."""

    def test_the_bad_signature_event_is_rejected_without_touching_dynamodb(
        self, shipping: HookFunction, dynamodb_calls: CallCounter
    ) -> None:
        response = shipping(load_event("shipping/bad_signature.json"))

        assert response["statusCode"] == 401
        assert response_body(response) == expect.SIGNATURE_REJECTED
        assert dynamodb_calls.count() == 0

    def test_the_call_counter_does_see_the_catalog_read_of_a_valid_request(
        self, shipping: HookFunction, dynamodb_calls: CallCounter
    ) -> None:
        shipping(load_event(UNIVERSAL))

        assert dynamodb_calls.calls == ["BatchGetItem"]

    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {SIGNATURE_HEADER: ""},
            {SIGNATURE_HEADER: "   "},
            {PENDING_SIGNATURE_HEADER: ""},
        ],
        ids=["missing", "empty", "blank", "only-empty-pending"],
    )
    def test_unsigned_requests_are_rejected(
        self, shipping: HookFunction, dynamodb_calls: CallCounter, headers: dict[str, str]
    ) -> None:
        response = shipping(with_headers(load_event(UNIVERSAL), **headers))

        assert response["statusCode"] == 401
        assert response_body(response) == expect.SIGNATURE_REJECTED
        assert dynamodb_calls.count() == 0

    @staticmethod
    def _malformed(body: bytes) -> dict[str, str]:
        digest = hmac.new(DEV_SECRET.encode(), body, hashlib.sha256).digest()
        good = base64.b64encode(digest).decode()
        return {
            "hex": digest.hex(),
            "sha256-prefix": "sha256=" + good,
            "junk-appended": good + "!!",
            "padding-stripped": good.rstrip("="),
            "non-ascii": "\u00e9" + good[1:],
            "8kb": good * 200,
            "two-joined": f"{good},{good}",
            "random-32-bytes": base64.b64encode(bytes(range(32))).decode(),
        }

    @pytest.mark.parametrize(
        "case",
        [
            "hex",
            "sha256-prefix",
            "junk-appended",
            "padding-stripped",
            "non-ascii",
            "8kb",
            "two-joined",
            "random-32-bytes",
        ],
    )
    def test_malformed_or_wrong_signatures_are_rejected(
        self, shipping: HookFunction, dynamodb_calls: CallCounter, case: str
    ) -> None:
        event = load_event(UNIVERSAL)
        header = self._malformed(event["body"].encode())[case]

        response = shipping(with_headers(event, **{SIGNATURE_HEADER: header}))

        assert response["statusCode"] == 401
        assert response_body(response) == expect.SIGNATURE_REJECTED
        assert dynamodb_calls.count() == 0

    def test_a_body_changed_after_signing_is_rejected(self, shipping: HookFunction) -> None:
        event = load_event(UNIVERSAL)
        event["body"] = event["body"].replace('"quantity":2', '"quantity":3')

        assert shipping(event)["statusCode"] == 401

    def test_a_reserialised_body_is_rejected(self, shipping: HookFunction) -> None:
        # the signature covers Bolt's bytes (\u00e9, \/ escapes), not an equivalent JSON document
        event = load_event(UNIVERSAL)
        event["body"] = json.dumps(json.loads(event["body"]))

        assert shipping(event)["statusCode"] == 401

    def test_the_pending_secret_in_the_pending_header_is_accepted(self, shipping: HookFunction) -> None:
        event = load_event(UNIVERSAL)
        pending = sign(event["body"].encode(), DEV_PENDING_SECRET)

        response = shipping(with_headers(event, **{PENDING_SIGNATURE_HEADER: pending}))

        assert response["statusCode"] == 200

    def test_an_old_primary_with_a_valid_pending_signature_is_accepted(self, shipping: HookFunction) -> None:
        event = load_event(UNIVERSAL)
        body = event["body"].encode()
        headers = {
            SIGNATURE_HEADER: sign(body, "retired-secret"),
            PENDING_SIGNATURE_HEADER: sign(body, DEV_PENDING_SECRET),
        }

        assert shipping(with_headers(event, **headers))["statusCode"] == 200

    def test_a_rotated_secret_is_picked_up_by_a_warm_container(self, shipping: HookFunction, aws: AwsStack) -> None:
        # T07(e): the container cached the old secret; Bolt now signs with the new one
        assert shipping(load_event(UNIVERSAL))["statusCode"] == 200
        aws.put_secret({"signing_secret": "rotated-secret"})
        payload = universal_payload()

        response = shipping(resign(load_event(UNIVERSAL), payload, secret="rotated-secret"))

        assert response["statusCode"] == 200

    def test_a_flood_of_bad_signatures_refreshes_the_secret_at_most_once(self, shipping: HookFunction) -> None:
        # T07/T12: no secret-fetch amplification from invalid requests
        assert shipping(load_event(UNIVERSAL))["statusCode"] == 200
        secret_calls = CallCounter(DEFAULT_PROVIDERS["secrets"].client, service="secretsmanager")

        statuses = {shipping(load_event("shipping/bad_signature.json"))["statusCode"] for _ in range(25)}

        assert statuses == {401}
        assert secret_calls.count("GetSecretValue") <= 1


class TestBodyEncoding:
    def test_a_base64_encoded_body_is_verified_over_the_decoded_bytes(self, shipping: HookFunction) -> None:
        # T09(a): API Gateway hands binary-typed bodies over base64-encoded
        event = signed_event("shipping", universal_payload(), binary=True)
        assert event["isBase64Encoded"] is True

        response = shipping(event)

        assert response["statusCode"] == 200
        assert response_body(response) == response_body(shipping(load_event(UNIVERSAL)))

    @pytest.mark.parametrize("body", ["not base64 at all!", "QUJD=", "QUJDRA==junk", "\u00e9"])
    def test_invalid_base64_is_a_400(self, shipping: HookFunction, dynamodb_calls: CallCounter, body: str) -> None:
        # T09(b)
        event = load_event(UNIVERSAL)
        event["isBase64Encoded"] = True
        event["body"] = body

        response = shipping(event)

        assert response["statusCode"] == 400
        assert response_body(response) == expect.BAD_BASE64
        assert dynamodb_calls.count() == 0

    def test_signed_bytes_that_are_not_utf8_are_a_400(self, shipping: HookFunction) -> None:
        # T09(c): the HMAC is computed on bytes, so this reaches the JSON reader, which refuses it
        response = shipping(signed_event("shipping", b'{"event":"\xff"}', binary=True))

        assert response["statusCode"] == 400
        assert response_body(response) == expect.malformed("body is not UTF-8")

    def test_a_null_body_unsigned_is_a_401(self, shipping: HookFunction) -> None:
        # T09(d)
        event = without_signature(load_event(UNIVERSAL))
        event["body"] = None

        assert shipping(event)["statusCode"] == 401

    def test_a_null_body_signed_as_empty_is_a_400(self, shipping: HookFunction) -> None:
        event = with_headers(load_event(UNIVERSAL), **{SIGNATURE_HEADER: sign(b"", DEV_SECRET)})
        event["body"] = None

        response = shipping(event)

        assert response["statusCode"] == 400
        assert response_body(response) == expect.malformed("body is not valid JSON")


class TestBodyLimits:
    """T34: the size limit is enforced before the signature, the secret and the JSON parser."""

    @staticmethod
    def body_of_size(size: int) -> bytes:
        prefix, suffix = b'{"pad":"', b'"}'
        return prefix + b"x" * (size - len(prefix) - len(suffix)) + suffix

    @pytest.mark.parametrize("binary", [False, True], ids=["text", "base64"])
    def test_one_byte_over_the_limit_is_a_413(
        self, shipping: HookFunction, dynamodb_calls: CallCounter, binary: bool
    ) -> None:
        body = self.body_of_size(wiring.max_body_bytes() + 1)

        response = shipping(signed_event("shipping", body, binary=binary))

        assert response["statusCode"] == 413
        assert response_body(response) == expect.TOO_LARGE
        assert dynamodb_calls.count() == 0

    def test_an_oversized_body_is_refused_before_the_secret_is_needed(
        self, shipping: HookFunction, aws: AwsStack
    ) -> None:
        aws.secretsmanager.delete_secret(SecretId=aws.secret_name, ForceDeleteWithoutRecovery=True)

        response = shipping(signed_event("shipping", self.body_of_size(wiring.max_body_bytes() + 1), secret=None))

        assert response["statusCode"] == 413

    def test_a_body_at_the_limit_is_read(self, shipping: HookFunction) -> None:
        response = shipping(signed_event("shipping", self.body_of_size(wiring.max_body_bytes())))

        # signed and parsed: it only fails validation (no cart)
        assert response["statusCode"] == 422

    def test_the_limit_follows_max_body_bytes(self, shipping: HookFunction, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("MAX_BODY_BYTES", "2048")
        wiring.reset()

        response = shipping(signed_event("shipping", self.body_of_size(2049)))

        assert response["statusCode"] == 413


class TestInvalidBodies:
    @pytest.mark.parametrize(
        ("body", "reason"),
        [
            (b"this is not valid JSON", "body is not valid JSON"),
            (b'{"event":"order.shipping","data":', "body is not valid JSON"),
            (b"", "body is not valid JSON"),
            (b"[]", "body must be a JSON object"),
            (b'"string"', "body must be a JSON object"),
            (b"null", "body must be a JSON object"),
            (b'{"event":"order.shipping","event":"order.tax","data":{}}', "duplicate key in JSON object"),
            (b'{"data":{"cart":{"total_amount":NaN}}}', "non-standard JSON constant NaN"),
            (b'{"data":{"cart":{"total_amount":1e999}}}', "number out of range"),
            (b"[" * 100_000, "JSON nested too deeply"),
        ],
        ids=["text", "truncated", "empty", "array", "string", "null", "duplicate-key", "nan", "1e999", "deep"],
    )
    def test_signed_bodies_that_are_not_a_json_object_are_a_400(
        self, shipping: HookFunction, dynamodb_calls: CallCounter, body: bytes, reason: str
    ) -> None:
        # T28, T31, T34
        response = shipping(signed_event("shipping", body))

        assert response["statusCode"] == 400
        assert response_body(response) == expect.malformed(reason)
        assert dynamodb_calls.count() == 0

    def test_the_schema_invalid_event_is_a_422_naming_fields_not_values(self, shipping: HookFunction) -> None:
        event = load_event("shipping/schema_invalid.json")
        address = event_body(event)["data"]["shipping_address"]

        response = shipping(event)

        assert response["statusCode"] == 422
        assert response_body(response) == expect.failure(
            "order.shipping",
            6009,
            "Invalid or missing fields: cart.items.0.unit_price, shipping_address.country_code, "
            "shipping_address.postal_code",
        )
        assert address["postal_code"] not in response["body"]
        assert address["country_code"] not in response["body"]

    @pytest.mark.parametrize(
        "mutate",
        [
            lambda data: data["cart"]["items"][0].update(unit_price=f"{CANARY}"),
            lambda data: data["cart"]["items"][0].update(sku=f"{CANARY}#TX#1"),
            lambda data: data["shipping_address"].update(email=f"{CANARY}@example.com" * 20),
            lambda data: data["cart"].update(metadata={"note": CANARY * 30}),
            lambda data: data["cart"].update(metadata={f"{CANARY}@example.com": "x" * 300}),
        ],
        ids=["amount", "sku", "email", "metadata-value", "metadata-key"],
    )
    def test_no_input_is_echoed_in_a_422(
        self, shipping: HookFunction, mutate: Callable[[dict[str, Any]], None]
    ) -> None:
        # T29/T49: whatever was sent, the answer names fields only
        payload = universal_payload()
        mutate(payload["data"])

        response = shipping(resign(load_event(UNIVERSAL), payload))

        assert response["statusCode"] == 422
        assert response_body(response)["error"]["code"] == 6009
        assert CANARY not in response["body"]

    def test_a_country_we_do_not_ship_to_is_a_422_6103(self, shipping: HookFunction) -> None:
        payload = universal_payload()
        payload["data"]["shipping_address"].update(country_code="FR", region="Ile-de-France", postal_code="75001")

        response = shipping(resign(load_event(UNIVERSAL), payload))

        assert response["statusCode"] == 422
        assert response_body(response) == expect.failure("order.shipping", 6103, "We do not ship to FR")

    def test_an_item_we_do_not_sell_is_a_422_6103(self, shipping: HookFunction) -> None:
        payload = universal_payload()
        payload["data"]["cart"]["items"][0].update(sku="NOT-SOLD", reference="NOT-SOLD")

        response = shipping(resign(load_event(UNIVERSAL), payload))

        assert response["statusCode"] == 422
        assert response_body(response) == expect.failure("order.shipping", 6103, "Item NOT-SOLD is not sold here")

    def test_an_event_this_endpoint_does_not_serve_is_a_422(self, shipping: HookFunction) -> None:
        payload = universal_payload()
        payload["event"] = "order.create"

        response = shipping(resign(load_event(UNIVERSAL), payload))

        assert response["statusCode"] == 422
        assert response_body(response) == expect.failure("order.create", 6001, "Unsupported event for this endpoint")

    def test_unknown_fields_are_ignored(self, shipping: HookFunction) -> None:
        # T32
        payload = universal_payload()
        payload["data"]["estimated_delivery_experiment"] = True
        payload["data"]["cart"]["new_bolt_field"] = {"nested": [1, {"x": None}]}

        assert shipping(resign(load_event(UNIVERSAL), payload))["statusCode"] == 200


class TestDependencies:
    """T36/T41: a dependency failure is a retryable 503 with Retry-After, never a 401 or a 500."""

    def test_secrets_manager_failure_is_a_503_not_a_401(self, shipping: HookFunction, aws: AwsStack) -> None:
        aws.secretsmanager.delete_secret(SecretId=aws.secret_name, ForceDeleteWithoutRecovery=True)

        response = shipping(load_event(UNIVERSAL))

        assert response["statusCode"] == 503
        assert response_header(response, "Retry-After") == "5"
        assert response_body(response) == expect.UNAVAILABLE

    def test_a_secret_without_a_signing_secret_is_a_503(self, shipping: HookFunction, aws: AwsStack) -> None:
        aws.put_secret({"api_key": "only-an-api-key"})

        response = shipping(load_event(UNIVERSAL))

        assert response["statusCode"] == 503
        assert response_body(response) == expect.UNAVAILABLE

    def test_recovers_once_the_secret_is_back(self, shipping: HookFunction, aws: AwsStack) -> None:
        aws.secretsmanager.delete_secret(SecretId=aws.secret_name, ForceDeleteWithoutRecovery=True)
        assert shipping(load_event(UNIVERSAL))["statusCode"] == 503

        aws.secretsmanager.create_secret(Name=aws.secret_name, SecretString=json.dumps({"signing_secret": DEV_SECRET}))

        assert shipping(load_event(UNIVERSAL))["statusCode"] == 200

    def test_dynamodb_failure_is_a_503(self, shipping: HookFunction, aws: AwsStack) -> None:
        aws.dynamodb.delete_table(TableName=aws.catalog_table)

        response = shipping(load_event(UNIVERSAL))

        assert response["statusCode"] == 503
        assert response_header(response, "Retry-After") == "5"
        assert response_body(response) == {"event": "order.shipping", **expect.UNAVAILABLE}

    def test_an_empty_catalog_is_a_503(self, shipping: HookFunction, aws: AwsStack) -> None:
        aws.dynamodb.delete_item(TableName=aws.catalog_table, Key={"pk": {"S": "SETTINGS"}})

        response = shipping(load_event(UNIVERSAL))

        assert response["statusCode"] == 503
