"""Fulfilment hand-off consumer: orders to the OMS once per (order, action), mocked at the HTTP boundary by a tiny
server on 127.0.0.1 (reference §7 F: T44, T46, T47)."""

import functools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from bolt_merchant.bolt.cart import Cart
from bolt_merchant.checkout.order_create import addresses
from bolt_merchant.fanout import fulfilment as fulfilment_worker
from bolt_merchant.fanout.oms import OmsClient
from bolt_merchant.orders.models import Hold

from devstack import bolt_payloads, make_consumer_events
from devstack.template import load_template
from tests.fanout.support import (
    CANARY_EMAIL,
    NOW,
    OMS_SECRET,
    FakeContext,
    FanoutStack,
    batch_failures,
    order,
    outbox_event,
)

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

QUEUE = "FulfilmentQueue"


@dataclass
class OmsRequest:
    path: str
    idempotency_key: str | None
    raw: bytes

    @property
    def body(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.raw)
        return parsed


@dataclass
class FakeOms:
    """Answers POSTs with the scripted statuses in turn, then `default`; records every request."""

    url: str = ""
    script: list[int] = field(default_factory=list)
    default: int = 201
    requests: list[OmsRequest] = field(default_factory=list)

    def answer(self, request: OmsRequest) -> int:
        self.requests.append(request)
        return self.script.pop(0) if self.script else self.default

    def posts(self, path: str) -> list[OmsRequest]:
        return [r for r in self.requests if r.path == path]


@pytest.fixture
def oms(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOms]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    fake = FakeOms()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = fake.answer(OmsRequest(self.path, self.headers.get("Idempotency-Key"), raw))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/orders"
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _enqueue(fanout: FanoutStack, *events: Any, attempt: int = 0) -> None:
    """Each call is a separate publish: a fresh deduplication id, as a producer retry after the FIFO window."""
    for event in events:
        fanout.send(QUEUE, event.model_dump_json(), event.order_id, f"{event.event_id}:attempt-{attempt}")


def _no_backoff(monkeypatch: pytest.MonkeyPatch, url: str) -> list[float]:
    """The container's OMS client, with its pauses recorded instead of slept."""
    pauses: list[float] = []
    client = OmsClient(url, signing_secret=lambda: OMS_SECRET, sleep=pauses.append)
    monkeypatch.setattr(fulfilment_worker, "order_management", functools.cache(lambda: client))
    return pauses


def test_one_post_per_order_under_duplicate_and_repeated_events(fanout: FanoutStack, oms: FakeOms) -> None:
    # Given an authorised order whose events are delivered again and again
    handler = fanout.use_function("fulfilment", OMS_ENDPOINT_URL=oms.url)
    stored = order("BO-ORDER00001")
    fanout.put_order(stored)
    authorized = outbox_event("BO-ORDER00001", "order.authorized", 2)
    paid = outbox_event("BO-ORDER00001", "order.paid", 3)

    for attempt, events in enumerate([(authorized,), (authorized,), (paid, authorized)]):
        _enqueue(fanout, *events, attempt=attempt)
        fanout.drive(QUEUE, handler)

    # Then the OMS got the order exactly once, keyed by the order id, with what it needs and nothing personal
    (post,) = oms.requests
    assert post.path == "/orders"
    assert post.idempotency_key == "BO-ORDER00001"
    assert post.body["order_id"] == "BO-ORDER00001"
    assert [(i["sku"], i["quantity"]) for i in post.body["items"]] == [("TSHIRT-BLK-M", 2), ("GIFT-CARD", 1)]
    assert post.body["shipping"] == {"reference": "standard", "service": "Standard shipping", "cost": 500}
    assert post.body["totals"]["total"] == 6330
    assert post.body["contact_email"] == CANARY_EMAIL  # handed to the OMS for the delivery, never logged
    assert fanout.depth(QUEUE) == 0


def test_a_held_order_is_handed_off_once_released_with_bolts_addresses_and_none_in_logs(
    fanout: FanoutStack, oms: FakeOms, capsys: pytest.CaptureFixture[str]
) -> None:
    """An authorisation of an order Bolt's facts hold is deferred (no hand-off, nothing recorded as done); once the
    hold is released the OMS gets the order once, with the billing and shipping addresses taken from Bolt's cart.
    No log line carries them."""
    handler = fanout.use_function("fulfilment", OMS_ENDPOINT_URL=oms.url)
    billing, shipping = addresses(Cart.model_validate(bolt_payloads.order_cart()))
    assert billing is not None
    assert shipping
    held = order(
        "BO-ORDER00001",
        status="on_hold",
        holds=[Hold(reason="totals_mismatch", since=NOW)],
        billing_address=billing,
        shipping_addresses=shipping,
    )
    fanout.put_order(held)
    capsys.readouterr()
    _enqueue(fanout, outbox_event("BO-ORDER00001", "order.authorized", 2))

    fanout.drive(QUEUE, handler)

    assert oms.requests == []
    assert '"FulfilmentDeferredHeld":[1.0]' in capsys.readouterr().out

    fanout.put_order(held.model_copy(update={"status": "authorized", "holds": [], "version": 3}))
    _enqueue(fanout, outbox_event("BO-ORDER00001", "order.released", 3))
    fanout.drive(QUEUE, handler)
    _enqueue(fanout, outbox_event("BO-ORDER00001", "order.released", 3), attempt=1)
    fanout.drive(QUEUE, handler)

    (post,) = oms.requests
    assert post.body["billing_address"] == billing.model_dump()
    assert post.body["shipping_addresses"] == [address.model_dump() for address in shipping]
    assert post.body["shipping_addresses"][0]["street_address1"] == bolt_payloads.SF_ADDRESS["street_address1"]
    output = capsys.readouterr().out
    for personal in (bolt_payloads.SF_ADDRESS["street_address1"], bolt_payloads.SF_ADDRESS["email"], CANARY_EMAIL):
        assert personal not in output


def test_server_errors_are_retried_with_backoff_until_the_oms_accepts(
    fanout: FanoutStack, oms: FakeOms, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = fanout.use_function("fulfilment", OMS_ENDPOINT_URL=oms.url)
    pauses = _no_backoff(monkeypatch, oms.url)
    fanout.put_order(order("BO-ORDER00001"))
    oms.script = [503, 502]
    _enqueue(fanout, outbox_event("BO-ORDER00001"))

    deliveries = fanout.drive(QUEUE, handler)

    assert list(deliveries.values()) == [1]
    assert [r.idempotency_key for r in oms.requests] == ["BO-ORDER00001"] * 3
    assert len(pauses) == 2
    assert pauses[1] > pauses[0] / 3  # exponential with jitter: the second pause is not shorter than a third


def test_exhausted_retries_return_the_message_until_it_lands_in_the_dlq(
    fanout: FanoutStack, oms: FakeOms, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an OMS that keeps failing
    handler = fanout.use_function("fulfilment", OMS_ENDPOINT_URL=oms.url)
    _no_backoff(monkeypatch, oms.url)
    fanout.put_order(order("BO-ORDER00001"))
    oms.default = 503
    _enqueue(fanout, outbox_event("BO-ORDER00001"))

    deliveries = fanout.drive(QUEUE, handler)

    # Then the message was received five times and parked; after the first exhausted retry cycle the container
    # failed fast instead of hammering the OMS again on every receive
    assert list(deliveries.values()) == [5]
    assert len(oms.requests) == 3
    (parked,) = fanout.receive("FulfilmentDLQ")
    assert json.loads(parked["Body"])["order_id"] == "BO-ORDER00001"


def test_a_refusal_is_not_retried_within_the_invocation(fanout: FanoutStack, oms: FakeOms) -> None:
    handler = fanout.use_function("fulfilment", OMS_ENDPOINT_URL=oms.url)
    fanout.put_order(order("BO-ORDER00001"))
    oms.script = [422]
    _enqueue(fanout, outbox_event("BO-ORDER00001"))

    deliveries = fanout.drive(QUEUE, handler, rounds=1)

    assert list(deliveries.values()) == [1]
    assert len(oms.requests) == 1
    assert fanout.depth(QUEUE) == 1  # back in the queue: retried, then the DLQ if the OMS keeps refusing


def test_cancellations_go_once_and_only_for_orders_the_oms_has(fanout: FanoutStack, oms: FakeOms) -> None:
    handler = fanout.use_function("fulfilment", OMS_ENDPOINT_URL=oms.url)
    fanout.put_order(order("BO-ORDER00001", status="cancelled", phase="cancelled"))
    fanout.put_order(order("BO-ORDER00002", status="cancelled", phase="cancelled", authorized=0))
    authorized = outbox_event("BO-ORDER00001", "order.authorized", 2)
    cancelled = outbox_event("BO-ORDER00001", "order.cancelled", 3)
    declined = outbox_event("BO-ORDER00002", "order.cancelled", 2)

    _enqueue(fanout, authorized, cancelled, declined)
    fanout.drive(QUEUE, handler)
    _enqueue(fanout, cancelled, attempt=1)
    fanout.drive(QUEUE, handler)

    assert [(r.path, r.idempotency_key) for r in oms.requests] == [
        ("/orders", "BO-ORDER00001"),
        ("/orders/cancellations", "BO-ORDER00001:cancel"),
    ]
    assert oms.posts("/orders/cancellations")[0].body == {"order_id": "BO-ORDER00001"}


def test_without_an_oms_endpoint_hand_offs_are_skipped_and_counted(
    fanout: FanoutStack, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = fanout.use_function("fulfilment")  # the template's default: no OMS for this stage
    fanout.put_order(order("BO-ORDER00001"))
    _enqueue(fanout, outbox_event("BO-ORDER00001"), outbox_event("BO-ORDER00001", "order.refunded", 3))

    deliveries = fanout.drive(QUEUE, handler)

    assert list(deliveries.values()) == [1, 1]
    assert fanout.depth(QUEUE) == 0
    output = capsys.readouterr().out
    assert '"FulfilmentSkippedNoOms":[1.0]' in output
    assert '"FulfilmentEventIgnored":[1.0]' in output


def test_a_poison_message_fails_alone(fanout: FanoutStack, oms: FakeOms) -> None:
    handler = fanout.use_function("fulfilment", OMS_ENDPOINT_URL=oms.url)
    fanout.put_order(order("BO-ORDER00001"))
    _enqueue(fanout, outbox_event("BO-ORDER00001"))
    fanout.send(QUEUE, '{"event_id": 7}', "BO-POISON", "poison-1")
    messages = fanout.receive(QUEUE)
    poison = next(m["MessageId"] for m in messages if m["Body"] == '{"event_id": 7}')

    response = handler(make_consumer_events.sqs_event_from(messages, fanout.queue_arn(QUEUE)), FakeContext())

    assert batch_failures(response) == [poison]
    assert len(oms.requests) == 1


def test_the_events_file_is_what_the_generator_writes_and_hands_off(fanout: FanoutStack, oms: FakeOms) -> None:
    path = make_consumer_events.EVENTS_DIR / "fulfilment" / "sqs_batch.json"
    expected = make_consumer_events.documents()[path.relative_to(make_consumer_events.EVENTS_DIR)]
    assert path.read_text(encoding="utf-8") == make_consumer_events.render(expected)

    handler = fanout.use_function("fulfilment", OMS_ENDPOINT_URL=oms.url)
    fanout.put_order(order(make_consumer_events.DEMO_ORDER_ID))
    assert handler(json.loads(path.read_text(encoding="utf-8")), FakeContext()) == {"batchItemFailures": []}
    assert [r.idempotency_key for r in oms.requests] == [make_consumer_events.DEMO_ORDER_ID]


def test_template_queue_outlives_a_retry_cycle_and_has_a_dlq_alarm() -> None:
    resources = load_template()["Resources"]
    queue = resources[QUEUE]["Properties"]
    function = resources["FulfilmentFunction"]["Properties"]
    assert queue["FifoQueue"] is True
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]
    assert resources["FulfilmentDLQ"]["Properties"]["FifoQueue"] is True
    assert resources["FulfilmentDLQAlarm"]["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert function["Environment"]["Variables"]["OMS_ENDPOINT_URL"] == {"Ref": "OmsEndpointUrl"}
    assert function["Events"]["Queue"]["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
