"""Bolt's side of the money, played through the local stack's fake Bolt API (devstack/fake_bolt.py).

Against the local stack the simulator can do what only Bolt can: authorise a cart so that Bolt's own webhooks
follow, change a payment in Bolt's dashboard without telling the merchant, drop, hold, reorder or duplicate
webhooks, and lose the answer to a back-office call. It finds the fake through the stack (GET /_local/fake-bolt);
against a deployed stage there is none and the scenarios that need it are skipped.

The divergence check compares every payment in the fake's books (GET /_fake/ledger) with the merchant's order
for that cart (GET /orders/{id}): the order must exist, and its captures and credits, by Bolt id, must be Bolt's.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from bolt_merchant.orders.models import order_id_for

from devstack.simulator.client import DEFAULT_TIMEOUT_SECONDS, Target

# Bolt's payment statuses that mean no money is held or taken (devstack/fake_bolt.py, reference §4.3).
CLOSED_WITHOUT_MONEY = frozenset({"cancelled", "rejected_irreversible", "failed"})


class FakeBoltUnavailable(RuntimeError):
    """The stack has no fake Bolt (a deployed stage), or it answered a control call with an error."""


@dataclass
class FakeBoltControl:
    """The fake Bolt API's control routes (/_fake/...)."""

    url: str
    session: requests.Session = field(default_factory=requests.Session)
    timeout: float = DEFAULT_TIMEOUT_SECONDS

    def call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        response = self.session.request(method, self.url + path, json=body, timeout=self.timeout)
        if response.status_code != 200:
            raise FakeBoltUnavailable(f"{method} {path}: {response.status_code} {response.text[:200]}")
        return response.json()

    def authorize(
        self,
        order_token: str | None,
        *,
        cart: Mapping[str, Any] | None = None,
        amount: int | None = None,
        auto_capture: bool = False,
        review: bool = False,
        webhooks: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Bolt authorises the token's cart: {"transaction": ..., "webhooks": [how each was answered]}."""
        body: dict[str, Any] = {"order_token": order_token, "auto_capture": auto_capture, "review": review}
        if cart is not None:
            body["cart"] = dict(cart)
        if amount is not None:
            body["amount"] = amount
        if webhooks is not None:
            body["webhooks"] = list(webhooks)
        return dict(self.call("POST", "/_fake/authorize", body))

    def dashboard(self, reference: str, action: str, amount: int | None = None, webhook: bool = False) -> Any:
        body: dict[str, Any] = {"webhook": webhook, **({"amount": amount} if amount is not None else {})}
        return self.call("POST", f"/_fake/transactions/{reference}/{action}", body)

    def send_webhook(self, reference: str, kind: str) -> dict[str, Any]:
        return dict(self.call("POST", "/_fake/webhooks", {"reference": reference, "type": kind}))

    def webhook_fault(
        self, action: str, *, reference: str | None = None, kind: str | None = None, count: int = 1
    ) -> None:
        self.call(
            "POST", "/_fake/webhook-faults", {"action": action, "reference": reference, "type": kind, "count": count}
        )

    def release_webhooks(self, seed: int | None = None) -> list[dict[str, Any]]:
        return list(self.call("POST", "/_fake/webhooks/release", {"seed": seed})["webhooks"])

    def lose_answer(self, path: str, count: int = 1) -> None:
        """The next `count` calls to `path` take effect at Bolt, but their answer is lost (a 500 comes back)."""
        self.call("POST", "/_fake/faults", {"status": 500, "count": count, "path": path, "after": True})

    def ledger(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/_fake/ledger")["payments"])


def discover(target: Target) -> FakeBoltControl | None:
    """The stack's fake Bolt, or None when the target has none (a deployed stage)."""
    answer = target.send("GET", "/_local/fake-bolt")
    url = answer.field("url") if answer.status == 200 else None
    return FakeBoltControl(str(url), timeout=target.timeout) if isinstance(url, str) and url else None


@dataclass
class Divergence:
    """One payment at Bolt against the merchant's order: what differs (nothing: it agrees)."""

    cart_id: str
    order_id: str | None
    problems: list[str]
    held: bool = False
    unheld: list[str] = field(default_factory=list)  # contradictions in the order's own money it is not held for

    @property
    def lost(self) -> bool:
        """Bolt holds or took money for the cart and the merchant has no order for it."""
        return self.order_id is None and bool(self.problems)


def _by_id(entries: Any) -> dict[str, int]:
    return {str(entry.get("id")): int(entry.get("amount") or 0) for entry in entries or [] if isinstance(entry, dict)}


def compare(payment: Mapping[str, Any], view: Mapping[str, Any] | None) -> list[str]:
    """How the order (its back-office view) differs from Bolt's payment: captures and credits by Bolt id and
    amount, and a payment Bolt closed without money that the order still counts as open, or the reverse."""
    if view is None:
        if payment.get("status") in CLOSED_WITHOUT_MONEY and not payment.get("captures"):
            return []  # declined or voided before any money: no order is owed
        return ["no order for a payment where Bolt holds or took money"]
    problems = []
    bolt = view.get("bolt") or {}
    for name in ("captures", "credits"):
        ours, theirs = _by_id(bolt.get(name)), dict(payment.get(name) or {})
        if ours != theirs:
            problems.append(f"{name} {ours} at the merchant, {theirs} at Bolt")
    phase = view.get("payment_phase")
    if payment.get("status") in CLOSED_WITHOUT_MONEY and phase != "cancelled":
        problems.append(f"Bolt closed the payment ({payment.get('status')}), the order's payment is {phase}")
    if payment.get("status") not in CLOSED_WITHOUT_MONEY | {"pending", "rejected_reversible"} and phase in (
        "cancelled",
        "pending_payment",
    ):
        problems.append(f"Bolt's payment is {payment.get('status')}, the order's payment is {phase}")
    return problems


def unheld_contradictions(view: Mapping[str, Any]) -> list[str]:
    """Money the order counts that contradicts itself, when the order is not held: more captured than
    authorised, more refunded than captured, money kept on a cancelled payment (each must hold the order)."""
    if view.get("holds"):
        return []
    amounts = view.get("amounts") or {}
    authorized, captured, refunded = (int(amounts.get(name) or 0) for name in ("authorized", "captured", "refunded"))
    found = []
    if captured > authorized + 1:
        found.append(f"captured {captured} above the authorised {authorized}, not held")
    if refunded > captured:
        found.append(f"refunded {refunded} above the captured {captured}, not held")
    if view.get("payment_phase") == "cancelled" and captured > refunded:
        found.append(f"{captured - refunded} kept on a cancelled payment, not held")
    return found


def divergences(target: Target, ledger: Sequence[Mapping[str, Any]]) -> list[Divergence]:
    """Every payment in Bolt's books compared with the order for its cart (one cart, one order: order_id_for)."""
    found = []
    for payment in ledger:
        cart_id = str(payment.get("order_reference") or "")
        order_id = order_id_for(cart_id)
        answer = target.operate("GET", f"/orders/{order_id}")
        view = answer.body if answer.status == 200 and isinstance(answer.body, dict) else None
        problems = compare(payment, view)
        if answer.status not in (200, 404):
            problems.append(f"GET /orders/{order_id} answered {answer.status}")
        found.append(
            Divergence(
                cart_id=cart_id,
                order_id=order_id if view is not None else None,
                problems=problems,
                held=bool(view and view.get("holds")),
                unheld=unheld_contradictions(view) if view is not None else [],
            )
        )
    return found
