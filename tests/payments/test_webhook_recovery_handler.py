"""POST /bolt/webhooks/transaction when the order is missing, through the real handler under moto: where Bolt
holds or took money an order exists afterwards (recovered from Bolt's cart wherever the webhook carries it, held
with its reasons when it cannot be verified, never refused), a webhook ahead of order.create is asked to retry for
a bounded window only, and a payment naming no cart is kept for reconciliation. The shopper's addresses reach the
order and the back office's view, and never a log line."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bolt_merchant.payments import webhook as webhook_module

from devstack import bolt_payloads
from devstack.apigw import rest_proxy_event
from devstack.bolt_payloads import DEMO_LINES, Line
from tests import seed
from tests.payments.conftest import Webhooks, emitted_metrics
from tests.support import AwsStack, HookFunction, demo_products, response_body, response_header

TOTAL = bolt_payloads.DEMO_TOTAL
ADDRESS = bolt_payloads.SF_ADDRESS
# What identifies the shopper in Bolt's cart: none of it may reach a log line.
PERSONAL = (ADDRESS["street_address1"], ADDRESS["email"], ADDRESS["phone"], "Dupr")
hook = bolt_payloads.transaction_webhook


def cart_at_top_level(payload: dict[str, Any]) -> dict[str, Any]:
    """The same webhook with Bolt's cart sent as data.cart instead of data.order.cart (some senders do)."""
    payload["data"]["cart"] = payload["data"]["order"].pop("cart")
    return payload


def waiting_markers(aws: AwsStack) -> list[dict[str, Any]]:
    return seed.orders_table_items(aws, "waiting")


def assert_no_personal_data(output: str) -> None:
    for value in PERSONAL:
        assert value not in output


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The webhook handler's clock: the test moves it by changing clock[0]."""
    moments = [datetime.now(UTC)]
    monkeypatch.setattr(webhook_module, "now", lambda: moments[0])
    return moments


# ---------------------------------------------------------------- Bolt's cart, wherever it is
def test_a_payment_whose_cart_is_data_cart_recovers_the_order(
    webhooks: Webhooks, aws: AwsStack, capsys: pytest.CaptureFixture[str]
) -> None:
    """A payment for a cart we stored whose order.create never finished, the cart sent as data.cart: the order is
    recovered as order.create would have made it, captured, with the shopper's addresses, and nothing personal
    is logged."""
    seed.seed_cart(aws)
    capsys.readouterr()

    answer = webhooks.deliver_ok(cart_at_top_level(hook("payment")))

    assert answer == {"status": "success", "result": "applied", "display_id": seed.DEMO_ORDER_ID}
    order = webhooks.order()
    assert (order.status, order.holds, order.captured) == ("captured", [], TOTAL)
    assert order.totals.total == TOTAL
    assert order.bolt_transaction_reference == bolt_payloads.payment_reference()
    assert order.billing_address is not None
    assert (order.billing_address.street_address1, order.billing_address.email) == (
        ADDRESS["street_address1"],
        ADDRESS["email"],
    )
    assert [a.postal_code for a in order.shipping_addresses] == [ADDRESS["postal_code"]]
    assert order.contact_email == ADDRESS["email"]
    assert seed.cart_item_attributes(aws)["status"] == "ordered"
    assert_no_personal_data(capsys.readouterr().out)


@pytest.mark.parametrize("location", ["data.order.cart", "data.cart"])
def test_a_payment_for_a_cart_we_never_stored_is_recovered_and_held(
    webhooks: Webhooks, aws: AwsStack, location: str
) -> None:
    """Unknown cart: Bolt took the money, so the order exists, as Bolt charged it, held for recovered_unknown_cart;
    Bolt gets a 200 either way."""
    payload = hook("payment")
    if location == "data.cart":
        cart_at_top_level(payload)

    answer = webhooks.deliver_ok(payload)

    assert answer == {"status": "success", "result": "held", "display_id": seed.DEMO_ORDER_ID}
    order = webhooks.order()
    assert (order.status, order.hold_reasons) == ("on_hold", ["recovered_unknown_cart"])
    assert (order.captured, order.totals.total) == (TOTAL, TOTAL)
    assert [(line.sku, line.quantity) for line in order.lines] == list(seed.DEMO_ITEMS)


def test_a_payment_for_an_expired_cart_is_recovered_and_held(webhooks: Webhooks, aws: AwsStack) -> None:
    """Expired cart: recovered all the same, held for recovered_expired_cart, its stock reserved."""
    seed.seed_cart(aws, expires_at=datetime.now(UTC) - timedelta(minutes=1))

    answer = webhooks.deliver_ok(hook("payment"))

    assert answer["result"] == "held"
    order = webhooks.order()
    assert order.hold_reasons == ["recovered_expired_cart"]
    assert order.captured == TOTAL
    products = demo_products()
    assert seed.stock(aws, "TOTE-BLUE") == (products["TOTE-BLUE"].inventory - 2, 2)


def test_a_payment_at_other_prices_is_recorded_as_bolt_charged_it_and_held(webhooks: Webhooks, aws: AwsStack) -> None:
    """Bolt charged another price than the catalog's: the order is not refused, it records Bolt's lines and totals
    (what the shopper paid) and is held for recovered_price_changed."""
    seed.seed_cart(aws)
    cheaper = (Line("TOTE-BLUE", "Canvas Tote (Blue)", 2, 2000), DEMO_LINES[1])
    cart = bolt_payloads.order_cart(lines=cheaper)
    charged = int(cart["total_amount"]["amount"])
    assert charged != TOTAL

    answer = webhooks.deliver_ok(hook("payment", cart=cart, amount=charged))

    assert answer["result"] == "held"
    order = webhooks.order()
    assert "recovered_price_changed" in order.hold_reasons
    assert {line.sku: line.unit_price for line in order.lines} == {"TOTE-BLUE": 2000, "MUG-12OZ": 1600}
    assert (order.totals.total, order.authorized, order.captured) == (charged, charged, charged)


@pytest.mark.parametrize(
    ("currency", "result", "holds"),
    [("usd", "applied", []), ("dollars", "held", ["currency_mismatch"])],
    ids=["lower-case-code", "not-a-code"],
)
def test_an_odd_currency_never_stops_a_recovery(
    webhooks: Webhooks, aws: AwsStack, currency: str, result: str, holds: list[str]
) -> None:
    """The payment's currency as Bolt wrote it: a code in lower case is the order's currency; anything else is
    recorded and holds the recovered order. Either way Bolt gets a 200 and the order exists."""
    seed.seed_cart(aws)

    response = webhooks.deliver(hook("pending", currency=currency))

    assert response["statusCode"] == 200, response["body"]
    assert response_body(response)["result"] == result
    order = webhooks.order()
    assert (order.currency, order.hold_reasons) == ("USD", holds)


# ---------------------------------------------------------------- a webhook ahead of its order: a bounded wait
def test_a_webhook_for_a_stored_cart_waits_for_order_create_only_within_the_window(
    webhooks: Webhooks, aws: AwsStack, clock: list[datetime], capsys: pytest.CaptureFixture[str]
) -> None:
    """An auth for a cart we stored, whose order never appears: 503 with Retry-After while order.create may still be
    running (ORDER_WAIT_SECONDS from the first delivery, whatever the retries), then the order is recovered from
    Bolt's cart and the auth applied (200); the waiting marker goes with it."""
    wait = timedelta(seconds=int(aws.specs["transaction_webhook"].environment["ORDER_WAIT_SECONDS"]))
    assert wait > timedelta(0)
    seed.seed_cart(aws)
    first = clock[0]
    capsys.readouterr()

    answers = []
    for offset in (timedelta(0), wait / 2, wait - timedelta(seconds=1)):
        clock[0] = first + offset
        answers.append(webhooks.deliver(hook("auth")))

    assert [a["statusCode"] for a in answers] == [503, 503, 503]
    assert all(response_header(a, "Retry-After") for a in answers)
    assert emitted_metrics(capsys.readouterr().out)["WebhookAwaitingOrder"] == 3
    assert seed.stored_order(aws) is None
    (marker,) = waiting_markers(aws)
    assert datetime.fromisoformat(marker["first_seen"]) == first  # the retries did not move the window

    clock[0] = first + wait
    answer = webhooks.deliver_ok(hook("auth"))

    assert answer == {"status": "success", "result": "applied", "display_id": seed.DEMO_ORDER_ID}
    order = webhooks.order()
    assert (order.status, order.authorized, order.holds) == ("authorized", TOTAL, [])
    assert waiting_markers(aws) == []
    assert webhooks.deliver_ok(hook("auth"))["result"] == "duplicate"


def test_after_the_window_a_void_for_a_cart_without_an_order_is_left_to_reconciliation(
    webhooks: Webhooks, aws: AwsStack, clock: list[datetime]
) -> None:
    """A void moves no money: once the window is over it creates no order, is acknowledged as held and stays in
    the attention index for reconciliation to ask Bolt."""
    wait = timedelta(seconds=int(aws.specs["transaction_webhook"].environment["ORDER_WAIT_SECONDS"]))
    seed.seed_cart(aws)
    first = clock[0]
    assert webhooks.deliver(hook("void"))["statusCode"] == 503

    clock[0] = first + wait
    answer = webhooks.deliver_ok(hook("void"))

    assert answer["result"] == "held"
    assert seed.stored_order(aws) is None
    (marker,) = waiting_markers(aws)
    assert marker["attention"] == "due"


def test_a_payment_naming_no_cart_is_kept_for_reconciliation(webhooks: Webhooks, aws: AwsStack) -> None:
    """No cart, no order reference, a payment reference nobody knows: 200 "held" and one WAITING# marker for the
    payment (redeliveries keep the first), in the attention index with Bolt's event."""
    payload = hook("auth")
    payload["data"]["order"] = None
    reference = bolt_payloads.payment_reference()

    answers = [webhooks.deliver_ok(payload) for _ in range(2)]

    assert answers == [{"status": "success", "result": "held"}] * 2
    (marker,) = waiting_markers(aws)
    assert marker["pk"] == f"WAITING#{reference}"
    assert marker["attention"] == "due"
    assert json.loads(marker["event"])["reference"] == reference
    assert seed.orders_table_items(aws, "order") == []


# ---------------------------------------------------------------- addresses: the order and the back office only
def test_the_addresses_from_bolts_cart_are_in_the_back_office_view_and_no_log(
    webhooks: Webhooks,
    aws: AwsStack,
    hook_function: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Billing and shipping addresses of a recovered order are what GET /orders/{id} shows; neither the webhook
    nor the back office logs any of it."""
    capsys.readouterr()
    webhooks.deliver_ok(hook("payment"))
    admin: HookFunction = hook_function("order_admin")
    path = f"/orders/{seed.DEMO_ORDER_ID}"
    event = rest_proxy_event(
        "GET", "/orders/{order_id}", path, None, path_parameters={"order_id": seed.DEMO_ORDER_ID}, stage="dev"
    )

    response = admin(event)

    assert response["statusCode"] == 200
    view = response_body(response)
    billing = view["billing_address"]
    assert {key: billing[key] for key in ("street_address1", "locality", "postal_code", "email", "phone")} == {
        "street_address1": ADDRESS["street_address1"],
        "locality": ADDRESS["locality"],
        "postal_code": ADDRESS["postal_code"],
        "email": ADDRESS["email"],
        "phone": ADDRESS["phone"],
    }
    (shipping,) = view["shipping_addresses"]
    assert (shipping["street_address1"], shipping["first_name"]) == (ADDRESS["street_address1"], ADDRESS["first_name"])
    assert_no_personal_data(capsys.readouterr().out)
