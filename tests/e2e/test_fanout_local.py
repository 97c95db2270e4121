"""The outbox fan-out on the local stack: a signed webhook flows through the stream publisher and the SQS consumers.

`python -m devstack` runs in a subprocess with its pollers on; the test knows where moto (MOTO_PORT) and the OMS
sink (LOCAL_OMS_PORT) listen because it picks their ports. Emails are read from moto's /moto-api/data.json and
hand-offs from the sink's /_sink/requests, so everything is observed from outside, as a developer would.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from bolt_merchant.signing import SIGNATURE_HEADER, sign

from devstack.oms_sink import ADMIN_PATH
from devstack.ses import sent_emails
from devstack.settings import DEFAULT_SIGNING_SECRET

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 60
FANOUT_TIMEOUT_SECONDS = 20
# The test signs with devstack's default secrets and needs the stack's own OMS sink and pollers.
LOCAL_OVERRIDES = (
    "BOLT_SIGNING_SECRET",
    "BOLT_SIGNING_SECRET_PENDING",
    "BOLT_API_KEY",
    "LOCAL_OMS_URL",
    "LOCAL_POLLERS",
    "LOCAL_SQS_RETRY_SECONDS",
)
SHOPPER_EMAIL = "fanout-shopper@example.com"
SF_ADDRESS = {
    "street_address1": "1 Market St",
    "locality": "San Francisco",
    "region": "CA",
    "postal_code": "94102",
    "country_code": "US",
    "email": SHOPPER_EMAIL,
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Stack:
    api: str
    aws: str
    oms: str
    log: Path


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


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log = tmp_path_factory.mktemp("devstack-fanout") / "stack.log"
    moto_port, oms_port = _free_port(), _free_port()
    inherited = {name: value for name, value in os.environ.items() if name not in LOCAL_OVERRIDES}
    env = {
        **inherited,
        "PORT": str(_free_port()),
        "MOTO_PORT": str(moto_port),
        "LOCAL_OMS_PORT": str(oms_port),
        "LOCAL_CONTAINERS": "2",
        "PYTHONUNBUFFERED": "1",
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        api = _wait_until_ready(process, log)
        yield Stack(api=api, aws=f"http://127.0.0.1:{moto_port}", oms=f"http://127.0.0.1:{oms_port}", log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def post(stack: Stack, path: str, payload: Any, *, signed: bool = True) -> tuple[int, Any]:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    if signed:
        headers[SIGNATURE_HEADER] = sign(body, DEFAULT_SIGNING_SECRET)
    url = urlsplit(stack.api)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
    try:
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def wait_for[T](what: str, probe: Callable[[], T | None], timeout: float = FANOUT_TIMEOUT_SECONDS) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout}s")


def emails_for(stack: Stack, order_id: str) -> list[dict[str, Any]]:
    return [email for email in sent_emails(stack.aws) if order_id in email["subject"]]


def hand_offs_for(stack: Stack, order_id: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{stack.oms}{ADMIN_PATH}", timeout=10) as response:
        received: list[dict[str, Any]] = json.loads(response.read())
    return [request for request in received if (request.get("json") or {}).get("order_id") == order_id]


@dataclass(frozen=True)
class PlacedOrder:
    cart_id: str
    order_id: str
    total: int


def place_order(stack: Stack, sku: str = "TOTE-BLUE", quantity: int = 2) -> PlacedOrder:
    """A storefront cart, priced through order.shipping and order.tax, then order.create with Bolt's totals."""
    status, created = post(
        stack, "/storefront/carts", {"currency": "USD", "items": [{"sku": sku, "quantity": quantity}]}, signed=False
    )
    assert status == 201, created
    lines = created["cart"]["items"]
    items = [
        {"reference": line["sku"], "sku": line["sku"], "quantity": line["quantity"], "unit_price": line["unit_price"]}
        for line in lines
    ]
    cart = {"order_reference": created["cart_id"], "currency": "USD", "items": items}
    status, shipping = post(stack, "/bolt/shipping", {"cart": cart, "shipping_address": SF_ADDRESS})
    assert status == 200, shipping
    option = next(o for o in shipping["shipping_options"] if o["reference"] == "standard")
    choice = {"reference": option["reference"], "service": option["service"], "cost": option["cost"]}
    status, tax = post(stack, "/bolt/tax", {"cart": cart, "shipping_address": SF_ADDRESS, "shipping_option": choice})
    assert status == 200, tax
    tax_total = tax["tax_result"]["subtotal_amount"] + tax["shipping_option"]["tax_amount"]
    total = created["cart"]["subtotal"] + option["cost"] + tax_total
    order_cart = {
        **cart,
        "total_amount": total,
        "tax_amount": tax_total,
        "billing_address": SF_ADDRESS,
        "shipments": [{**choice, "shipping_address": SF_ADDRESS}],
    }
    token = f"tok-{created['cart_id']}"
    status, answer = post(stack, "/bolt/order/create", {"order": {"token": token, "cart": order_cart}})
    assert status == 200, answer
    assert answer["total"] == total
    return PlacedOrder(cart_id=created["cart_id"], order_id=answer["display_id"], total=total)


def auth_webhook(order: PlacedOrder) -> dict[str, Any]:
    return {
        "type": "auth",
        "object": "transaction",
        "data": {
            "id": f"TA-{order.order_id}",
            "reference": f"REF-{order.order_id}",
            "type": "cc_payment",
            "status": "authorized",
            "amount": order.total,
            "currency": "USD",
            "order": {"token": f"tok-{order.cart_id}", "cart": {"order_reference": order.cart_id}},
        },
    }


def authorise_and_wait(stack: Stack, order: PlacedOrder) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    status, answer = post(stack, "/bolt/webhooks/transaction", auth_webhook(order))
    assert status == 200, answer
    emails = wait_for(f"confirmation email for {order.order_id}", lambda: emails_for(stack, order.order_id))
    hand_offs = wait_for(f"OMS hand-off of {order.order_id}", lambda: hand_offs_for(stack, order.order_id))
    return emails, hand_offs


def test_an_authorised_order_is_confirmed_by_email_and_handed_to_the_oms_once(stack: Stack) -> None:
    # Given an order created through the signed hooks
    order = place_order(stack)

    # When Bolt's auth webhook arrives
    emails, hand_offs = authorise_and_wait(stack, order)

    # Then the stream publisher and both consumers ran: one email from the verified sender, one OMS submission
    (email,) = emails
    assert email["destinations"]["ToAddresses"] == [SHOPPER_EMAIL]
    assert email["source"] == "orders@shop.example.com"
    assert f"Total: USD {order.total // 100}.{order.total % 100:02d}" in email["body"]
    (submission,) = hand_offs
    assert submission["path"] == "/orders"
    assert submission["headers"]["Idempotency-Key"] == order.order_id
    assert submission["json"]["totals"]["total"] == order.total


def test_replayed_webhooks_neither_email_nor_hand_off_again(stack: Stack) -> None:
    order = place_order(stack)
    authorise_and_wait(stack, order)

    # When Bolt retries the same webhook three times
    for _ in range(3):
        status, answer = post(stack, "/bolt/webhooks/transaction", auth_webhook(order))
        assert status == 200, answer

    # Then, once a later order has gone all the way through (the single stream shard and the pollers keep their
    # order, so anything the replays had caused would have been processed first), there is still one of each.
    authorise_and_wait(stack, place_order(stack, sku="MUG-12OZ", quantity=1))
    assert len(emails_for(stack, order.order_id)) == 1
    assert len(hand_offs_for(stack, order.order_id)) == 1


def test_the_stack_log_shows_no_poller_failures(stack: Stack) -> None:
    order = place_order(stack)
    authorise_and_wait(stack, order)

    log = stack.log.read_text(errors="replace")
    assert "pollers:" not in log, log[-4000:]
