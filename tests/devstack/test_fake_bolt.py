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

from devstack.fake_bolt import BoltRefusal, FakeBolt
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
    assert control("POST", f"/_fake/transactions/{reference}/credit", {"amount": 50})[0] == 200
    assert control("POST", f"/_fake/transactions/{reference}/refund", {"amount": 50})[0] == 404
    assert control("GET", "/_fake/ledger")[1]["payments"][0]["captures"] != {}
    assert control("POST", "/_fake/webhook-faults", {"action": "hold", "reference": reference})[0] == 200
    assert control("POST", "/_fake/webhook-faults", {"action": "lose"})[0] == 400
    assert control("POST", "/_fake/webhooks", {"reference": reference, "type": "auth"})[1]["fault"] == "hold"
    assert [w["type"] for w in control("POST", "/_fake/webhooks/release", {"seed": 1})[1]["webhooks"]] == ["auth"]
    assert control("DELETE", "/_fake/webhook-faults")[0] == 200
    assert control("POST", "/_fake/faults", {"status": 503, "count": 2})[0] == 200
    assert control("POST", "/_fake/webhooks", {"reference": reference, "type": "capture"})[1]["status"] == 200
    assert control("POST", "/_fake/webhooks", {})[0] == 400
    assert control("DELETE", "/_fake/faults")[0] == 200
    assert control("GET", "/_fake/calls")[1] == {"calls": []}
    assert control("GET", "/_fake/nope")[0] == 404


def _sent(delivered: list[tuple[bytes, dict[str, str]]]) -> list[str]:
    return [json.loads(raw)["type"] for raw, _ in delivered]


def test_dashboard_changes_follow_bolts_rules_and_reach_the_merchant_only_with_a_webhook(
    fake: FakeBolt, delivered: list[tuple[bytes, dict[str, str]]]
) -> None:
    reference = _authorised(fake)

    fake.dashboard(reference, "capture", 3000)
    credit = fake.dashboard(reference, "credit", 1000, webhook=True)
    with pytest.raises(BoltRefusal):
        fake.dashboard(reference, "credit", 2001)  # more than is left of what was captured
    fake.dashboard(reference, "void")

    (payment,) = fake.ledger()
    assert payment["status"] == "completed"  # a void after a partial capture closes the rest
    assert list(payment["captures"].values()) == [3000]
    assert payment["credits"] == {credit["id"]: 1000}
    assert _sent(delivered) == ["credit"]


def test_transaction_details_list_the_refunds(fake: FakeBolt, client: BoltApiClient) -> None:
    reference = _authorised(fake)
    fake.dashboard(reference, "capture", 5000)
    credit = fake.dashboard(reference, "credit", 1200)

    details = client.transaction(reference)

    assert [(r["id"], r["amount"]["amount"], r["type"]) for r in details["refund_transactions"]] == [
        (credit["id"], 1200, "cc_credit")
    ]


def test_webhooks_can_be_dropped_held_and_released_out_of_order_or_delivered_twice(
    fake: FakeBolt, delivered: list[tuple[bytes, dict[str, str]]]
) -> None:
    reference = _authorised(fake)
    other = _authorised(fake)
    fake.inject_webhook_fault("drop", reference=reference, type="auth")
    fake.inject_webhook_fault("hold", count=2, reference=reference)
    fake.inject_webhook_fault("duplicate", reference=reference)

    fake.send_webhook(other, "auth")  # not this payment's: delivered
    dropped = fake.send_webhook(reference, "auth")
    fake.send_webhook(reference, "pending")
    fake.send_webhook(reference, "capture")
    assert _sent(delivered) == ["auth"]
    fake.send_webhook(reference, "void")
    assert _sent(delivered) == ["auth", "void", "void"]

    released = fake.release_webhooks(seed=3)

    assert dropped["fault"] == "drop"
    assert dropped["status"] is None
    assert sorted(_sent(delivered)[3:]) == ["capture", "pending"]
    assert all(record["status"] == 200 for record in released)
    assert fake.release_webhooks() == []


def test_review_approves_or_rejects_a_payment_flagged_for_review(
    fake: FakeBolt, client: BoltApiClient, delivered: list[tuple[bytes, dict[str, str]]]
) -> None:
    flagged = fake.authorize(cart=CART, amount=5000, review=True)["transaction"]["reference"]
    rejected = fake.authorize(cart={**CART, "order_reference": "c_2"}, amount=5000, review=True)
    assert _sent(delivered) == ["rejected_reversible", "rejected_reversible"]

    approved = client.review(flagged, "approve", str(uuid.uuid4()))
    refused = client.review(rejected["transaction"]["reference"], "reject", str(uuid.uuid4()))
    with pytest.raises(BoltInvalidRequest):
        client.review(flagged, "approve", str(uuid.uuid4()))  # no longer under review

    assert (approved["status"], refused["status"]) == ("authorized", "rejected_irreversible")
