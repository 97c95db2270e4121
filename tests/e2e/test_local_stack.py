"""The local stack over HTTP: `python -m devstack` in a subprocess, real handlers, Bolt-signed requests."""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from bolt_merchant.signing import PENDING_SIGNATURE_HEADER, SIGNATURE_HEADER, sign

from devstack.settings import DEFAULT_PENDING_SECRET, DEFAULT_SIGNING_SECRET

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 60
# The tests sign with devstack's default secrets, so a developer's own must not reach the stack.
SECRET_OVERRIDES = ("BOLT_SIGNING_SECRET", "BOLT_SIGNING_SECRET_PENDING", "BOLT_API_KEY")
SF_ADDRESS = {
    "street_address1": "1 Market St",
    "locality": "San Francisco",
    "region": "CA",
    "postal_code": "94102",
    "country_code": "US",
}
TOTES = {
    "currency": "USD",
    "items": [{"reference": "TOTE-BLUE", "sku": "TOTE-BLUE", "quantity": 2, "unit_price": 2400}],
}
HOODIES = {
    "currency": "USD",
    "items": [{"reference": "HOODIE-M", "sku": "HOODIE-M", "quantity": 2, "unit_price": 6800}],
}

VALID_BODY = json.dumps({"cart": TOTES, "shipping_address": SF_ADDRESS}).encode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_ready(process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("local stack ready on "):
                return line.removeprefix("local stack ready on ").strip()
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"local stack did not become ready:\n{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture(scope="session")
def stack_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("devstack") / "stack.log"


@pytest.fixture(scope="session")
def base_url(stack_log: Path) -> Iterator[str]:
    inherited = {name: value for name, value in os.environ.items() if name not in SECRET_OVERRIDES}
    env = {**inherited, "PORT": str(_free_port()), "PYTHONUNBUFFERED": "1"}
    with stack_log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        yield _wait_until_ready(process, stack_log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def call(
    base_url: str, path: str, body: bytes, headers: Mapping[str, str | bytes], method: str = "POST"
) -> tuple[int, Any]:
    """One request with headers sent as given (http.client lets a test send bytes urllib would refuse)."""
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
    try:
        connection.putrequest(method, path)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def post_signed(base_url: str, path: str, payload: Any, secret: str = DEFAULT_SIGNING_SECRET) -> tuple[int, Any]:
    body = json.dumps(payload).encode()
    return call(base_url, path, body, {SIGNATURE_HEADER: sign(body, secret)})


def tax_request(cart: Mapping[str, Any]) -> dict[str, Any]:
    return {"cart": cart, "shipping_address": SF_ADDRESS, "shipping_option": {"reference": "standard"}}


def test_shipping_offers_union_square_pickup(base_url: str) -> None:
    status, body = post_signed(base_url, "/bolt/shipping", {"cart": TOTES, "shipping_address": SF_ADDRESS})

    assert status == 200
    assert body["status"] == "success"
    assert "store-sf" in {option["reference"] for option in body["in_store_pickup_options"]}


def test_tax_is_the_san_francisco_rate_on_the_subtotal(base_url: str) -> None:
    status, body = post_signed(base_url, "/bolt/tax", tax_request(TOTES))

    assert status == 200
    assert body["tax_result"]["subtotal_amount"] == 348  # 7.25% of 4800


def test_universal_endpoint_wraps_the_tax_answer_in_data(base_url: str) -> None:
    status, body = post_signed(base_url, "/bolt/universal", {"event": "order.tax", "data": tax_request(TOTES)})

    assert status == 200
    assert body["data"]["tax_result"]["subtotal_amount"] == 348


@pytest.mark.parametrize(("cart", "standard_cost"), [(TOTES, 599), (HOODIES, 0)], ids=["4800", "13600"])
def test_standard_shipping_is_free_from_7500(base_url: str, cart: Mapping[str, Any], standard_cost: int) -> None:
    status, body = post_signed(base_url, "/bolt/shipping", {"cart": cart, "shipping_address": SF_ADDRESS})

    assert status == 200
    assert {option["reference"]: option["cost"] for option in body["shipping_options"]}["standard"] == standard_cost


def test_shipping_and_tax_prices_tax_per_option(base_url: str) -> None:
    status, body = post_signed(base_url, "/bolt/shipping-and-tax", {"cart": TOTES, "shipping_address": SF_ADDRESS})

    assert status == 200
    assert body["shipping_options"]
    assert all("tax_amount" in option for option in body["shipping_options"])


def test_pending_secret_signature_is_accepted(base_url: str) -> None:
    headers = {PENDING_SIGNATURE_HEADER: sign(VALID_BODY, DEFAULT_PENDING_SECRET)}

    status, answer = call(base_url, "/bolt/shipping", VALID_BODY, headers)

    assert status == 200
    assert answer["status"] == "success"


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
    status, answer = call(base_url, "/bolt/shipping", body, headers)

    assert status == expected_status
    assert answer["status"] == "failure"


def test_unknown_path_is_not_found(base_url: str) -> None:
    status, body = call(base_url, "/bolt/nope", b"{}", {})

    assert status == 404
    assert body == {"message": "Not Found"}


def test_known_path_with_another_method_is_not_allowed(base_url: str) -> None:
    status, body = call(base_url, "/bolt/shipping", b"", {}, method="GET")

    assert status == 405
    assert body == {"message": "Method Not Allowed"}


def test_handlers_log_under_the_local_service_name(base_url: str, stack_log: Path) -> None:
    call(base_url, "/bolt/shipping", VALID_BODY, {})

    assert '"service":"bolt-merchant-local"' in stack_log.read_text(errors="replace")
