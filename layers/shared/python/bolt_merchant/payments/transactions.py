"""Bolt transaction events -> our order, as a monotonic state machine over phases and money (reference §4, §6).

Replays, duplicates and out-of-order deliveries converge: each capture and credit is counted once by its Bolt id,
other events once by type + transaction id, the payment phase only moves forward (cancelled absorbs), and the
amounts only grow, with captured <= authorized and refunded <= captured.

Also Bolt's transaction object as webhooks carry it and the Transactions API answers our actions with, and the
ledger entries each change leaves.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import model_validator

from bolt_merchant.core.models import Cents, InboundModel, NullableList, Reference, ShortText
from bolt_merchant.orders.models import Order, OrderStatus, OutboxEvent, PaymentPhase

if TYPE_CHECKING:
    from bolt_merchant.bolt.cart import Cart


class Capture(InboundModel):
    """Ids and references end up in DynamoDB keys: they are allow-listed like every Reference."""

    id: Reference
    status: ShortText | None = None
    amount: Cents | None = None


class SourceTransaction(InboundModel):
    id: Reference | None = None
    reference: Reference | None = None


class BoltTransaction(InboundModel):
    """The transaction object (§4.3) without its order; every field may be null."""

    id: Reference | None = None
    type: ShortText | None = None
    reference: Reference | None = None
    status: ShortText | None = None
    amount: Cents | None = None
    currency: ShortText | None = None
    captures: NullableList[Capture] = []
    source_transaction: SourceTransaction | None = None

    @model_validator(mode="before")
    @classmethod
    def _currency_from_amount(cls, data: Any) -> Any:
        """Bolt puts the currency inside the amount object: {"amount": {"amount": 754, "currency": "USD"}}."""
        if isinstance(data, dict) and not data.get("currency") and isinstance(data.get("amount"), dict):
            return {**data, "currency": data["amount"].get("currency")}
        return data


TOTAL_TOLERANCE_CENTS = 1


_PHASE_RANK: dict[PaymentPhase, int] = {"pending_payment": 0, "review": 1, "authorized": 2, "cancelled": 3}


MONEY_TYPES = frozenset(
    {
        "pending",
        "auth",
        "payment",
        "capture",
        "credit",
        "void",
        "failed_payment",
        "rejected_reversible",
        "rejected_irreversible",
    }
)


ORDER_CREATING_TYPES = frozenset({"pending", "payment"})


Alert = Literal[
    "TotalsMismatch", "CaptureExceedsAuthorization", "RefundAheadOfCapture", "IllegalTransitionAfterTerminal"
]


@dataclass(frozen=True)
class CaptureInfo:
    capture_id: str
    amount: int


@dataclass(frozen=True)
class TransactionEvent:
    """One webhook, normalised from either envelope."""

    hook_type: str
    transaction_id: str | None
    reference: str | None
    amount: int | None
    currency: str | None
    order_reference: str | None = None
    display_id: str | None = None
    source_reference: str | None = None
    captures: tuple[CaptureInfo, ...] = ()
    cart: "Cart | None" = None
    order_token: str | None = None

    @property
    def key(self) -> str:
        return f"{self.hook_type}#{self.transaction_id or self.reference or 'unknown'}"


@dataclass(frozen=True)
class LedgerEntry:
    key: str
    hook_type: str
    transaction_id: str | None
    amount: int
    applied: bool
    note: str = ""


class StaleOrder(Exception):
    """The order changed between our read and our write (Transition's before.version); read it again."""


@dataclass
class Transition:
    """What applying one event changed. Empty ledger means a duplicate or late event: nothing to write."""

    order: Order
    ledger: list[LedgerEntry] = field(default_factory=list)
    events: list[OutboxEvent] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    release_inventory: bool = False


def derive_status(order: Order) -> OrderStatus:
    status: OrderStatus
    if order.hold_reason:
        status = "on_hold"
    elif order.captured and order.refunded >= order.captured:
        status = "refunded"
    elif order.captured and order.refunded:
        status = "partially_refunded"
    elif order.captured:
        fully = order.authorization_closed or order.captured + TOTAL_TOLERANCE_CENTS >= order.authorized
        status = "captured" if fully else "partially_captured"
    elif order.phase == "review":
        status = "payment_review"
    else:
        status = order.phase
    return status


class _Builder:
    """Accumulates one event's effect on a copy of the order."""

    def __init__(self, order: Order, event: TransactionEvent, now: datetime) -> None:
        self.before = order
        self.values = order.model_dump()
        self.event = event
        self.now = now
        self.transition = Transition(order=order)

    def record(self, key: str, amount: int = 0, applied: bool = True, note: str = "") -> None:
        self.transition.ledger.append(
            LedgerEntry(key, self.event.hook_type, self.event.transaction_id, amount, applied, note)
        )

    def alert(self, alert: Alert) -> None:
        if alert not in self.transition.alerts:  # one alert of a kind per webhook
            self.transition.alerts.append(alert)

    def advance(self, phase: PaymentPhase) -> bool:
        current: PaymentPhase = self.values["phase"]
        if current == "cancelled" or _PHASE_RANK[phase] <= _PHASE_RANK[current]:
            return False
        self.values["phase"] = phase
        return True

    def hold(self, reason: str) -> None:
        if not self.values["hold_reason"]:
            self.values["hold_reason"] = reason

    def _settle_money(self) -> None:
        """Totals follow from the set of captures and credits seen, so any arrival order gives the same numbers."""
        captured = sum(self.values["captures"].values())
        authorized = self.values["authorized"]
        if authorized and captured > authorized:
            self.alert("CaptureExceedsAuthorization")
            captured = authorized
        refunded = sum(self.values["credits"].values())
        if refunded > captured:
            self.alert("RefundAheadOfCapture")
            refunded = captured
        self.values["captured"] = captured
        self.values["refunded"] = refunded

    def finish(self) -> Transition:
        if not self.transition.ledger:
            return self.transition
        payment_reference = self.event.source_reference if self.event.hook_type == "credit" else self.event.reference
        if self.values["bolt_transaction_reference"] is None and payment_reference:
            self.values["bolt_transaction_reference"] = payment_reference
        self._settle_money()
        self.values["version"] = self.before.version + 1
        self.values["updated_at"] = self.now
        order = Order.model_validate({**self.values, "status": "pending_payment"})
        order = order.model_copy(update={"status": derive_status(order)})
        self.transition.order = order
        if (
            order.status != self.before.status
            or order.captured != self.before.captured
            or order.refunded != self.before.refunded
        ):
            self.transition.events.append(
                OutboxEvent(
                    event_id=f"{order.order_id}:v{order.version}",
                    event_type=_event_type(self.event.hook_type, self.before, order),
                    order_id=order.order_id,
                    occurred_at=self.now,
                    detail={
                        "status": order.status,
                        "authorized": order.authorized,
                        "captured": order.captured,
                        "refunded": order.refunded,
                        "transaction_type": self.event.hook_type,
                    },
                )
            )
        return self.transition


def _event_type(hook_type: str, before: Order, after: Order) -> str:
    if after.status == "on_hold" and before.status != "on_hold":
        return "order.on_hold"
    if after.status == "cancelled":
        return "order.cancelled"
    if hook_type == "payment":
        return "order.paid"
    if hook_type == "auth" or (before.phase != "authorized" and after.phase == "authorized"):
        return "order.authorized"
    if after.refunded != before.refunded:
        return "order.refunded"
    if after.captured != before.captured:
        return "order.captured"
    return "order.payment_review"


def apply_event(order: Order, event: TransactionEvent, now: datetime) -> Transition:
    b = _Builder(order, event, now)
    kind = event.hook_type
    if event.currency and event.currency.upper() != order.currency:
        if _once(b):
            b.alert("TotalsMismatch")
            b.hold("currency_mismatch")
            b.record(event.key, amount=event.amount or 0, applied=False, note="currency differs from the order's")
    elif kind in {"pending", "rejected_reversible"}:
        _review(b)
    elif kind == "auth":
        _authorize(b)
    elif kind == "payment":
        _authorize(b)
        _capture(b)
    elif kind == "capture":
        _authorize(b, implied=True)
        _capture(b)
    elif kind == "credit":
        _credit(b)
    elif kind == "void":
        _void(b)
    elif kind in {"failed_payment", "rejected_irreversible"}:
        _decline(b)
    return b.finish()


def _once(b: _Builder) -> bool:
    """Non-money events count once per (type, transaction)."""
    key = b.event.key
    if key in b.values["applied_keys"]:
        return False
    b.values["applied_keys"] = [*b.values["applied_keys"], key]
    return True


def _review(b: _Builder) -> None:
    if not _once(b):
        return
    if b.values["phase"] == "cancelled" and b.event.hook_type == "rejected_reversible":
        b.alert("IllegalTransitionAfterTerminal")
    b.advance("review")  # a late pending after auth is recorded but moves nothing
    b.record(b.event.key)


def _authorize(b: _Builder, implied: bool = False) -> None:
    """auth (or payment/capture implying it): authorised amount, checked against the order total."""
    event = b.event
    key = f"auth#{event.transaction_id or event.reference}" if implied else event.key
    if key in b.values["applied_keys"] or (implied and b.values["phase"] == "authorized"):
        return
    b.values["applied_keys"] = [*b.values["applied_keys"], key]
    if b.values["phase"] == "cancelled":
        b.alert("IllegalTransitionAfterTerminal")
        b.record(key, applied=False, note="after cancellation")
        return
    b.advance("authorized")
    amount = event.amount if event.amount is not None else b.before.totals.total
    b.values["authorized"] = max(b.values["authorized"], amount)
    if abs(amount - b.before.totals.total) > TOTAL_TOLERANCE_CENTS:
        b.alert("TotalsMismatch")
        b.hold("totals_mismatch")
    b.record(key, amount=amount)


def _capture(b: _Builder) -> None:
    event = b.event
    captures = event.captures or (
        (CaptureInfo(f"{event.hook_type}:{event.transaction_id or event.reference}", event.amount or 0),)
        if event.hook_type == "payment"
        else ()
    )
    cancelled = b.values["phase"] == "cancelled"
    for capture in captures:
        key = f"capture#{capture.capture_id}"
        if capture.capture_id in b.values["captures"] or key in b.values["applied_keys"]:
            continue
        if cancelled:
            # Cancellation absorbs money events: the capture is on the ledger for the operator, not in the totals.
            b.alert("IllegalTransitionAfterTerminal")
            b.values["applied_keys"] = [*b.values["applied_keys"], key]
            b.record(key, amount=capture.amount, applied=False, note="after cancellation")
            continue
        b.values["captures"] = {**b.values["captures"], capture.capture_id: capture.amount}
        b.record(f"capture#{capture.capture_id}", amount=capture.amount)


def _credit(b: _Builder) -> None:
    credit_id = b.event.transaction_id or b.event.reference
    if credit_id is None or credit_id in b.values["credits"]:
        return
    amount = b.event.amount or 0
    b.values["credits"] = {**b.values["credits"], credit_id: amount}
    b.record(f"credit#{credit_id}", amount=amount)


def _void(b: _Builder) -> None:
    """Void before any capture cancels; after a partial capture it only closes the remaining authorisation."""
    if not _once(b):
        return
    if b.values["captures"]:
        b.values["authorization_closed"] = True
        b.record(b.event.key, note="remaining authorisation voided")
        return
    _cancel(b)


def _decline(b: _Builder) -> None:
    """failed_payment / rejected_irreversible: cancel a not-yet-authorised order; later ones are out of sync."""
    if not _once(b):
        return
    if b.values["phase"] == "authorized" or b.values["captures"]:
        b.alert("IllegalTransitionAfterTerminal")
        b.record(b.event.key, applied=False, note="decline after authorisation")
        return
    _cancel(b)


def _cancel(b: _Builder) -> None:
    if b.values["phase"] == "cancelled":
        b.record(b.event.key, applied=False, note="already cancelled")
        return
    b.values["phase"] = "cancelled"
    if b.values["inventory_reserved"]:
        b.values["inventory_reserved"] = False
        b.transition.release_inventory = True
    b.record(b.event.key)


# ---------------------------------------------------------------- ports
@dataclass(frozen=True)
class LedgerRecord:
    """A TX# ledger item as stored."""

    key: str
    hook_type: str
    transaction_id: str | None
    amount: int
    applied: bool
    note: str
    recorded_at: str
