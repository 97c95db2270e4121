"""Fixtures for the webhook handlers: the functions, an order created through order.create, signed deliveries.

No network: any socket is an error, unless a test opts in with pytest-socket's `@pytest.mark.enable_socket` or
`@pytest.mark.allow_hosts([...])` markers."""

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from bolt_merchant.orders.models import Order

from tests import seed
from tests.support import (
    AwsStack,
    HookFunction,
    load_event,
    no_network,  # noqa: F401 - the autouse network guard, applied to this folder
    response_body,
    signed_event,
)


@dataclass
class Webhooks:
    """POST /bolt/webhooks/transaction, and order.create to set up the order it applies to."""

    aws: AwsStack
    webhook: HookFunction
    order_create: HookFunction

    def deliver(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Sign and deliver a webhook body; the API Gateway response."""
        return self.webhook(signed_event("transaction_webhook", payload))

    def deliver_ok(self, payload: dict[str, Any]) -> dict[str, Any]:
        response = self.deliver(payload)
        assert response["statusCode"] == 200, response["body"]
        return response_body(response)

    def event(self, name: str) -> dict[str, Any]:
        """Deliver events/transaction_webhook/<name>.json as it is."""
        return self.webhook(load_event(f"transaction_webhook/{name}.json"))

    def create_order(self, cart_id: str, items: tuple[tuple[str, int], ...], **cart: Any) -> Order:
        """Store the cart and create its order through order.create, as Bolt would before authorising."""
        seed.seed_cart(self.aws, cart_id, items, discount_codes=[code for code, _ in cart.get("discounts", ())])
        response = self.order_create(seed.order_create_event(seed.valid_order_cart(cart_id, items, **cart)))
        assert response["statusCode"] == 200, response["body"]
        order = seed.stored_order(self.aws, seed.order_id_for(cart_id))
        assert order is not None
        return order

    def order(self, cart_id: str = seed.DEMO_CART_ID) -> Order:
        order = seed.stored_order(self.aws, seed.order_id_for(cart_id))
        assert order is not None
        return order


@pytest.fixture
def webhooks(aws: AwsStack, hook_function: Callable[[str], HookFunction]) -> Webhooks:
    return Webhooks(aws, hook_function("transaction_webhook"), hook_function("order_create"))


@pytest.fixture
def demo_order(webhooks: Webhooks) -> Order:
    """The order of bolt_payloads.DEMO_CART_ID (what every events/transaction_webhook/ file refers to), pending
    payment, as order.create left it."""
    return webhooks.create_order(seed.DEMO_CART_ID, seed.DEMO_ITEMS)


def emitted_metrics(stdout: str) -> Counter[str]:
    """Metric names (with their values summed) in the CloudWatch EMF lines Powertools printed."""
    found: Counter[str] = Counter()
    for line in stdout.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                values = document[metric["Name"]]
                found[metric["Name"]] += int(sum(values) if isinstance(values, list) else values)
    return found
