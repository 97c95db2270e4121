"""What Bolt sends, built the way Bolt builds it (shared/reference/bolt-api.md §2-§4). Pure: no I/O.

Signing is done here independently of the layer's verification in bolt_merchant.bolt.signed (a test checks one
against the other):
base64(HMAC-SHA256(secret, exact raw body bytes)) in X-Bolt-Hmac-Sha256, and during a secret rotation the same
over the pending secret in X-Bolt-Hmac-Sha256-Pending. Bodies are serialised once, with non-ASCII escaped as
\\uXXXX as Bolt's own serialiser does, and those exact bytes are both signed and sent.
"""

import base64
import hashlib
import hmac
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SIGNATURE_HEADER = "X-Bolt-Hmac-Sha256"
PENDING_SIGNATURE_HEADER = "X-Bolt-Hmac-Sha256-Pending"
TRACE_HEADER = "X-Bolt-Trace-Id"

_ID_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_REFERENCE_ALPHABET = "23456789BCDFGHJKLMNPQRSTVWXYZ"
CURRENCY_SYMBOLS = {"USD": "$", "CAD": "$", "EUR": "\u20ac", "GBP": "\u00a3"}

# Which transaction status Bolt reports with each webhook type (reference §4.1).
STATUS_FOR_HOOK = {
    "pending": "pending",
    "auth": "authorized",
    "payment": "completed",
    "failed_payment": "failed",
    "rejected_reversible": "rejected_reversible",
    "rejected_irreversible": "rejected_irreversible",
    "void": "cancelled",
}

# A shopper in San Francisco (CA tax, near the Union Square pickup store). The diaeresis makes every signed body
# carry a \u escape: a server that re-serialises before verifying fails on it, as Bolt's docs warn (§2.1).
SF_ADDRESS: dict[str, str] = {
    "first_name": "Zo\u00eb",
    "last_name": "Simulator",
    "street_address1": "1 Market St",
    "locality": "San Francisco",
    "region": "CA",
    "postal_code": "94102",
    "country_code": "US",
    "country": "United States",
    "email": "zoe.simulator@example.com",
    "phone": "+14155550123",
}


# ---------------------------------------------------------------- signing
def encode(payload: Any) -> bytes:
    """The exact bytes sent (and signed): compact JSON, non-ASCII as \\uXXXX."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def sign(raw_body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_headers(raw_body: bytes, secret: str, pending_secret: str | None = None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(raw_body, secret)}
    if pending_secret:
        headers[PENDING_SIGNATURE_HEADER] = sign(raw_body, pending_secret)
    return headers


# ---------------------------------------------------------------- identifiers
class Ids:
    """Bolt-looking identifiers from a seeded generator: reproducible for a seed, distinct across seeds.

    Not thread-safe: one instance per checkout.
    """

    def __init__(self, seed: str) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - identifiers for a simulation, not secrets

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
def money(cents: int, currency: str) -> dict[str, Any]:
    """Bolt's amount object (transactions and order.create carts)."""
    return {"amount": cents, "currency": currency, "currency_symbol": CURRENCY_SYMBOLS.get(currency, "")}


@dataclass(frozen=True)
class Line:
    sku: str
    name: str
    quantity: int
    unit_price: int

    @property
    def total(self) -> int:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class Delivery:
    """The option the shopper chose: a delivery option or a pickup store, as the hooks priced it."""

    reference: str
    service: str
    cost: int
    pickup: bool = False
    shipping_tax: int = 0  # from order.tax


@dataclass(frozen=True)
class Discount:
    code: str
    amount: int
    type: str
    description: str


@dataclass
class CartState:
    """Everything Bolt knows about the shopper's cart at a point of the checkout."""

    cart_id: str
    currency: str
    lines: list[Line]
    address: Mapping[str, str] = field(default_factory=lambda: dict(SF_ADDRESS))
    token: str | None = None
    delivery: Delivery | None = None
    items_tax: int = 0
    discount: Discount | None = None
    display_id: str = ""

    @property
    def subtotal(self) -> int:
        return sum(line.total for line in self.lines)

    @property
    def tax(self) -> int:
        return self.items_tax + (self.delivery.shipping_tax if self.delivery else 0)

    @property
    def shipping(self) -> int:
        return self.delivery.cost if self.delivery else 0

    @property
    def discount_amount(self) -> int:
        return self.discount.amount if self.discount else 0

    @property
    def total(self) -> int:
        """What the shopper pays, from the hooks' answers: items - discount + shipping + tax."""
        return self.subtotal - self.discount_amount + self.shipping + self.tax


def _items(cart: CartState, *, objects: bool) -> list[dict[str, Any]]:
    def amount(cents: int) -> Any:
        return money(cents, cart.currency) if objects else cents

    return [
        {
            "reference": line.sku,
            "sku": line.sku,
            "name": line.name,
            "quantity": line.quantity,
            "unit_price": amount(line.unit_price),
            "total_amount": amount(line.total),
            "properties": [],
        }
        for line in cart.lines
    ]


def hook_cart(cart: CartState) -> dict[str, Any]:
    """The cart in shipping/tax hooks: plain integer amounts (the captured sample in §3.4), no shipment yet."""
    return {
        "order_reference": cart.cart_id,
        "display_id": cart.display_id,
        "currency": cart.currency,
        "total_amount": cart.subtotal,
        "tax_amount": 0,
        "items": _items(cart, objects=False),
        "discounts": [],
        "shipments": None,
        "metadata": None,
        "billing_address": dict(cart.address),
    }


def _shipment(cart: CartState, delivery: Delivery, *, objects: bool) -> dict[str, Any]:
    def amount(cents: int) -> Any:
        return money(cents, cart.currency) if objects else cents

    return {
        "shipping_address": dict(cart.address),
        "shipping_method": "unknown",
        "service": delivery.service,
        "reference": delivery.reference,
        "cost": amount(delivery.cost),
        "tax_amount": amount(delivery.shipping_tax),
    }


def shipping_request(cart: CartState) -> dict[str, Any]:
    return {"order_token": cart.token, "cart": hook_cart(cart), "shipping_address": dict(cart.address)}


def tax_request(cart: CartState, delivery: Delivery) -> dict[str, Any]:
    """order.tax once the shopper chose: pickup stores go as ship_to_store_option (§3.5)."""
    choice = {"reference": delivery.reference, "service": delivery.service, "cost": delivery.cost}
    return {
        "order_token": cart.token,
        "cart": hook_cart(cart),
        "shipping_address": dict(cart.address),
        ("ship_to_store_option" if delivery.pickup else "shipping_option"): choice,
    }


def discount_request(cart: CartState, code: str) -> dict[str, Any]:
    """discounts.code.apply: the cart with the chosen shipment (amount objects, as in §3.6) and the shopper."""
    body = hook_cart(cart)
    body["tax_amount"] = cart.tax
    if cart.delivery is not None:
        body["shipments"] = [_shipment(cart, cart.delivery, objects=True)]
    return {
        "discount_code": code,
        "cart": body,
        "customer_name": f"{cart.address.get('first_name', '')} {cart.address.get('last_name', '')}".strip(),
        "customer_email": cart.address.get("email"),
        "customer_phone": cart.address.get("phone"),
    }


def _order_address(address: Mapping[str, str]) -> dict[str, str]:
    """Addresses inside order carts use phone_number / email_address (the bolt-magento2 fixture, §3.3)."""
    renamed = {"email": "email_address", "phone": "phone_number"}
    return {renamed.get(key, key): value for key, value in address.items()}


def order_cart(cart: CartState) -> dict[str, Any]:
    """The cart of order.create and of every transaction's order: amount objects, currency object (§3.3)."""
    currency = cart.currency
    body: dict[str, Any] = {
        "order_reference": cart.cart_id,
        "display_id": cart.display_id,
        "currency": {"currency": currency, "currency_symbol": CURRENCY_SYMBOLS.get(currency, "")},
        "subtotal_amount": money(cart.subtotal, currency),
        "total_amount": money(cart.total, currency),
        "tax_amount": money(cart.tax, currency),
        "shipping_amount": money(cart.shipping, currency),
        "discount_amount": money(cart.discount_amount, currency),
        "billing_address": _order_address(cart.address),
        "items": _items(cart, objects=True),
        "discounts": [],
        "shipments": [],
        "metadata": {"simulator": "devstack.simulator"},
    }
    if cart.discount is not None:
        body["discounts"] = [
            {
                "code": cart.discount.code,
                "reference": cart.discount.code,
                "amount": money(cart.discount.amount, currency),
                "description": cart.discount.description,
                "type": cart.discount.type,
                "discount_category": "coupon",
            }
        ]
    if cart.delivery is not None:
        shipment = _shipment(cart, cart.delivery, objects=True)
        shipment["shipping_address"] = _order_address(cart.address)
        body["shipments"] = [shipment]
    return body


def order_create_request(cart: CartState) -> dict[str, Any]:
    return {"currency": cart.currency, "order": {"token": cart.token, "cart": order_cart(cart)}}


# ---------------------------------------------------------------- transactions and webhooks
@dataclass(frozen=True)
class Capture:
    id: str
    amount: int


@dataclass
class Payment:
    """The shopper's cc_payment transaction at Bolt, and the captures and credits made on it so far."""

    id: str
    reference: str
    amount: int
    currency: str
    cart: CartState
    captures: list[Capture] = field(default_factory=list)
    refunded: int = 0

    @property
    def captured(self) -> int:
        return sum(c.amount for c in self.captures)


def _order(payment: Payment) -> dict[str, Any]:
    return {"token": payment.cart.token, "cart": order_cart(payment.cart)}


def transaction(
    payment: Payment, status: str, captures: Sequence[Capture] = (), authorization: str = "succeeded"
) -> dict[str, Any]:
    """The transaction object (§4.3), as the webhook's data."""
    currency = payment.currency
    return {
        "id": payment.id,
        "type": "cc_payment",
        "reference": payment.reference,
        "status": status,
        "processor": "vantiv",
        "amount": money(payment.amount, currency),
        "authorization": {"status": authorization, "reason": "none"},
        "captures": [
            {"id": c.id, "status": "succeeded", "amount": money(c.amount, currency), "splits": []} for c in captures
        ],
        "order": _order(payment),
        "refunded_amount": money(payment.refunded, currency),
        "refund_transaction_ids": [],
        "source_transaction": None,
        "indemnification_decision": "indemnified",
    }


def credit_transaction(payment: Payment, credit_id: str, credit_reference: str, amount: int) -> dict[str, Any]:
    """A refund is its own cc_credit transaction pointing at the payment (§4.3 field notes)."""
    currency = payment.currency
    return {
        "id": credit_id,
        "type": "cc_credit",
        "reference": credit_reference,
        "status": "completed",
        "amount": money(amount, currency),
        "credit": {"status": "succeeded"},
        "requested_refund_amount": money(amount, currency),
        "captures": [],
        "order": _order(payment),
        "source_transaction": {"id": payment.id, "reference": payment.reference},
    }


def webhook(hook_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Webhooks v2 envelope (§4.2)."""
    return {"type": hook_type, "object": "transaction", "data": dict(data)}
