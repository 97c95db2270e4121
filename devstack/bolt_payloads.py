"""What Bolt sends, built the way Bolt builds it (shared/reference/bolt-api.md §2-§4): the one builder of Bolt's carts,
hook bodies, webhooks, signatures and headers, for events/ (devstack/make_events.py), the Bolt simulator, the fake
Bolt API's webhooks and the tests. Pure: no I/O.

Signing is written out here, independently of the layer's verification in bolt_merchant.bolt.signed (tests check
one against the other): base64(HMAC-SHA256(secret, exact raw body bytes)) in X-Bolt-Hmac-Sha256 and, during a
secret rotation, the same over the pending secret in X-Bolt-Hmac-Sha256-Pending. A body is serialised once, as PHP's
json_encode writes it, and those exact bytes are both signed and sent.

Defaults are the demo cart (demo catalog SKUs, see data/) every event in events/ refers to: Bolt only knows a cart
by its order_reference, so tests (and a developer using `sam local invoke`) store DEMO_CART_ID with DEMO_LINES first
(tests/seed.py). Ids and times are fixed or derived from the cart id, so events/ is reproducible; Ids
makes Bolt-looking ids for the simulator (seeded) and the fake Bolt API (random).
"""

import base64
import hashlib
import hmac
import json
import random
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from devstack.settings import DEFAULT_SIGNING_SECRET

SIGNATURE_HEADER = "X-Bolt-Hmac-Sha256"
PENDING_SIGNATURE_HEADER = "X-Bolt-Hmac-Sha256-Pending"
TRACE_HEADER = "X-Bolt-Trace-Id"
FIXED_TIME_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z: transaction dates and request times of events/
CURRENCY_SYMBOLS = {"USD": "$", "CAD": "$", "EUR": "\u20ac", "GBP": "\u00a3"}
_ID_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_REFERENCE_ALPHABET = "23456789BCDFGHJKLMNPQRSTVWXYZ"


# ---------------------------------------------------------------- bytes, signatures, headers
def php_style_json(payload: Mapping[str, Any]) -> bytes:
    """Compact JSON with \\uXXXX escapes and escaped slashes, as PHP's json_encode (Bolt's serialiser) writes it.

    '/' can only occur inside JSON strings, so escaping every one keeps the document equal while making the bytes
    differ from what json.dumps(json.loads(body)) would give: verification must use the raw bytes.
    """
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode("ascii")


def sign(body: bytes, secret: str) -> str:
    """What Bolt puts in X-Bolt-Hmac-Sha256."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def bolt_headers(
    body: bytes,
    secret: str = DEFAULT_SIGNING_SECRET,
    pending_secret: str | None = None,
    trace_id: str = "local-example-trace",
) -> dict[str, str]:
    """The headers of a Bolt request: the signature, and during a rotation the pending secret's as well."""
    headers = {"Content-Type": "application/json", TRACE_HEADER: trace_id, SIGNATURE_HEADER: sign(body, secret)}
    if pending_secret:
        headers[PENDING_SIGNATURE_HEADER] = sign(body, pending_secret)
    return headers


# ---------------------------------------------------------------- identifiers
class Ids:
    """Bolt-looking identifiers: reproducible for a seed, distinct across seeds; unpredictable without one.

    Not thread-safe with a seed: one instance per checkout.
    """

    def __init__(self, seed: str | None = None) -> None:
        self._rng = random.SystemRandom() if seed is None else random.Random(seed)  # noqa: S311 - simulated ids

    def public_id(self, prefix: str) -> str:
        """Like Bolt's public ids: TA... for transactions, CA... for captures."""
        return prefix + "".join(self._rng.choice(_ID_ALPHABET) for _ in range(11))

    def reference(self) -> str:
        """Like Bolt's transaction references: XXXX-XXXX-XXXX."""
        return "-".join("".join(self._rng.choice(_REFERENCE_ALPHABET) for _ in range(4)) for _ in range(3))

    def token(self) -> str:
        """Like an order token: 64 hex characters."""
        return f"{self._rng.getrandbits(256):064x}"

    def trace_id(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"


# ---------------------------------------------------------------- carts
class Line(NamedTuple):
    sku: str
    name: str
    quantity: int
    unit_price: int  # cents

    @property
    def total(self) -> int:
        return self.quantity * self.unit_price


LineLike = tuple[str, str, int, int]  # a Line, or the plain tuple (sku, name, quantity, unit price)

DEMO_CART_ID = "c_demo0001"
DEMO_LINES: tuple[Line, ...] = (
    Line("TOTE-BLUE", "Canvas Tote (Blue)", 2, 2400),
    Line("MUG-12OZ", "Stoneware Mug 12oz", 1, 1600),
)
DEMO_SUBTOTAL = sum(line.total for line in DEMO_LINES)  # 6400
STANDARD_SHIPPING = ("standard", "Standard (5-7 days)", 599)  # under the 7500 free-shipping threshold
# California (US-CA, 7.25 %), half up per line: 4800 -> 348, 1600 -> 116. California does not tax shipping.
DEMO_TAX = 464
DEMO_TOTAL = DEMO_SUBTOTAL + STANDARD_SHIPPING[2] + DEMO_TAX  # 7463
DISCOUNT_DESCRIPTIONS = {"WELCOME10": "$10 off your first order", "ONEUSE": "Single-use code"}

# A shopper in San Francisco (CA tax, near the Union Square pickup store). The accents make every signed body carry
# \u escapes: a server that re-serialises before verifying fails on them, as Bolt's docs warn (§2.1).
SF_ADDRESS: dict[str, Any] = {
    "street_address1": "1 Market St",
    "locality": "San Francisco",
    "region": "California",
    "postal_code": "94102",
    "country_code": "US",
    "country": "United States",
    "first_name": "Ren\u00e9e",
    "last_name": "Dupr\u00e9",
    "email": "renee@example.com",
    "phone": "4155550100",
}


def order_token_for(cart_id: str) -> str:
    """A stand-in for the 64-hex-digit order token Bolt issued for the cart."""
    return hashlib.sha256(f"bolt-order-token/{cart_id}".encode()).hexdigest()


def payment_id(cart_id: str = DEMO_CART_ID) -> str:
    """The demo payment transaction id ("TA...") of the cart's checkout."""
    return f"TA-{cart_id}"


def payment_reference(cart_id: str = DEMO_CART_ID) -> str:
    return f"REF-{cart_id}"


def capture_id(number: int, cart_id: str = DEMO_CART_ID) -> str:
    return f"CA-{cart_id}-{number}"


def credit_id(number: int, cart_id: str = DEMO_CART_ID) -> str:
    """A refund is its own cc_credit transaction, with its own id and reference."""
    return f"TC-{cart_id}-{number}"


def money(cents: int, currency: str = "USD") -> dict[str, Any]:
    """Bolt's amount object (order.create carts and transactions); Bolt also sends plain integers."""
    return {"amount": cents, "currency": currency, "currency_symbol": CURRENCY_SYMBOLS.get(currency, "")}


def _billing_address(address: Mapping[str, Any]) -> dict[str, Any]:
    """Bolt's order.create fixtures name these email_address and phone_number; the models accept both."""
    renamed = {key: value for key, value in address.items() if key not in ("email", "phone")}
    return {**renamed, "email_address": address.get("email"), "phone_number": address.get("phone")}


def _item(line: LineLike, amount: Any) -> dict[str, Any]:
    sku, name, quantity, price = line
    return {
        "reference": sku,
        "sku": sku,
        "name": name,
        "quantity": quantity,
        "unit_price": amount(price),
        "total_amount": amount(quantity * price),
        "type": "physical",
        "taxable": True,
        "image_url": "https://shop.example.com/img/" + sku.lower() + ".png",
        "properties": [],
    }


def hook_cart(
    cart_id: str = DEMO_CART_ID,
    lines: Sequence[LineLike] = DEMO_LINES,
    *,
    amount_objects: bool = False,
    display_id: str = "",
    address: Mapping[str, Any] = SF_ADDRESS,
) -> dict[str, Any]:
    """The cart of the shipping and tax hooks: plain integer amounts (amount objects in the legacy hooks), no
    shipment yet, the subtotal as its total (the demo cart: $64.00, under the free-shipping threshold, all taxable)."""

    def amount(cents: int) -> Any:
        return money(cents) if amount_objects else cents

    return {
        "order_reference": cart_id,
        "display_id": display_id,
        "currency": {"currency": "USD", "currency_symbol": "$"} if amount_objects else "USD",
        "total_amount": amount(sum(quantity * price for _, _, quantity, price in lines)),
        "tax_amount": amount(0),
        "items": [_item(line, amount) for line in lines],
        "billing_address": _billing_address(address),
        "shipments": None,
        "discounts": [],
        "discount_code": "",
        "metadata": {"cart_id": cart_id},
    }


def order_cart(
    cart_id: str = DEMO_CART_ID,
    lines: Sequence[LineLike] = DEMO_LINES,
    *,
    shipping: tuple[str, str, int] | None = STANDARD_SHIPPING,
    tax: int = DEMO_TAX,
    discounts: Sequence[tuple[str, int]] = (),
    total: int | None = None,
    display_id: str = "",
    address: Mapping[str, Any] = SF_ADDRESS,
) -> dict[str, Any]:
    """Bolt's cart as order.create and the transaction webhooks carry it (amounts as objects, §3.3): the shopper's
    items, the (reference, service, cost) they chose (None for digital-only carts), the tax, the (code, amount) of
    each discount, and the total (computed unless given). display_id: our order id, once order.create answered."""
    subtotal = sum(quantity * price for _, _, quantity, price in lines)
    discount_total = sum(amount for _, amount in discounts)
    cost = shipping[2] if shipping else 0
    shipments = []
    if shipping is not None:
        reference, service, _ = shipping
        shipments.append(
            {
                "shipping_address": dict(address),
                "shipping_method": "unknown",
                "service": service,
                "cost": money(cost),
                "reference": reference,
            }
        )
    return {
        "order_reference": cart_id,
        "display_id": display_id,
        "currency": {"currency": "USD", "currency_symbol": "$"},
        "subtotal_amount": money(subtotal),
        "total_amount": money(subtotal - discount_total + cost + tax if total is None else total),
        "tax_amount": money(tax),
        "shipping_amount": money(cost),
        "discount_amount": money(discount_total),
        "billing_address": _billing_address(address),
        "items": [_item(line, money) for line in lines],
        "shipments": shipments,
        "discounts": [
            {
                "code": code,
                "reference": code,
                "amount": money(amount),
                "description": DISCOUNT_DESCRIPTIONS.get(code, code),
                "discount_category": "coupon",
            }
            for code, amount in discounts
        ],
        "metadata": {"cart_version": "1"},
    }


# ---------------------------------------------------------------- hooks (reference §3)
def universal(event: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The universal envelope, as /bolt/universal and the per-hook URLs receive it."""
    return {"event": event, "data": dict(data)}


def legacy(event: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The legacy flat envelope of the per-hook URLs."""
    return {"type": event, **data}


def shipping_request(
    cart: Mapping[str, Any] | None = None, *, address: Mapping[str, Any] = SF_ADDRESS, token: str | None = None
) -> dict[str, Any]:
    """order.shipping's (and order.shipping_and_tax's) data: the cart, where it goes, and the order token once
    Bolt has one."""
    data = {"cart": dict(cart or hook_cart()), "shipping_address": dict(address)}
    return {"order_token": token, **data} if token else data


def tax_request(
    option: Mapping[str, Any],
    cart: Mapping[str, Any] | None = None,
    *,
    pickup: bool = False,
    address: Mapping[str, Any] = SF_ADDRESS,
    token: str | None = None,
) -> dict[str, Any]:
    """order.tax once the shopper chose: a delivery option, or a pickup store as ship_to_store_option (§3.5)."""
    chosen = "ship_to_store_option" if pickup else "shipping_option"
    return {**shipping_request(cart, address=address, token=token), chosen: dict(option)}


def order_create(cart: Mapping[str, Any], token: str | None = None) -> dict[str, Any]:
    """order.create's data: Bolt's order (its token and the cart)."""
    order_token = token or order_token_for(str(cart["order_reference"]))
    return {"currency": "USD", "order": {"token": order_token, "cart": dict(cart)}}


def discount_apply(
    code: str, cart: Mapping[str, Any] | None = None, address: Mapping[str, Any] = SF_ADDRESS
) -> dict[str, Any]:
    """discounts.code.apply's data: the code, the cart with the shipping option chosen so far, and the shopper."""
    return {
        "discount_code": code,
        "cart": dict(cart or order_cart()),
        "customer_name": f"{address.get('first_name', '')} {address.get('last_name', '')}".strip(),
        "customer_email": address.get("email"),
        "customer_phone": address.get("phone"),
    }


def cart_update(
    cart_id: str = DEMO_CART_ID,
    *,
    add: tuple[tuple[str, int], ...] = (),
    remove: tuple[tuple[str, int], ...] = (),
    codes_to_add: tuple[str, ...] = (),
    codes_to_remove: tuple[str, ...] = (),
) -> dict[str, Any]:
    """cart.update's data (§3.7): the cart, and items and discount codes to add or remove."""
    return {
        "cart": {"order_reference": cart_id, "currency": "USD", "shipments": [], "metadata": {"cart_version": "1"}},
        "add_items": [{"product_id": sku, "quantity": quantity, "currency": "USD"} for sku, quantity in add],
        "remove_items": [{"product_id": sku, "quantity": quantity} for sku, quantity in remove],
        "discount_codes_to_add": list(codes_to_add),
        "discount_codes_to_remove": list(codes_to_remove),
    }


# ---------------------------------------------------------------- transactions and webhooks (reference §4)
# What Bolt's transaction `status` is when each webhook type is sent (§4.1).
TRANSACTION_STATUS = {
    "pending": "pending",
    "auth": "authorized",
    "capture": "completed",
    "payment": "completed",
    "credit": "completed",
    "void": "cancelled",
    "failed_payment": "failed",
    "rejected_reversible": "rejected_reversible",
    "rejected_irreversible": "rejected_irreversible",
}


def transaction(
    *,
    id: str,
    reference: str,
    status: str,
    amount: int,
    cart: Mapping[str, Any],
    token: str | None,
    currency: str = "USD",
    captures: Sequence[tuple[str, int]] = (),
    authorization: str = "succeeded",
    refunded: int = 0,
    date: int = FIXED_TIME_MS,
) -> dict[str, Any]:
    """A cc_payment transaction (§4.3): the webhook's data and Bolt's answer to the Transactions API. captures: the
    (capture id, amount) of every capture so far, as Bolt lists them."""
    return {
        "id": id,
        "type": "cc_payment",
        "date": date,
        "reference": reference,
        "status": status,
        "processor": "vantiv",
        "amount": money(amount, currency),
        "authorization": {"status": authorization, "reason": "none"},
        "captures": [
            {"id": capture, "status": "succeeded", "amount": money(cents, currency)} for capture, cents in captures
        ],
        "order": {"token": token, "cart": dict(cart)},
        "source_transaction": None,
        "refunded_amount": money(refunded, currency),
    }


def credit_transaction(payment: Mapping[str, Any], *, id: str, reference: str, amount: int) -> dict[str, Any]:
    """A refund of `payment` (a transaction()): its own cc_credit transaction, with its own id and reference, for the
    amount refunded, pointing at the payment through source_transaction (§4.3 field notes)."""
    return {
        **payment,
        "id": id,
        "type": "cc_credit",
        "reference": reference,
        "status": "completed",
        "amount": money(amount, payment["amount"]["currency"]),
        "captures": [],
        "source_transaction": {"id": payment["id"], "reference": payment["reference"]},
        "credit": {"status": "succeeded"},
    }


def webhook(hook_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Webhooks v2 envelope (§4.2)."""
    return {"type": hook_type, "object": "transaction", "data": dict(data)}


def transaction_webhook(
    hook_type: str,
    *,
    cart_id: str = DEMO_CART_ID,
    cart: Mapping[str, Any] | None = None,
    amount: int = DEMO_TOTAL,
    captures: Sequence[tuple[str, int]] = (),
    credit: str | None = None,
    currency: str = "USD",
) -> dict[str, Any]:
    """The v2 webhook of `hook_type` for the cart's payment, with the demo ids derived from the cart id.

    For `credit`, the transaction is the refund (cc_credit, id `credit`) and `amount` the refunded amount.
    """
    cart_document = dict(cart or order_cart(cart_id))
    data = transaction(
        id=payment_id(cart_id),
        reference=payment_reference(cart_id),
        status=TRANSACTION_STATUS.get(hook_type, "completed"),
        amount=amount,
        cart=cart_document,
        token=order_token_for(str(cart_document["order_reference"])),
        currency=currency,
        captures=captures,
    )
    if hook_type == "credit":
        refund = credit or credit_id(1, cart_id)
        data = credit_transaction(data, id=refund, reference=f"REF-{refund}", amount=amount)
    return webhook(hook_type, data)


def legacy_transaction_webhook(
    hook_type: str, *, cart_id: str = DEMO_CART_ID, amount: int = DEMO_TOTAL
) -> dict[str, Any]:
    """The legacy (v1) flat webhook: `order` is our cart id, amounts plain cents (§4.2)."""
    return {
        "id": payment_id(cart_id),
        "reference": payment_reference(cart_id),
        "order": cart_id,
        "type": hook_type,
        "amount": amount,
        "currency": "USD",
        "status": TRANSACTION_STATUS.get(hook_type, "completed"),
        "display_id": "",
        "source_transaction_id": None,
        "source_transaction_reference": None,
    }
