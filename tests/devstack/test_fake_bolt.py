"""devstack's fake Bolt API: Bolt's rules, Idempotency-Key semantics, faults and signed webhooks, over loopback."""

import json
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from bolt_merchant.bolt.api import BoltApiClient
from bolt_merchant.bolt.signed import SIGNATURE_HEADER, is_signed_by
from bolt_merchant.core.errors import BoltBusy as BoltConcurrentRequest
from bolt_merchant.core.errors import BoltNotFound
from bolt_merchant.core.errors import BoltRefused as BoltInvalidRequest

from devstack.fake_bolt import FakeBolt
from devstack.settings import DEFAULT_API_KEY, DEFAULT_SIGNING_SECRET

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

CART = {"order_reference": "c_1", "display_id": "BO-1", "currency": "USD", "total_amount": 5000, "items": []}


@pytest.fixture
def delivered() -> list[tuple[bytes, dict[str, str]]]:
    return []


@pytest.fixture
def fake(delivered: list[tuple[bytes, dict[str, str]]]) -> Iterator[FakeBolt]:
    def deliver(raw: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        delivered.append((raw, headers))
        return 200, {"status": "success"}

    with FakeBolt(port=0, deliver=deliver, webhook_delay_seconds=0) as running:
        yield running


@pytest.fixture
def client(fake: FakeBolt) -> BoltApiClient:
    return BoltApiClient(fake.url, api_key=lambda: DEFAULT_API_KEY, backoff_seconds=0.001, sleep=lambda _: None)


def _authorised(fake: FakeBolt, amount: int = 5000) -> str:
    return str(fake.authorize(cart=CART, amount=amount, webhooks=[])["transaction"]["reference"])


def test_order_token_then_authorisation_sends_a_signed_auth_webhook(
    fake: FakeBolt, client: BoltApiClient, delivered: list[tuple[bytes, dict[str, str]]]
) -> None:
    token = client.create_order_token({"channel": "browser", "cart": CART})

    result = fake.authorize(token, amount=5599)

    raw, headers = delivered[-1]
    assert is_signed_by(raw, [headers[SIGNATURE_HEADER]], [DEFAULT_SIGNING_SECRET])
    hook = json.loads(raw)
    assert (hook["type"], hook["object"]) == ("auth", "transaction")
    assert hook["data"]["amount"] == {"amount": 5599, "currency": "USD", "currency_symbol": "$"}
    assert hook["data"]["order"]["cart"]["order_reference"] == "c_1"
    assert result["transaction"]["status"] == "authorized"


def test_partial_captures_stay_authorized_until_the_last(fake: FakeBolt, client: BoltApiClient) -> None:
    reference = _authorised(fake)

    first = client.capture(reference, 2000, "USD", "k1")
    last = client.capture(reference, 3000, "USD", "k2")

    assert first["status"] == "authorized"
    assert last["status"] == "completed"
    assert [c["amount"]["amount"] for c in last["captures"]] == [2000, 3000]
    with pytest.raises(BoltInvalidRequest) as refused:
        client.capture(reference, 1, "USD", "k3")
    assert refused.value.status == 422


@pytest.mark.parametrize(
    ("amount", "currency", "code"),
    [(5001, "USD", 22), (0, "USD", 2), (100, "EUR", 6)],
    ids=["above-authorisation", "zero", "currency"],
)
def test_capture_rules_answer_422_with_bolts_error_body(
    fake: FakeBolt, client: BoltApiClient, amount: int, currency: str, code: int
) -> None:
    reference = _authorised(fake)

    with pytest.raises(BoltInvalidRequest) as refused:
        client.capture(reference, amount, currency, f"k-{amount}")

    assert refused.value.bolt_code == code


def test_credits_are_new_transactions_bounded_by_what_was_captured(fake: FakeBolt, client: BoltApiClient) -> None:
    reference = _authorised(fake)
    client.capture(reference, 3000, "USD", "cap")

    credit = client.credit(reference, 1000, "USD", "cr-1")

    assert credit["type"] == "cc_credit"
    assert credit["source_transaction"]["reference"] == reference
    assert credit["credit"] == {"status": "succeeded"}
    with pytest.raises(BoltInvalidRequest):
        client.credit(reference, 2001, "USD", "cr-2")
    assert client.transaction(reference)["refund_transaction_ids"] == [credit["id"]]


def test_void_cancels_or_after_a_partial_capture_closes_the_rest(fake: FakeBolt, client: BoltApiClient) -> None:
    untouched = _authorised(fake)
    partly = _authorised(fake)
    client.capture(partly, 100, "USD", "cap")

    assert client.void(untouched, "v1")["status"] == "cancelled"
    assert client.void(partly, "v2")["status"] == "completed"
    with pytest.raises(BoltInvalidRequest):
        client.void(untouched, "v3")
    with pytest.raises(BoltNotFound):
        client.void("NOPE-NOPE-NOPE", "v4")


def test_idempotency_key_replays_refuses_other_bodies_and_concurrent_use(fake: FakeBolt, client: BoltApiClient) -> None:
    reference = _authorised(fake)
    first = client.capture(reference, 100, "USD", "same")

    replay = requests.post(
        f"{fake.url}/v1/merchant/transactions/capture",
        data=json.dumps(fake.api_calls()[-1]["body"]),
        headers={"X-Api-Key": DEFAULT_API_KEY, "X-Nonce": uuid.uuid4().hex, "Idempotency-Key": "same"},
        timeout=5,
    )
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first
    with pytest.raises(BoltInvalidRequest):
        client.capture(reference, 200, "USD", "same")

    fake.inject(None, path="/v1/merchant/transactions/capture", delay=0.5)
    slow = threading.Thread(target=client.capture, args=(reference, 300, "USD", "held"))
    slow.start()
    while not any(c["idempotency_key"] == "held" for c in fake.api_calls()):
        time.sleep(0.005)
    impatient = BoltApiClient(fake.url, api_key=lambda: DEFAULT_API_KEY, sleep=lambda _: None)
    with pytest.raises(BoltConcurrentRequest):
        impatient.capture(reference, 300, "USD", "held")
    slow.join()
    assert len(fake.transaction(reference)["captures"]) == 2


def test_the_api_key_and_a_fresh_nonce_are_required(fake: FakeBolt) -> None:
    url = f"{fake.url}/v1/merchant/transactions/NOPE"
    nonce = uuid.uuid4().hex

    wrong_key = requests.get(url, headers={"X-Api-Key": "nope", "X-Nonce": nonce}, timeout=5)
    first = requests.get(url, headers={"X-Api-Key": DEFAULT_API_KEY, "X-Nonce": nonce}, timeout=5)
    reused = requests.get(url, headers={"X-Api-Key": DEFAULT_API_KEY, "X-Nonce": nonce}, timeout=5)

    assert wrong_key.status_code == 401
    assert first.status_code == 404
    assert reused.status_code == 400


def test_actions_without_skip_hook_notification_send_their_webhook(
    fake: FakeBolt, delivered: list[tuple[bytes, dict[str, str]]]
) -> None:
    reference = _authorised(fake)
    body = {"transaction_reference": reference, "amount": 100, "currency": "USD"}
    headers = {"X-Api-Key": DEFAULT_API_KEY, "X-Nonce": uuid.uuid4().hex}

    requests.post(f"{fake.url}/v1/merchant/transactions/capture", json=body, headers=headers, timeout=5)
    for thread in list(fake._threads):
        thread.join(timeout=5)

    assert [json.loads(raw)["type"] for raw, _ in delivered] == ["capture"]


def test_control_api_over_http(fake: FakeBolt) -> None:
    def control(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{fake.url}{path}", data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    status, authorised = control("POST", "/_fake/authorize", {"cart": CART, "amount": 700, "webhooks": []})
    reference = authorised["transaction"]["reference"]
    assert status == 200
    assert control("POST", f"/_fake/transactions/{reference}/capture", {"amount": 200})[0] == 200
    assert control("POST", "/_fake/faults", {"status": 503, "count": 2})[0] == 200
    assert control("POST", "/_fake/webhooks", {"reference": reference, "type": "capture"})[1]["status"] == 200
    assert control("POST", "/_fake/webhooks", {})[0] == 400
    assert control("DELETE", "/_fake/faults")[0] == 200
    assert control("GET", "/_fake/calls")[1] == {"calls": []}
    assert control("GET", "/_fake/nope")[0] == 404
