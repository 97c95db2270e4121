"""The outbox fan-out on the local stack: a signed webhook flows through the stream publisher and the SQS consumers.

`python -m devstack` runs in a subprocess with its pollers on; the test reads where moto and the OMS sink listen
from what the stack prints. Emails are read from moto's /moto-api/data.json and
hand-offs from the sink's /_sink/requests, so everything is observed from outside, as a developer would.
"""

import json
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devstack.oms_sink import ADMIN_PATH
from devstack.process import stack_process
from devstack.ses import sent_emails
from tests.local_stack import (
    EMBEDDED_AWS_URL,
    OMS_SINK_URL,
    SF_ADDRESS,
    post_signed,
    request,
    stack_environment,
    wait_for,
)

pytestmark = pytest.mark.e2e

# The test needs the stack's own OMS sink and pollers.
LOCAL_OVERRIDES = ("LOCAL_OMS_URL", "LOCAL_POLLERS", "LOCAL_SQS_RETRY_SECONDS")
SHOPPER_EMAIL = "fanout-shopper@example.com"
ADDRESS = {**SF_ADDRESS, "email": SHOPPER_EMAIL}


@dataclass(frozen=True)
class Stack:
    api: str
    aws: str
    oms: str
    log: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log = tmp_path_factory.mktemp("devstack-fanout") / "stack.log"
    with stack_process(stack_environment(*LOCAL_OVERRIDES, LOCAL_CONTAINERS="2"), log_path=log) as process:
        aws, oms = process.announced(EMBEDDED_AWS_URL), process.announced(OMS_SINK_URL)
        yield Stack(api=process.url, aws=aws, oms=oms, log=log)


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
    created = request(
        stack.api, "POST", "/storefront/carts", {"currency": "USD", "items": [{"sku": sku, "quantity": quantity}]}
    )
    assert created.status == 201, created
    cart_id = created.body["cart_id"]
    items = [
        {"reference": line["sku"], "sku": line["sku"], "quantity": line["quantity"], "unit_price": line["unit_price"]}
        for line in created.body["cart"]["items"]
    ]
    cart = {"order_reference": cart_id, "currency": "USD", "items": items}
    shipping = post_signed(stack.api, "/bolt/shipping", {"cart": cart, "shipping_address": ADDRESS})
    assert shipping.status == 200, shipping
    option = next(o for o in shipping.body["shipping_options"] if o["reference"] == "standard")
    choice = {"reference": option["reference"], "service": option["service"], "cost": option["cost"]}
    tax = post_signed(stack.api, "/bolt/tax", {"cart": cart, "shipping_address": ADDRESS, "shipping_option": choice})
    assert tax.status == 200, tax
    tax_total = tax.body["tax_result"]["subtotal_amount"] + tax.body["shipping_option"]["tax_amount"]
    total = created.body["cart"]["subtotal"] + option["cost"] + tax_total
    order_cart = {
        **cart,
        "total_amount": total,
        "tax_amount": tax_total,
        "billing_address": ADDRESS,
        "shipments": [{**choice, "shipping_address": ADDRESS}],
    }
    token = f"tok-{cart_id}"
    answer = post_signed(stack.api, "/bolt/order/create", {"order": {"token": token, "cart": order_cart}})
    assert answer.status == 200, answer
    assert answer.body["total"] == total
    return PlacedOrder(cart_id=cart_id, order_id=answer.body["display_id"], total=total)


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
    answer = post_signed(stack.api, "/bolt/webhooks/transaction", auth_webhook(order))
    assert answer.status == 200, answer
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
    assert submission["signature_verified"] is True  # signed with the stage's OMS secret, checked by the sink
    assert submission["headers"]["Idempotency-Key"] == order.order_id
    assert submission["json"]["totals"]["total"] == order.total


def test_replayed_webhooks_neither_email_nor_hand_off_again(stack: Stack) -> None:
    order = place_order(stack)
    authorise_and_wait(stack, order)

    # When Bolt retries the same webhook three times
    for _ in range(3):
        answer = post_signed(stack.api, "/bolt/webhooks/transaction", auth_webhook(order))
        assert answer.status == 200, answer

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


def test_the_stack_log_has_one_line_per_batch_naming_the_events_and_their_outcome(stack: Stack) -> None:
    order = place_order(stack, sku="MUG-12OZ", quantity=1)
    authorise_and_wait(stack, order)

    def order_lines() -> list[str]:
        return [line for line in stack.log.read_text(errors="replace").splitlines() if order.order_id in line]

    def both_consumers_logged() -> list[str] | None:
        # a consumer's line is written when its invocation returns, just after the email or the hand-off
        lines = order_lines()
        done = {line.split()[1] for line in lines if "confirmation sent" in line or "fulfilment submitted" in line}
        return lines if done == {"ConfirmationEmail", "Fulfilment"} else None

    lines = wait_for(f"the consumers' lines for {order.order_id}", both_consumers_logged)
    seen = {line.split()[1]: line for line in lines}
    assert "order.authorized" in seen["OutboxPublisher"]
    assert "outbox event published" in seen["OutboxPublisher"]
    assert "confirmation sent" in "".join(line for line in lines if line.split()[1] == "ConfirmationEmail")
    assert "fulfilment submitted" in "".join(line for line in lines if line.split()[1] == "Fulfilment")
    assert re.search(
        r"  TransactionWebhook +auth +200  applied " + order.order_id + r" +\d+ ms$", seen["TransactionWebhook"]
    )
    # the default output: no JSON log line, no EMF blob, no Powertools warning, no personal data
    text = stack.log.read_text(errors="replace")
    assert [noise for noise in ('{"level"', '"_aws"', "No application metrics", SHOPPER_EMAIL) if noise in text] == []
