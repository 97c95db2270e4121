"""A whole synchronous checkout on the local stack over HTTP (issue 3's acceptance), checked in its embedded AWS.

`python -m devstack` runs in a subprocess with its fake Bolt API, whose URL it prints. The test plays
the storefront (cart, order token) and Bolt (signed shipping, tax, discount and order.create calls), then reads
the orders and catalog tables through the stack's embedded AWS endpoint (printed as "embedded AWS on ..."), and
finally races two carts for the last unit of LAST-ONE over HTTP.
"""

import json
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from threading import Barrier
from typing import Any

import boto3
import pytest
from bolt_merchant.core.aws import from_item
from bolt_merchant.orders.models import order_id_for

from devstack import settings
from devstack.process import stack_process
from devstack.template import LocalResolver, load_template
from tests.local_stack import EMBEDDED_AWS_URL, FAKE_BOLT_URL, Reply, StackClient, stack_environment

pytestmark = pytest.mark.e2e

ADDRESS = {
    "first_name": "Ren\u00e9e",
    "last_name": "Dupr\u00e9",
    "street_address1": "1 Market St",
    "locality": "San Francisco",
    "region": "California",
    "postal_code": "94102",
    "country_code": "US",
    "email": "renee@example.com",
}
ITEMS = [("TOTE-BLUE", 2), ("MUG-12OZ", 1)]


@dataclass(frozen=True)
class Stack(StackClient):
    aws: str

    def dynamodb(self) -> Any:
        return boto3.client(
            "dynamodb",
            endpoint_url=self.aws,
            region_name=settings.REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def item(self, table: str, key: Mapping[str, str]) -> dict[str, Any]:
        found = self.dynamodb().get_item(
            TableName=table_name(table), Key={k: {"S": v} for k, v in key.items()}, ConsistentRead=True
        )
        return from_item(found["Item"]) if "Item" in found else {}


def table_name(logical_id: str) -> str:
    return LocalResolver(load_template(), settings.STACK_NAME).physical_name(logical_id)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log = tmp_path_factory.mktemp("devstack-checkout") / "stack.log"
    environment = stack_environment(LOCAL_POLLERS="0")  # the fan-out is not what this test is about
    with stack_process(environment, log_path=log) as process:
        yield Stack(api=process.url, bolt=process.announced(FAKE_BOLT_URL), aws=process.announced(EMBEDDED_AWS_URL))


def bolt_items(cart: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Our priced cart's lines as Bolt's cart carries them."""
    return [
        {
            "reference": line["sku"],
            "sku": line["sku"],
            "name": line["name"],
            "quantity": line["quantity"],
            "unit_price": line["unit_price"],
            "total_amount": line["total"],
        }
        for line in cart["items"]
    ]


def checkout_until_order_create(stack: Stack, items: list[tuple[str, int]], code: str | None) -> dict[str, Any]:
    """cart -> order token -> shipping -> tax -> discount: Bolt's order.create body for that checkout."""
    created = stack.call(
        "POST", "/storefront/carts", {"currency": "USD", "items": [{"sku": s, "quantity": q} for s, q in items]}
    )
    assert created.status == 201, created
    cart_id = created.body["cart_id"]
    token_reply = stack.call("POST", f"/storefront/carts/{cart_id}/bolt-order-token")
    assert token_reply.status == 200, token_reply
    token = token_reply.body["order_token"]
    cart: dict[str, Any] = {
        "order_reference": cart_id,
        "currency": "USD",
        "items": bolt_items(created.body["cart"]),
        "total_amount": created.body["cart"]["subtotal"],
    }

    shipping = stack.signed("/bolt/shipping", {"cart": cart, "shipping_address": ADDRESS})
    assert shipping.status == 200, shipping
    standard = next(o for o in shipping.body["shipping_options"] if o["reference"] == "standard")

    tax = stack.signed("/bolt/tax", {"cart": cart, "shipping_address": ADDRESS, "shipping_option": standard})
    assert tax.status == 200, tax
    tax_total = tax.body["tax_result"]["subtotal_amount"] + tax.body["shipping_option"]["tax_amount"]
    cart["shipments"] = [{"reference": "standard", "cost": standard["cost"], "shipping_address": ADDRESS}]

    discounts = []
    if code is not None:
        applied = stack.signed("/bolt/discounts/apply", {"discount_code": code, "cart": cart})
        assert applied.status == 200, applied
        discounts = [{"code": code, "amount": applied.body["discount_amount"]}]

    subtotal = created.body["cart"]["subtotal"]
    total = subtotal - sum(d["amount"] for d in discounts) + standard["cost"] + tax_total
    order_cart = {
        **cart,
        "tax_amount": tax_total,
        "total_amount": total,
        "discounts": discounts,
        "billing_address": ADDRESS,
    }
    return {"event": "order.create", "data": {"order": {"token": token, "cart": order_cart}, "currency": "USD"}}


def test_a_full_checkout_leaves_a_pending_order_with_its_stock_reserved(stack: Stack) -> None:
    before_totes = stack.item("CatalogTable", {"pk": "PRODUCT#TOTE-BLUE"})
    before_uses = stack.item("CatalogTable", {"pk": "DISCOUNT#WELCOME10"}).get("uses", 0)

    order_create = checkout_until_order_create(stack, ITEMS, "WELCOME10")
    cart = order_create["data"]["order"]["cart"]
    assert cart["discounts"] == [{"code": "WELCOME10", "amount": 1000}]
    # the order token came from the fake Bolt API, asked with our API key and a nonce
    [token_call] = [c for c in stack.fake("GET", "/_fake/calls")["calls"] if c["path"] == "/v1/merchant/orders"][-1:]
    assert token_call["api_key_ok"] is True
    assert token_call["nonce"]
    assert token_call["body"]["cart"]["order_reference"] == cart["order_reference"]

    created = stack.signed("/bolt/universal", order_create)

    assert created.status == 200, created
    display_id = created.body["data"]["display_id"]
    assert display_id == order_id_for(cart["order_reference"])
    assert created.body["data"]["total"] == cart["total_amount"]
    order = stack.item("OrdersTable", {"pk": f"ORDER#{display_id}", "sk": "ORDER"})
    assert order["status"] == "pending_payment"
    assert json.loads(order["doc"])["totals"]["total"] == cart["total_amount"]
    totes = stack.item("CatalogTable", {"pk": "PRODUCT#TOTE-BLUE"})
    assert (totes["inventory"], totes.get("reserved", 0)) == (
        before_totes["inventory"] - 2,
        before_totes.get("reserved", 0) + 2,
    )
    assert stack.item("CatalogTable", {"pk": "DISCOUNT#WELCOME10"})["uses"] == before_uses + 1
    cart_item = stack.item("OrdersTable", {"pk": f"CART#{cart['order_reference']}", "sk": "CART"})
    assert (cart_item["status"], cart_item["order_id"]) == ("ordered", display_id)
    event = stack.item("OrdersTable", {"pk": f"ORDER#{display_id}", "sk": f"EVENT#{display_id}:order.created"})
    assert event["kind"] == "event"

    # Bolt re-sends order.create after a timeout: the same order, nothing reserved twice
    again = stack.signed("/bolt/order/create", order_create["data"])
    assert again.status == 200, again
    assert again.body["display_id"] == display_id
    assert stack.item("CatalogTable", {"pk": "PRODUCT#TOTE-BLUE"})["inventory"] == before_totes["inventory"] - 2

    # Bolt authorises the payment and sends pending + auth: the order moves on, monotonically
    authorised = stack.fake(
        "POST",
        "/_fake/authorize",
        {
            "order_token": order_create["data"]["order"]["token"],
            "cart": {**cart, "display_id": display_id},
            "webhooks": ["pending", "auth"],
        },
    )
    assert [(w["type"], w["status"]) for w in authorised["webhooks"]] == [("pending", 200), ("auth", 200)]
    assert stack.item("OrdersTable", {"pk": f"ORDER#{display_id}", "sk": "ORDER"})["status"] == "authorized"


def test_two_carts_racing_for_the_last_unit_give_one_order_and_one_2001005(stack: Stack) -> None:
    bodies = [checkout_until_order_create(stack, [("LAST-ONE", 1)], None) for _ in range(2)]
    barrier = Barrier(len(bodies))

    def deliver(body: dict[str, Any]) -> Reply:
        barrier.wait()
        return stack.signed("/bolt/order/create", body["data"])

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        replies = list(pool.map(deliver, bodies))

    outcomes = sorted((reply.status, reply.body.get("error", {}).get("code")) for reply in replies)
    assert outcomes == [(200, None), (422, 2001005)], replies
    last_one = stack.item("CatalogTable", {"pk": "PRODUCT#LAST-ONE"})
    assert (last_one["inventory"], last_one["reserved"]) == (0, 1)
