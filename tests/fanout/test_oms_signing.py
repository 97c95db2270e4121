"""Fulfilment hand-offs are signed (X-Merchant-Signature, X-Merchant-Timestamp over the exact body) with the OMS
signing secret from Secrets Manager, go only over https (or http to this machine), and the local OMS sink, which
verifies them as an OMS should, rejects anything tampered with."""

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from bolt_merchant.core.errors import ConfigurationError
from bolt_merchant.fanout import signing
from bolt_merchant.fanout.oms import OmsClient, OmsRejected

from devstack.oms_sink import OmsSink
from devstack.template import load_template
from tests.fanout.support import OMS_SECRET, FanoutStack, order, outbox_event

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

QUEUE = "FulfilmentQueue"


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[OmsSink]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    server = OmsSink(signing_secret=OMS_SECRET)
    server.start()
    yield server
    server.stop()


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def hand_off(fanout: FanoutStack, sink: OmsSink, **environment: str) -> dict[str, int]:
    handler = fanout.use_function("fulfilment", OMS_ENDPOINT_URL=sink.endpoint_url, **environment)
    fanout.put_order(order("BO-ORDER00001"))
    event = outbox_event("BO-ORDER00001")
    fanout.send(QUEUE, event.model_dump_json(), event.order_id, event.event_id)
    return fanout.drive(QUEUE, handler)


# ---------------------------------------------------------------- the signature


def test_the_signature_covers_the_timestamp_and_every_byte_of_the_body() -> None:
    body = b'{"order_id":"BO-1","totals":{"total":6330}}'
    signed = signing.signed_headers("s3cret", body, now=1_767_225_600.9)
    assert signed[signing.TIMESTAMP_HEADER] == "1767225600"
    assert signing.verify("s3cret", body, "1767225600", signed[signing.SIGNATURE_HEADER], now=1_767_225_700)

    signature = signed[signing.SIGNATURE_HEADER]
    assert not signing.verify("s3cret", body.replace(b"6330", b"6331"), "1767225600", signature, now=1_767_225_700)
    assert not signing.verify("s3cret", body + b" ", "1767225600", signature, now=1_767_225_700)
    assert not signing.verify("s3cret", body, "1767225601", signature, now=1_767_225_700)  # another time
    assert not signing.verify("other", body, "1767225600", signature, now=1_767_225_700)
    assert not signing.verify("s3cret", body, "1767225600", signature, now=1_767_225_600 + 301)  # stale: a replay
    assert not signing.verify("s3cret", body, None, signature, now=1_767_225_700)
    assert not signing.verify("s3cret", body, "1767225600", None, now=1_767_225_700)


def test_the_readme_shows_the_oms_side_verification() -> None:
    """The few lines an OMS needs, as README.md prints them, accept a real hand-off and refuse a tampered one."""
    from devstack.template import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (snippet,) = re.findall(r"```python\n(# OMS side.*?)```", readme, re.S)
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)
    body = b'{"order_id":"BO-1"}'
    headers = signing.signed_headers("s3cret", body, now=time.time())
    assert namespace["verified"]("s3cret", body, headers) is True
    assert namespace["verified"]("s3cret", body.replace(b"1", b"2"), headers) is False


# ---------------------------------------------------------------- the fulfilment function and the sink


def test_a_hand_off_is_signed_with_the_secret_from_secrets_manager_and_verifies(
    fanout: FanoutStack, sink: OmsSink
) -> None:
    deliveries = hand_off(fanout, sink)

    assert list(deliveries.values()) == [1]
    (received,) = sink.requests()
    assert received["signature_verified"] is True
    body = received["body"].encode()
    timestamp = received["headers"][signing.TIMESTAMP_HEADER]
    assert abs(int(timestamp) - time.time()) < 60
    assert received["headers"][signing.SIGNATURE_HEADER] == signing.signature(OMS_SECRET, timestamp, body)
    assert json.loads(body)["order_id"] == "BO-ORDER00001"


def test_the_sink_rejects_a_tampered_body_a_replay_and_an_unsigned_post(sink: OmsSink) -> None:
    body = b'{"order_id":"BO-ORDER00001","totals":{"total":6330}}'
    headers = {"Content-Type": "application/json", **signing.signed_headers(OMS_SECRET, body, time.time())}
    stale = signing.signed_headers(OMS_SECRET, body, time.time() - 600)

    assert post(sink.endpoint_url, body.replace(b"6330", b"1"), headers) == 401
    assert post(sink.endpoint_url, body, {"Content-Type": "application/json", **stale}) == 401
    assert post(sink.endpoint_url, body, {"Content-Type": "application/json"}) == 401
    assert post(sink.endpoint_url, body, headers) == 201
    assert [r["signature_verified"] for r in sink.requests()] == [False, False, False, True]


def test_a_hand_off_signed_with_another_secret_is_refused_and_parked_not_lost(
    fanout: FanoutStack, sink: OmsSink
) -> None:
    # Given a stage whose OMS was given another secret than the one in Secrets Manager
    sink.stop()
    other = OmsSink(signing_secret="not-the-stage-secret")
    other.start()
    try:
        deliveries = hand_off(fanout, other)
    finally:
        other.stop()

    # Then every attempt was refused, and the message went to the DLQ (alarmed) instead of being dropped
    assert list(deliveries.values()) == [5]
    assert {r["signature_verified"] for r in other.requests()} == {False}
    (parked,) = fanout.receive("FulfilmentDLQ")
    assert json.loads(parked["Body"])["order_id"] == "BO-ORDER00001"


def test_without_its_signing_secret_nothing_is_sent_unsigned(fanout: FanoutStack, sink: OmsSink) -> None:
    deliveries = hand_off(fanout, sink, OMS_SIGNING_SECRET_NAME="bolt-merchant/test/missing")

    assert list(deliveries.values()) == [5]
    assert sink.requests() == []
    assert fanout.receive("FulfilmentDLQ")


def test_every_retry_is_signed_afresh_over_the_same_bytes() -> None:
    sent: list[dict[str, Any]] = []

    class Response:
        def __init__(self, status: int) -> None:
            self.status_code = status
            self.headers: dict[str, str] = {}

    class Session:
        def post(self, url: str, *, data: bytes, headers: dict[str, str], **_: Any) -> Response:
            sent.append({"url": url, "data": data, "headers": dict(headers)})
            return Response(503 if len(sent) < 3 else 201)

    clock = iter([1000.0, 1007.0, 1015.0])
    client = OmsClient(
        "https://oms.example.com/orders/",
        signing_secret=lambda: "s3cret",
        session=Session(),  # type: ignore[arg-type]
        sleep=lambda _: None,
        wall_clock=lambda: next(clock),
    )
    client.submit({"order_id": "BO-1"}, idempotency_key="BO-1")

    assert [s["url"] for s in sent] == ["https://oms.example.com/orders"] * 3
    assert [s["headers"][signing.TIMESTAMP_HEADER] for s in sent] == ["1000", "1007", "1015"]
    for attempt in sent:
        timestamp = attempt["headers"][signing.TIMESTAMP_HEADER]
        assert signing.verify(
            "s3cret", attempt["data"], timestamp, attempt["headers"][signing.SIGNATURE_HEADER], now=1015
        )


def test_a_refusal_carries_only_the_status() -> None:
    class Session:
        def post(self, *_: Any, **__: Any) -> Any:
            return type("Response", (), {"status_code": 401, "headers": {}})()

    client = OmsClient("https://oms.example.com", signing_secret=lambda: "s", session=Session())  # type: ignore[arg-type]
    with pytest.raises(OmsRejected, match="401"):
        client.cancel({"order_id": "BO-1"}, idempotency_key="BO-1:cancel")


# ---------------------------------------------------------------- https only


@pytest.mark.parametrize(
    "url",
    ["http://oms.example.com/orders", "http://10.0.0.5/orders", "ftp://oms.example.com", "https:///orders", "oms"],
)
def test_the_client_refuses_anything_but_https_or_this_machine(url: str) -> None:
    with pytest.raises(ConfigurationError, match="https"):
        OmsClient(url, signing_secret=lambda: "s")


@pytest.mark.parametrize(
    "url", ["https://oms.example.com/orders", "http://127.0.0.1:8080/orders", "http://localhost/orders"]
)
def test_the_client_accepts_https_and_the_local_sink(url: str) -> None:
    OmsClient(url, signing_secret=lambda: "s")


def test_the_template_accepts_only_https_endpoints() -> None:
    parameter = load_template()["Parameters"]["OmsEndpointUrl"]
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.fullmatch("https://oms.example.com/orders")
    assert pattern.fullmatch("")  # no OMS for this stage
    assert not pattern.fullmatch("http://oms.example.com/orders")
    assert not pattern.fullmatch("http://127.0.0.1:8080/orders")  # only the local stack passes its own sink's URL
