"""The local stack over HTTP: `python -m devstack` in a subprocess, real handlers, Bolt-signed requests."""

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from bolt_merchant.bolt.signed import PENDING_SIGNATURE_HEADER, SIGNATURE_HEADER

from devstack.bolt_payloads import sign
from devstack.process import stack_process
from devstack.settings import DEFAULT_PENDING_SECRET, DEFAULT_SIGNING_SECRET
from tests.local_stack import SF_ADDRESS, post_signed, request, stack_environment

pytestmark = pytest.mark.e2e

TOTES = {
    "currency": "USD",
    "items": [{"reference": "TOTE-BLUE", "sku": "TOTE-BLUE", "quantity": 2, "unit_price": 2400}],
}
HOODIES = {
    "currency": "USD",
    "items": [{"reference": "HOODIE-M", "sku": "HOODIE-M", "quantity": 2, "unit_price": 6800}],
}

VALID_BODY = json.dumps({"cart": TOTES, "shipping_address": SF_ADDRESS}).encode()


@pytest.fixture(scope="session")
def stack_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("devstack") / "stack.log"


@pytest.fixture(scope="session")
def base_url(stack_log: Path) -> Iterator[str]:
    with stack_process(stack_environment(LOG_FORMAT="json"), log_path=stack_log) as stack:
        yield stack.url


def tax_request(cart: Mapping[str, Any]) -> dict[str, Any]:
    return {"cart": cart, "shipping_address": SF_ADDRESS, "shipping_option": {"reference": "standard"}}


def test_shipping_offers_union_square_pickup(base_url: str) -> None:
    reply = post_signed(base_url, "/bolt/shipping", {"cart": TOTES, "shipping_address": SF_ADDRESS})

    assert reply.status == 200
    assert reply.body["status"] == "success"
    assert "store-sf" in {option["reference"] for option in reply.body["in_store_pickup_options"]}


def test_tax_is_the_san_francisco_rate_on_the_subtotal(base_url: str) -> None:
    reply = post_signed(base_url, "/bolt/tax", tax_request(TOTES))

    assert reply.status == 200
    assert reply.body["tax_result"]["subtotal_amount"] == 348  # 7.25% of 4800


def test_universal_endpoint_wraps_the_tax_answer_in_data(base_url: str) -> None:
    reply = post_signed(base_url, "/bolt/universal", {"event": "order.tax", "data": tax_request(TOTES)})

    assert reply.status == 200
    assert reply.body["data"]["tax_result"]["subtotal_amount"] == 348


@pytest.mark.parametrize(("cart", "standard_cost"), [(TOTES, 599), (HOODIES, 0)], ids=["4800", "13600"])
def test_standard_shipping_is_free_from_7500(base_url: str, cart: Mapping[str, Any], standard_cost: int) -> None:
    reply = post_signed(base_url, "/bolt/shipping", {"cart": cart, "shipping_address": SF_ADDRESS})

    assert reply.status == 200
    costs = {option["reference"]: option["cost"] for option in reply.body["shipping_options"]}
    assert costs["standard"] == standard_cost


def test_shipping_and_tax_prices_tax_per_option(base_url: str) -> None:
    reply = post_signed(base_url, "/bolt/shipping-and-tax", {"cart": TOTES, "shipping_address": SF_ADDRESS})

    assert reply.status == 200
    assert reply.body["shipping_options"]
    assert all("tax_amount" in option for option in reply.body["shipping_options"])


def test_pending_secret_signature_is_accepted(base_url: str) -> None:
    headers = {PENDING_SIGNATURE_HEADER: sign(VALID_BODY, DEFAULT_PENDING_SECRET)}

    reply = request(base_url, "POST", "/bolt/shipping", VALID_BODY, headers)

    assert reply.status == 200
    assert reply.body["status"] == "success"


@pytest.mark.parametrize(
    ("body", "headers", "expected_status"),
    [
        (VALID_BODY, {}, 401),
        (VALID_BODY, {SIGNATURE_HEADER: sign(VALID_BODY, "not-the-secret")}, 401),
        (VALID_BODY, {SIGNATURE_HEADER: "caf\u00e9-not-base64".encode("latin-1")}, 401),
        (VALID_BODY, {SIGNATURE_HEADER: "\u00fcber".encode()}, 401),
        (VALID_BODY, {SIGNATURE_HEADER: "%%%junk%%%"}, 401),
        (b"{not json", {SIGNATURE_HEADER: sign(b"{not json", DEFAULT_SIGNING_SECRET)}, 400),
        (b'{"cart": 1}', {SIGNATURE_HEADER: sign(b'{"cart": 1}', DEFAULT_SIGNING_SECRET)}, 422),
    ],
    ids=["unsigned", "wrong-secret", "latin-1-header", "utf-8-header", "junk-header", "not-json", "invalid-schema"],
)
def test_rejected_requests_answer_bolt_failures(
    base_url: str, body: bytes, headers: Mapping[str, str | bytes], expected_status: int
) -> None:
    reply = request(base_url, "POST", "/bolt/shipping", body, headers)

    assert reply.status == expected_status
    assert reply.body["status"] == "failure"


def test_unknown_path_is_not_found(base_url: str) -> None:
    reply = request(base_url, "POST", "/bolt/nope", b"{}")

    assert reply.status == 404
    assert reply.body == {"message": "Not Found"}


def test_known_path_with_another_method_is_not_allowed(base_url: str) -> None:
    reply = request(base_url, "GET", "/bolt/shipping")

    assert reply.status == 405
    assert reply.body == {"message": "Method Not Allowed"}


def test_each_request_is_one_line_after_the_functions_json_log_lines(base_url: str, stack_log: Path) -> None:
    before = len(stack_log.read_text(errors="replace").splitlines())

    post_signed(base_url, "/bolt/tax", tax_request(HOODIES))

    # The invocation's lines are written before its answer is sent.
    logged_line, line = stack_log.read_text(errors="replace").splitlines()[before:]
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3}  Tax +order\.tax +200  ok +\d+ ms", line), line
    logged = json.loads(logged_line)  # LOG_FORMAT=json: the function's own log line comes first
    assert (logged["service"], logged["bolt_event"], logged["status_code"]) == ("bolt-merchant-local", "order.tax", 200)
    text = stack_log.read_text(errors="replace")
    assert [noise for noise in ("No application metrics", '"_aws"', '"POST /bolt') if noise in text] == []
