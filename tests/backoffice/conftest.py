"""The back-office function under moto, with Bolt mocked at the HTTP boundary by devstack's fake Bolt API.

The fake runs on 127.0.0.1 in this process (test modules opt in with `allow_hosts(["127.0.0.1"])`); the webhooks it
sends are handed straight to the real transaction webhook handler, so an authorisation reaches the order exactly
as it would on the local stack. Orders are placed the way order.create places them (cart closed, stock reserved).
"""

import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bolt_merchant.checkout.carts import StoredCart
from bolt_merchant.checkout.order_create import DynamoCheckoutStore
from bolt_merchant.core import settings as wiring
from bolt_merchant.core.models import CartLine
from bolt_merchant.orders.models import Order, OrderTotals, OutboxEvent, order_id_for
from bolt_merchant.payments.store import DynamoTransactionStore as DynamoOrderAdminStore

from devstack.apigw import rest_proxy_event
from devstack.fake_bolt import FakeBolt
from tests.support import (
    AwsStack,
    FakeLambdaContext,
    LambdaHandler,
    OperatorAnswer,
    demo_products,
    load_handler,
    no_network,  # noqa: F401 - the autouse network guard, applied to this folder
    operator_answer,
    operator_event,
)

ADMIN = "order_admin"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
ROUTES = {
    ("GET", ""): "/orders/{order_id}",
    ("POST", "capture"): "/orders/{order_id}/capture",
    ("POST", "refund"): "/orders/{order_id}/refund",
    ("POST", "cancel"): "/orders/{order_id}/cancel",
    ("PATCH", "line-items"): "/orders/{order_id}/line-items",
    ("POST", "review"): "/orders/{order_id}/review",
    ("POST", "release-holds"): "/orders/{order_id}/release-holds",
    ("POST", "reconcile"): "/orders/{order_id}/reconcile",
}
LIST_ROUTE = "/orders"
# 2 totes (4800) + 1 mug (1600) + standard shipping 599 + tax 0: a total the auth webhook must match to the cent.
DEFAULT_LINES = (("TOTE-BLUE", 2), ("MUG-12OZ", 1))
SHIPPING = 599


@dataclass
class BackOffice:
    aws: AwsStack
    fake: FakeBolt
    admin: LambdaHandler
    webhook: LambdaHandler
    context: FakeLambdaContext

    # ------------------------------------------------------------ arranging
    def place_order(self, lines: tuple[tuple[str, int], ...] = DEFAULT_LINES) -> Order:
        """What order.create leaves behind: a closed cart, the pending order, its stock reserved."""
        products = demo_products()
        cart_lines = [
            CartLine(
                sku=sku,
                name=products[sku].name,
                quantity=quantity,
                unit_price=products[sku].unit_price,
                taxable=products[sku].taxable,
                needs_shipping=True,
            )
            for sku, quantity in lines
        ]
        cart_id = f"c_{uuid.uuid4().hex}"
        subtotal = sum(line.total for line in cart_lines)
        order = Order(
            order_id=order_id_for(cart_id),
            cart_id=cart_id,
            status="pending_payment",
            currency="USD",
            lines=cart_lines,
            totals=OrderTotals(subtotal=subtotal, discount=0, shipping=SHIPPING, tax=0, total=subtotal + SHIPPING),
            created_at=NOW,
            updated_at=NOW,
        )
        store = self.checkout_store()
        store.create_cart(
            StoredCart(
                cart_id=cart_id, currency="USD", lines=cart_lines, created_at=NOW, expires_at=NOW + timedelta(days=7)
            )
        )
        event = OutboxEvent(
            event_id=f"{order.order_id}:order.created",
            event_type="order.created",
            order_id=order.order_id,
            occurred_at=NOW,
        )
        store.create_order(order, event, {})
        return order

    def authorize(
        self, order: Order, amount: int | None = None, webhooks: list[str] | None = None, *, review: bool = False
    ) -> str:
        """Bolt authorises the order's cart and tells us with signed webhooks; returns the transaction reference.
        review: Bolt's fraud review flags the payment instead (rejected_reversible)."""
        cart = {
            "order_reference": order.cart_id,
            "display_id": order.order_id,
            "currency": order.currency,
            "total_amount": {"amount": order.totals.total, "currency": order.currency},
            "items": [
                {
                    "reference": line.sku,
                    "sku": line.sku,
                    "name": line.name,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "total_amount": line.total,
                }
                for line in order.lines
            ],
        }
        result = self.fake.authorize(cart=cart, amount=amount or order.totals.total, webhooks=webhooks, review=review)
        for sent in result["webhooks"]:
            assert sent["status"] == 200, sent
        return str(result["transaction"]["reference"])

    def authorized_order(self, lines: tuple[tuple[str, int], ...] = DEFAULT_LINES) -> tuple[Order, str]:
        order = self.place_order(lines)
        reference = self.authorize(order)
        self.fake.reset_calls()
        return self.order(order.order_id), reference

    # ------------------------------------------------------------ acting
    def call(
        self,
        method: str,
        order_id: str,
        operation: str = "",
        body: Any = None,
        *,
        key: str | None = None,
        raw: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> OperatorAnswer:
        resource = ROUTES[(method, operation)]
        path = resource.replace("{order_id}", order_id)
        sent = {**(headers or {}), **({"Idempotency-Key": key} if key is not None else {})}
        event = operator_event(
            method, resource, path, body, raw=raw, headers=sent, path_parameters={"order_id": order_id}
        )
        return operator_answer(self.admin, event, self.context)

    def capture(self, order_id: str, body: Any = None, **kwargs: Any) -> OperatorAnswer:
        return self.call("POST", order_id, "capture", body if body is not None else {}, **kwargs)

    def refund(self, order_id: str, body: Any = None, **kwargs: Any) -> OperatorAnswer:
        return self.call("POST", order_id, "refund", body if body is not None else {}, **kwargs)

    def cancel(self, order_id: str, body: Any = None, **kwargs: Any) -> OperatorAnswer:
        return self.call("POST", order_id, "cancel", body if body is not None else {}, **kwargs)

    def fulfil(self, order_id: str, body: Any, **kwargs: Any) -> OperatorAnswer:
        return self.call("PATCH", order_id, "line-items", body, **kwargs)

    def view(self, order_id: str) -> OperatorAnswer:
        return self.call("GET", order_id)

    def review(self, order_id: str, body: Any, **kwargs: Any) -> OperatorAnswer:
        return self.call("POST", order_id, "review", body, **kwargs)

    def release_holds(self, order_id: str, body: Any, **kwargs: Any) -> OperatorAnswer:
        return self.call("POST", order_id, "release-holds", body, **kwargs)

    def reconcile(self, order_id: str, body: Any = None, **kwargs: Any) -> OperatorAnswer:
        return self.call("POST", order_id, "reconcile", body, **kwargs)

    def attention(self, query: Mapping[str, str] | None = None) -> OperatorAnswer:
        """GET /orders with `query` (attention=true, limit, cursor)."""
        return operator_answer(self.admin, operator_event("GET", LIST_ROUTE, LIST_ROUTE, query=query), self.context)

    def reconciler(self) -> LambdaHandler:
        """The reconciler function (template environment), asking this fake Bolt."""
        self.aws.use_function("reconciler")
        self.aws.set_env("BOLT_API_BASE_URL", self.fake.url)
        return load_handler("reconciler")

    # ------------------------------------------------------------ looking
    def checkout_store(self) -> DynamoCheckoutStore:
        return DynamoCheckoutStore(self.aws.dynamodb, self.aws.tables["CatalogTable"], self.aws.tables["OrdersTable"])

    def admin_store(self) -> DynamoOrderAdminStore:
        return DynamoOrderAdminStore(self.aws.dynamodb, self.aws.tables["CatalogTable"], self.aws.tables["OrdersTable"])

    def order(self, order_id: str) -> Order:
        order = self.checkout_store().get_order(order_id)
        assert order is not None
        return order

    def ledger_keys(self, order_id: str) -> list[str]:
        return sorted(record.key for record in self.admin_store().ledger(order_id))

    def stock(self, sku: str) -> tuple[int, int]:
        item = self.aws.dynamodb.get_item(
            TableName=self.aws.tables["CatalogTable"], Key={"pk": {"S": f"PRODUCT#{sku}"}}, ConsistentRead=True
        )["Item"]
        return int(item["inventory"]["N"]), int(item.get("reserved", {}).get("N", "0"))

    def bolt_calls(self, action: str) -> list[dict[str, Any]]:
        paths = {"capture", "credit", "void"}
        path = f"/v1/merchant/transactions/{action}" if action in paths else f"/v1/merchant/{action}"
        return self.fake.api_calls(path)


@pytest.fixture
def backoffice(
    aws: AwsStack, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BackOffice]:
    aws.use_function("transaction_webhook")
    webhook = load_handler("transaction_webhook")
    aws.use_function(ADMIN)
    admin = load_handler(ADMIN)

    def deliver(raw: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        event = rest_proxy_event(
            "POST", "/bolt/webhooks/transaction", "/bolt/webhooks/transaction", raw, headers=headers, stage="dev"
        )
        response = webhook(event, lambda_context)
        return int(response["statusCode"]), json.loads(response["body"])

    fake = FakeBolt(port=0, deliver=deliver, webhook_delay_seconds=0)
    monkeypatch.setenv("BOLT_API_BASE_URL", fake.url)
    wiring.reset()
    fake.start()
    try:
        yield BackOffice(aws=aws, fake=fake, admin=admin, webhook=webhook, context=lambda_context)
    finally:
        fake.stop()
