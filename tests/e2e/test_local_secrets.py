"""`BOLT_SIGNING_SECRET=... make run`: the documented overrides drive the whole local stack, its functions (through
the secret it stores in its embedded Secrets Manager) and its fake Bolt API alike, and the defaults are then refused.

Before the fix the stack stored the default secret while the fake Bolt took the override: requests signed with the
override got 401, and so did the fake Bolt's own webhooks.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bolt_merchant.bolt.signed import PENDING_SIGNATURE_HEADER

from devstack import bolt_payloads
from devstack.bolt_payloads import sign
from devstack.oms_sink import ADMIN_PATH
from devstack.process import stack_process
from devstack.settings import DEFAULT_API_KEY, DEFAULT_PENDING_SECRET, DEFAULT_SIGNING_SECRET
from devstack.simulator import run_checkout
from tests.local_stack import (
    FAKE_BOLT_URL,
    OMS_SINK_URL,
    StackClient,
    post_signed,
    request,
    stack_environment,
    wait_for,
)

pytestmark = pytest.mark.e2e

OVERRIDES = {
    "BOLT_SIGNING_SECRET": "e2e-override-signing-secret",
    "BOLT_SIGNING_SECRET_PENDING": "e2e-override-pending-secret",
    "BOLT_API_KEY": "e2e-override-api-key",
    "OMS_SIGNING_SECRET": "e2e-override-oms-secret",
}
# The test needs the stack's own OMS sink and pollers, whatever the developer's shell says.
LOCAL_OVERRIDES = ("LOCAL_OMS_URL", "LOCAL_POLLERS")
SHIPPING = bolt_payloads.shipping_request()


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("devstack-secrets") / "stack.log"


@dataclass(frozen=True)
class Stack(StackClient):
    oms: str


@pytest.fixture(scope="module")
def stack(log: Path) -> Iterator[Stack]:
    environment = stack_environment(*LOCAL_OVERRIDES, LOCAL_CONTAINERS="2", **OVERRIDES)
    with stack_process(environment, log_path=log) as process:
        yield Stack(api=process.url, bolt=process.announced(FAKE_BOLT_URL), oms=process.announced(OMS_SINK_URL))


def hand_offs_for(stack: Stack, order_id: str) -> list[dict[str, Any]]:
    received = request(stack.oms, "GET", ADMIN_PATH).body
    return [request for request in received if (request.get("json") or {}).get("order_id") == order_id]


def test_hooks_accept_the_overridden_secrets_and_refuse_the_defaults(stack: Stack) -> None:
    raw = bolt_payloads.php_style_json(SHIPPING)

    def status(secret: str, header: str = "X-Bolt-Hmac-Sha256") -> int:
        return request(stack.api, "POST", "/bolt/shipping", raw, {header: sign(raw, secret)}).status

    assert post_signed(stack.api, "/bolt/shipping", SHIPPING, OVERRIDES["BOLT_SIGNING_SECRET"]).status == 200
    assert status(OVERRIDES["BOLT_SIGNING_SECRET_PENDING"], PENDING_SIGNATURE_HEADER) == 200
    assert status(DEFAULT_SIGNING_SECRET) == 401
    assert status(DEFAULT_PENDING_SECRET, PENDING_SIGNATURE_HEADER) == 401


def test_a_whole_checkout_signed_with_the_override_passes(stack: Stack) -> None:
    # The order token step goes through the fake Bolt API with the overridden API key.
    result = run_checkout(stack.api, OVERRIDES["BOLT_SIGNING_SECRET"], rng_seed="override")

    assert result.ok, result.errors
    calls = stack.fake("GET", "/_fake/calls")["calls"]
    assert calls
    assert all(call["api_key_ok"] for call in calls)
    # Fulfilment signs its hand-off with the overridden OMS secret, which the local OMS sink verifies with.
    hand_off = wait_for(f"a hand-off of {result.order_id}", lambda: hand_offs_for(stack, str(result.order_id)))
    assert [request["signature_verified"] for request in hand_off] == [True]


def test_the_fake_bolts_webhooks_are_signed_with_the_override_and_accepted(stack: Stack) -> None:
    created = stack.call(
        "POST", "/storefront/carts", {"currency": "USD", "items": [{"sku": "MUG-12OZ", "quantity": 1}]}
    )
    assert created.status == 201, created
    token = stack.call("POST", f"/storefront/carts/{created.body['cart_id']}/bolt-order-token")
    assert token.status == 200, token

    sent = stack.fake("POST", "/_fake/authorize", {"order_token": token.body["order_token"], "webhooks": ["pending"]})

    assert [(webhook["type"], webhook["status"]) for webhook in sent["webhooks"]] == [("pending", 200)]


def test_no_override_reaches_the_log(stack: Stack, log: Path) -> None:
    text = log.read_text(errors="replace")

    assert [name for name, value in OVERRIDES.items() if value in text] == []
    assert DEFAULT_API_KEY not in text
