"""Back office on the local stack over HTTP: a whole checkout, then captures, refunds and Bolt's failures.

`python -m devstack` runs in a subprocess with its fake Bolt API, whose URL it prints: the storefront
gets its order token from the fake, the fake authorises the cart and sends the signed webhooks to the stack, and the
back-office routes call the fake's Transactions API. The test drives the fake's control API (/_fake/...) for
authorisations, dashboard-side captures and injected faults.
"""

import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from devstack.process import stack_process
from devstack.settings import DEFAULT_API_KEY
from tests.local_stack import FAKE_BOLT_URL, SF_ADDRESS, StackClient, request, stack_environment

pytestmark = pytest.mark.e2e

ADDRESS = {"first_name": "Alan", "last_name": "Watts", **SF_ADDRESS, "email": "alan@example.com"}
ITEMS = [("TOTE-BLUE", 2, 2400), ("MUG-12OZ", 1, 1600)]
CAPTURE = "/v1/merchant/transactions/capture"


class Stack(StackClient):
    def bolt_calls(self, path: str) -> list[dict[str, Any]]:
        return [c for c in self.fake("GET", "/_fake/calls")["calls"] if c["path"] == path]

    def order(self, order_id: str) -> dict[str, Any]:
        reply = self.call("GET", f"/orders/{order_id}")
        assert reply.status == 200, reply
        return dict(reply.body)

    # ------------------------------------------------------------ a whole checkout, as the storefront and Bolt do it
    def checkout(self) -> tuple[str, str, int]:
        """Cart -> order token -> shipping/tax -> order.create -> Bolt authorises and sends pending + auth."""
        items = [{"sku": sku, "quantity": quantity} for sku, quantity, _ in ITEMS]
        created = self.call("POST", "/storefront/carts", {"currency": "USD", "items": items})
        assert created.status == 201, created
        cart_id = created.body["cart_id"]
        token_reply = self.call("POST", f"/storefront/carts/{cart_id}/bolt-order-token")
        assert token_reply.status == 200, token_reply
        token = token_reply.body["order_token"]
        cart = {
            "order_reference": cart_id,
            "currency": "USD",
            "items": [
                {
                    "reference": sku,
                    "sku": sku,
                    "quantity": quantity,
                    "unit_price": price,
                    "total_amount": quantity * price,
                }
                for sku, quantity, price in ITEMS
            ],
        }
        taxed = self.signed(
            "/bolt/tax", {"cart": cart, "shipping_address": ADDRESS, "shipping_option": {"reference": "standard"}}
        )
        assert taxed.status == 200, taxed
        shipping = taxed.body["shipping_option"]["cost"]
        tax = taxed.body["tax_result"]["subtotal_amount"] + taxed.body["shipping_option"]["tax_amount"]
        total = sum(quantity * price for _, quantity, price in ITEMS) + shipping + tax
        order_cart = {
            **cart,
            "total_amount": total,
            "tax_amount": tax,
            "shipments": [{"reference": "standard", "cost": shipping, "shipping_address": ADDRESS}],
            "billing_address": ADDRESS,
        }
        created_order = self.signed("/bolt/order/create", {"order": {"token": token, "cart": order_cart}})
        assert created_order.status == 200, created_order
        order_id = created_order.body["display_id"]
        authorised = self.fake(
            "POST",
            "/_fake/authorize",
            {"order_token": token, "cart": {**order_cart, "display_id": order_id}, "webhooks": ["pending", "auth"]},
        )
        assert [(w["type"], w["status"]) for w in authorised["webhooks"]] == [("pending", 200), ("auth", 200)]
        return order_id, authorised["transaction"]["reference"], total


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log = tmp_path_factory.mktemp("devstack-backoffice") / "stack.log"
    with stack_process(stack_environment(), log_path=log) as process:
        yield Stack(api=process.url, bolt=process.announced(FAKE_BOLT_URL))


def _ledger(view: Mapping[str, Any], kind: str) -> list[dict[str, Any]]:
    return [entry for entry in view["timeline"] if entry["type"] == kind]


def _assert_money(view: Mapping[str, Any], status: str, captured: int, refunded: int, total: int) -> None:
    assert view["status"] == status
    amounts = view["amounts"]
    assert (amounts["authorized"], amounts["captured"], amounts["refunded"]) == (total, captured, refunded)
    assert amounts["refundable"] == captured - refunded
    # the ledger says the same as the order: one entry per Bolt capture / credit id, amounts adding up
    captures = _ledger(view, "capture")
    credits = _ledger(view, "credit")
    assert sum(e["amount"] for e in captures) == captured
    assert sum(e["amount"] for e in credits) == refunded
    assert sorted(e["key"] for e in captures) == sorted(f"capture#{c['id']}" for c in view["bolt"]["captures"])
    assert sorted(e["key"] for e in credits) == sorted(f"credit#{c['id']}" for c in view["bolt"]["credits"])


def test_checkout_then_captures_and_refunds_with_retries_that_never_double_apply(stack: Stack) -> None:
    order_id, reference, total = stack.checkout()
    view = stack.order(order_id)
    _assert_money(view, "authorized", 0, 0, total)
    assert [e["type"] for e in view["timeline"]] == ["pending", "auth"]
    assert view["bolt"]["transaction_reference"] == reference

    steps: list[tuple[str, dict[str, Any], str, int, int]] = [
        ("capture", {"amount": 3000}, "partially_captured", 3000, 0),
        ("capture", {}, "captured", total, 0),
        ("refund", {"amount": 1600, "reason": "mug arrived broken"}, "partially_refunded", total, 1600),
        ("refund", {}, "refunded", total, total),
    ]
    for number, (operation, body, status, captured, refunded) in enumerate(steps):
        key = f"step-{number}"
        bolt_path = CAPTURE if operation == "capture" else "/v1/merchant/transactions/credit"
        calls_before = len(stack.bolt_calls(bolt_path))

        done = stack.call("POST", f"/orders/{order_id}/{operation}", body, key=key)
        retried = stack.call("POST", f"/orders/{order_id}/{operation}", body, key=key)

        assert done.status == 200, done
        assert retried.status == 200
        assert retried.headers.get("Idempotent-Replayed") == "true"
        assert retried.body == done.body
        assert len(stack.bolt_calls(bolt_path)) == calls_before + 1  # the retry never reached Bolt
        _assert_money(stack.order(order_id), status, captured, refunded, total)

        if number == 0:
            refused = stack.call("POST", f"/orders/{order_id}/cancel", {"reason": "too late"})
            assert refused.status == 409
            assert refused.body["error"]["message"].startswith("Funds were captured")

    # and Bolt's side of it: the fake's transaction, read with the API key as our client does
    bolt_side = request(
        stack.bolt,
        "GET",
        f"/v1/merchant/transactions/{reference}",
        headers={"X-Api-Key": DEFAULT_API_KEY, "X-Nonce": uuid.uuid4().hex},
    )
    assert bolt_side.status == 200
    assert sum(c["amount"]["amount"] for c in bolt_side.body["captures"]) == total
    assert bolt_side.body["refunded_amount"]["amount"] == total
    assert bolt_side.body["status"] == "completed"


def test_merchant_actions_ask_bolt_to_skip_the_echo_webhooks(stack: Stack) -> None:
    order_id, _, total = stack.checkout()
    stack.call("POST", f"/orders/{order_id}/capture", {"amount": 2000})
    stack.call("POST", f"/orders/{order_id}/refund", {"amount": 500})

    calls = stack.fake("GET", "/_fake/calls")["calls"]
    actions = [c for c in calls if c["path"] in (CAPTURE, "/v1/merchant/transactions/credit")]
    assert all(c["body"]["skip_hook_notification"] is True for c in actions[-2:])
    view = stack.order(order_id)
    _assert_money(view, "partially_refunded", 2000, 500, total)


def test_cancel_voids_before_capture_and_the_echo_webhook_changes_nothing(stack: Stack) -> None:
    order_id, reference, _ = stack.checkout()

    cancelled = stack.call("POST", f"/orders/{order_id}/cancel", {"reason": "customer changed their mind"})
    echo = stack.fake("POST", "/_fake/webhooks", {"reference": reference, "type": "void"})

    assert cancelled.status == 200
    assert cancelled.body["order"]["status"] == "cancelled"
    assert echo["status"] == 200
    assert echo["body"]["result"] == "duplicate"
    view = stack.order(order_id)
    assert [e["type"] for e in view["timeline"]] == ["pending", "auth", "void"]
    assert stack.call("POST", f"/orders/{order_id}/capture", {}).status == 409


def test_fulfilment_with_tracking_then_cancel_is_refused(stack: Stack) -> None:
    order_id, reference, _ = stack.checkout()
    body = {
        "line_items": [{"line_item_key": "TOTE-BLUE", "fulfilled_quantity": 2}],
        "tracking": {"carrier": "UPS", "tracking_number": "1Z999AA10123456784"},
    }

    fulfilled = stack.call("PATCH", f"/orders/{order_id}/line-items", body, key="ship-1")
    retried = stack.call("PATCH", f"/orders/{order_id}/line-items", body, key="ship-1")
    cancel = stack.call("POST", f"/orders/{order_id}/cancel", {})

    assert fulfilled.status == 200, fulfilled
    assert fulfilled.body["order"]["fulfilment_status"] == "partially_fulfilled"
    assert retried.headers.get("Idempotent-Replayed") == "true"
    assert cancel.status == 409
    tracked = stack.bolt_calls("/v1/merchant/track_shipment")
    assert [c["body"]["transaction_reference"] for c in tracked] == [reference]
    view = stack.order(order_id)
    assert [(i["line_item_key"], i["fulfilled_quantity"]) for i in view["items"]] == [("TOTE-BLUE", 2), ("MUG-12OZ", 0)]
    assert view["shipments"][0]["tracking_number"] == "1Z999AA10123456784"
    assert [e["type"] for e in view["timeline"]][-1] == "fulfilment"


def test_bolt_422_409_and_5xx_reach_the_operator_as_422_409_and_a_success(stack: Stack) -> None:
    order_id, reference, total = stack.checkout()

    # 422: someone captured in Bolt's dashboard; Bolt refuses what we still think is capturable
    stack.fake("POST", f"/_fake/transactions/{reference}/capture", {"amount": total - 100})
    too_much = stack.call("POST", f"/orders/{order_id}/capture", {"amount": 500}, key="cap-a")
    assert too_much.status == 422
    assert too_much.body["error"]["message"].startswith("Bolt refused the request")

    # 409: Bolt is still processing an earlier request with the same Idempotency-Key
    stack.fake("POST", "/_fake/faults", {"status": 409, "count": 3, "path": CAPTURE})
    busy = stack.call("POST", f"/orders/{order_id}/capture", {"amount": 50}, key="cap-b")
    assert busy.status == 409
    assert busy.headers.get("Retry-After")
    after_busy = stack.call("POST", f"/orders/{order_id}/capture", {"amount": 50}, key="cap-b")
    assert after_busy.status == 200

    # 5xx then success: Bolt's retries are invisible to the operator, one capture happens
    stack.fake("POST", "/_fake/faults", {"status": 503, "count": 2, "path": CAPTURE})
    flaky = stack.call("POST", f"/orders/{order_id}/capture", {"amount": 50}, key="cap-c")
    assert flaky.status == 200
    statuses = [c["status"] for c in stack.bolt_calls(CAPTURE) if c["body"]["amount"] == 50]
    assert statuses[-3:] == [503, 503, 200]
    # Bolt's answers list every capture, the dashboard's too: the order learnt about it on the way
    view = stack.order(order_id)
    _assert_money(view, "captured", total, 0, total)
    assert len(_ledger(view, "capture")) == 3
