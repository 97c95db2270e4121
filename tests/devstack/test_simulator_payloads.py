"""The Bolt payload builder (devstack/bolt_payloads.py) and the simulator's use of it, checked against the layer's own
verification and models."""

import json
import re
from typing import Any

import pytest
import requests
from bolt_merchant.bolt.signed import PENDING_SIGNATURE_HEADER, SIGNATURE_HEADER, is_signed_by
from bolt_merchant.checkout.discounts import DiscountApplyRequest
from bolt_merchant.checkout.order_create import OrderCreateRequest
from bolt_merchant.checkout.shipping import ShippingRequest
from bolt_merchant.checkout.tax import TaxRequest
from bolt_merchant.payments.webhook import parse_transaction_event

from devstack import bolt_payloads
from devstack.bolt_payloads import Ids, Line
from devstack.simulator import payloads
from devstack.simulator.client import Target
from devstack.simulator.payloads import CartState, Delivery, Discount, Payment

SECRET = "sim-active-secret"
PENDING = "sim-pending-secret"


def cart(*, pickup: bool = False, discount: bool = True) -> CartState:
    state = CartState(
        cart_id="c_0123456789abcdef",
        currency="USD",
        lines=[Line("MUG-12OZ", "Stoneware Mug 12oz", 2, 1600), Line("GIFT-25", "Gift Card $25", 1, 2500)],
        token="f" * 64,
    )
    reference, cost = ("store-sf", 0) if pickup else ("standard", 599)
    state.delivery = Delivery(reference, "Standard (5-7 days)", cost, pickup=pickup, shipping_tax=43)
    state.items_tax = 232
    if discount:
        state.discount = Discount("WELCOME10", 1000)
    return state


# ---------------------------------------------------------------- signing
def test_signature_verifies_with_the_layer() -> None:
    raw = bolt_payloads.php_style_json({"event": "order.create", "data": {"name": "Zo\u00eb"}})

    assert is_signed_by(raw, [bolt_payloads.sign(raw, SECRET)], [SECRET])
    assert not is_signed_by(raw, [bolt_payloads.sign(raw, SECRET)], ["another-secret"])


def test_headers_carry_the_active_signature_and_optionally_the_pending_one() -> None:
    raw = bolt_payloads.php_style_json({"type": "auth", "object": "transaction", "data": {}})

    only_active = bolt_payloads.bolt_headers(raw, SECRET)
    both = bolt_payloads.bolt_headers(raw, SECRET, PENDING, trace_id="t-1")

    assert PENDING_SIGNATURE_HEADER not in only_active
    assert only_active[SIGNATURE_HEADER] == both[SIGNATURE_HEADER]
    assert is_signed_by(raw, [both[SIGNATURE_HEADER]], [SECRET])
    assert is_signed_by(raw, [both[PENDING_SIGNATURE_HEADER]], [PENDING])  # after the rotation, the new one alone
    assert not is_signed_by(raw, [both[PENDING_SIGNATURE_HEADER]], [SECRET])
    assert (both["Content-Type"], both["X-Bolt-Trace-Id"]) == ("application/json", "t-1")


def test_bodies_escape_like_php_and_the_signature_covers_those_exact_bytes() -> None:
    payload = {"first_name": "Zo\u00eb", "url": "https://shop.example.com/a"}
    raw = bolt_payloads.php_style_json(payload)
    reserialised = json.dumps(json.loads(raw), separators=(",", ":")).encode()

    assert b"Zo\\u00eb" in raw
    assert b"https:\\/\\/shop" in raw
    assert raw.isascii()
    assert json.loads(raw) == payload
    assert not is_signed_by(reserialised, [bolt_payloads.sign(raw, SECRET)], [SECRET])


# ---------------------------------------------------------------- identifiers
def test_ids_look_like_bolts_and_repeat_only_for_the_same_seed() -> None:
    first, again, other = Ids("1:c_a"), Ids("1:c_a"), Ids("1:c_b")
    ids = [first.public_id("TA"), first.reference(), first.token()]

    assert ids == [again.public_id("TA"), again.reference(), again.token()]
    assert ids[0] != other.public_id("TA")
    assert re.fullmatch(r"TA[1-9A-HJ-NP-Za-km-z]{11}", ids[0])
    assert re.fullmatch(r"[2-9B-DF-HJ-NP-TV-Z]{4}-[2-9B-DF-HJ-NP-TV-Z]{4}-[2-9B-DF-HJ-NP-TV-Z]{4}", ids[1])
    assert re.fullmatch(r"[0-9a-f]{64}", ids[2])
    assert Ids().public_id("TA") != Ids().public_id("TA")  # without a seed (the fake Bolt API's): unpredictable


# ---------------------------------------------------------------- hooks: what the backend's models read
def test_total_is_items_minus_discount_plus_shipping_plus_tax() -> None:
    state = cart()

    assert (state.subtotal, state.tax, state.shipping) == (5700, 275, 599)
    assert state.total == 5700 - 1000 + 599 + 275


def test_order_create_cart_uses_amount_objects_and_reads_back_to_the_cent() -> None:
    state = cart()
    body = payloads.order_create_request(state)
    bolt = body["order"]["cart"]

    assert bolt["total_amount"] == {"amount": state.total, "currency": "USD", "currency_symbol": "$"}
    assert bolt["currency"] == {"currency": "USD", "currency_symbol": "$"}
    assert "email_address" in bolt["billing_address"]
    parsed = OrderCreateRequest.model_validate(body).order.cart
    assert parsed.order_reference == state.cart_id
    assert (parsed.total_amount, parsed.tax_amount, parsed.shipping_amount) == (state.total, 275, 599)
    assert [(i.catalog_sku, i.quantity, i.unit_price) for i in parsed.items] == [
        ("MUG-12OZ", 2, 1600),
        ("GIFT-25", 1, 2500),
    ]
    assert [(d.code, d.amount) for d in parsed.discounts] == [("WELCOME10", 1000)]
    assert parsed.shipments[0].reference == "standard"
    assert parsed.shipments[0].cost == 599
    assert parsed.billing_address is not None
    assert parsed.billing_address.email == bolt_payloads.SF_ADDRESS["email"]


def test_shipping_tax_and_discount_requests_read_as_bolt_hooks() -> None:
    state = cart()

    shipping = ShippingRequest.model_validate(payloads.shipping_request(state))
    tax = TaxRequest.model_validate(payloads.tax_request(state, state.delivery or Delivery("x", "x", 0)))
    discount = DiscountApplyRequest.model_validate(payloads.discount_request(state, "WELCOME10"))

    assert shipping.shipping_address.country == "US"
    assert shipping.cart.items[0].unit_price == 1600
    assert tax.shipping_option is not None
    assert (tax.shipping_option.reference, tax.shipping_option.cost) == ("standard", 599)
    assert discount.code == "WELCOME10"
    assert discount.cart.shipments[0].cost == 599


def test_pickup_goes_to_tax_as_a_ship_to_store_option() -> None:
    state = cart(pickup=True)
    body = payloads.tax_request(state, state.delivery or Delivery("x", "x", 0))

    assert "shipping_option" not in body
    parsed = TaxRequest.model_validate(body)
    assert parsed.ship_to_store_option is not None
    assert parsed.ship_to_store_option.reference == "store-sf"


# ---------------------------------------------------------------- webhooks: what the backend's parser reads
def payment(state: CartState) -> Payment:
    return Payment("TAaaaaaaaaaaa", "BBBB-CCCC-DDDD", state.total, "USD", state)


def test_v2_webhook_envelope_reads_as_a_transaction_event() -> None:
    state = cart()
    state.display_id = "BO-ABCDEFGHIJ"
    paid = payment(state)
    paid.captures.append(payloads.Capture("CAbbbbbbbbbbb", 1000))  # a capture Bolt made
    envelope = bolt_payloads.webhook("capture", payloads.transaction(paid, "authorized", paid.captures))

    event = parse_transaction_event(envelope)

    assert envelope["object"] == "transaction"
    assert (event.hook_type, event.transaction_id, event.reference) == ("capture", paid.id, paid.reference)
    assert (event.amount, event.currency) == (state.total, "USD")
    assert [(c.capture_id, c.amount) for c in event.captures] == [("CAbbbbbbbbbbb", 1000)]
    assert (event.order_reference, event.display_id) == (state.cart_id, "BO-ABCDEFGHIJ")
    assert event.cart is not None
    assert event.cart.total_amount == state.total


def test_credit_is_its_own_transaction_pointing_at_the_payment() -> None:
    paid = payment(cart())
    envelope = bolt_payloads.webhook(
        "credit", payloads.credit_transaction(paid, "TAccccccccccc", "EEEE-FFFF-GGGG", 700)
    )

    event = parse_transaction_event(envelope)

    assert envelope["data"]["type"] == "cc_credit"
    assert (event.hook_type, event.transaction_id, event.amount) == ("credit", "TAccccccccccc", 700)
    assert event.source_reference == paid.reference
    assert event.order_reference == paid.cart.cart_id


def test_dropped_order_webhook_has_no_display_id_but_the_whole_cart() -> None:
    state = cart()
    envelope = bolt_payloads.webhook("pending", payloads.transaction(payment(state), "pending"))

    event = parse_transaction_event(envelope)

    assert event.display_id is None
    assert event.cart is not None
    assert OrderCreateRequest.model_validate({"order": {"cart": envelope["data"]["order"]["cart"]}})


# ---------------------------------------------------------------- what goes on the wire
class RecordingSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent.append({"method": method, "url": url, **kwargs})
        response = requests.Response()
        response.status_code = 200
        response._content = b'{"event": "order.tax", "status": "success", "data": {"tax_result": {}}}'
        return response


@pytest.mark.parametrize(
    ("routes", "path", "shape"),
    [("universal", "/bolt/universal", {"event", "data"}), ("split", "/bolt/tax", {"type", "cart"})],
)
def test_hooks_go_to_the_route_in_the_shape_bolt_uses(routes: str, path: str, shape: set[str]) -> None:
    session = RecordingSession()
    target = Target("http://merchant.test/dev/", SECRET, PENDING, session=session, routes=routes)  # type: ignore[arg-type]

    target.hook("order.tax", {"cart": {"items": []}}, "trace-1")

    sent = session.sent[0]
    assert sent["url"] == f"http://merchant.test/dev{path}"
    raw = sent["data"]
    assert shape <= set(json.loads(raw))
    assert is_signed_by(raw, [sent["headers"][SIGNATURE_HEADER]], [SECRET])
    assert is_signed_by(raw, [sent["headers"][PENDING_SIGNATURE_HEADER]], [PENDING])
    assert sent["headers"]["X-Bolt-Trace-Id"] == "trace-1"
    assert sent["timeout"] > 0
