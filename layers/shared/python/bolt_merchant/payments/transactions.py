"""Bolt transaction events -> our order, as a monotonic state machine over phases and money (reference §4, §6).

Bolt is the system of record for money: each capture and credit is recorded once by its Bolt id with Bolt's amount,
other events once by type + transaction id, and the order's money is their sum, never trimmed. Replays, duplicates
and out-of-order deliveries converge; the payment phase only moves forward (cancelled absorbs). When a fact
contradicts the order (money after a cancellation, a capture above the authorisation, a credit above the captures,
a decline after an authorisation, a cancellation Bolt answers with captures, a totals or currency mismatch) it is
recorded all the same and the order is held, with machine-readable reasons; reconciliation (Bolt's whole
transaction, hook_type "reconcile") releases what Bolt's own answer resolves.

Also Bolt's transaction object as webhooks carry it and the Transactions API answers our actions with, and the
ledger entries each change leaves.
"""

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import model_validator

from bolt_merchant.core.models import Cents, InboundModel, NullableList, Reference, ShortText
from bolt_merchant.orders.models import Hold, Order, OrderStatus, OutboxEvent, PaymentPhase

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

    def event(self, hook_type: str, source: "Source" = "webhook") -> "TransactionEvent":
        """This transaction as one of Bolt's facts: its id and reference, money, status and captures."""
        return TransactionEvent(
            hook_type=hook_type,
            transaction_id=self.id,
            reference=self.reference,
            amount=self.amount,
            currency=self.currency,
            status=self.status,
            captures=succeeded_captures(self.captures),
            source=source,
        )


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
# Webhooks that say Bolt holds or took the shopper's money: for these an order must exist afterwards.
MONEY_HELD_TYPES = frozenset({"pending", "auth", "payment", "capture", "credit"})
ORDER_CREATING_TYPES = frozenset({"pending", "payment"})
DECLINED_STATUSES = frozenset({"failed", "rejected_irreversible"})
_REFUSED_STATUSES = frozenset({"declined", "error", "failed"})
SUCCEEDED = "succeeded"

Alert = Literal[
    "TotalsMismatch",
    "CaptureExceedsAuthorization",
    "RefundAheadOfCapture",
    "IllegalTransitionAfterTerminal",
    "OrderHeld",
]
Source = Literal["webhook", "backoffice", "reconcile"]

# Hold reasons. Derived ones are recomputed from the order's facts on every change and disappear with their
# cause; the others record an event that contradicted the order and stay until reconciliation shows Bolt no
# longer contradicts it, or an operator releases them.
CAPTURED_EXCEEDS_AUTHORISED = "captured_exceeds_authorised"
REFUNDED_EXCEEDS_CAPTURED = "refunded_exceeds_captured"
TOTALS_MISMATCH = "totals_mismatch"
CURRENCY_MISMATCH = "currency_mismatch"
MONEY_AFTER_TERMINAL_STATE = "money_after_terminal_state"
DECLINE_AFTER_AUTHORISATION = "decline_after_authorisation"
VOID_ANSWERED_WITH_CAPTURES = "void_answered_with_captures"
UNRECORDED_BACKOFFICE_ANSWER = "unrecorded_backoffice_answer"
DERIVED_HOLDS = frozenset({CAPTURED_EXCEEDS_AUTHORISED, REFUNDED_EXCEEDS_CAPTURED, TOTALS_MISMATCH})
# Holds that say Bolt's money contradicts the order: while one stands, no cancellation gives stock back.
MONEY_CONTRADICTIONS = frozenset(
    {MONEY_AFTER_TERMINAL_STATE, DECLINE_AFTER_AUTHORISATION, VOID_ANSWERED_WITH_CAPTURES, CURRENCY_MISMATCH}
)
_HOLD_ALERTS: dict[str, Alert] = {
    CAPTURED_EXCEEDS_AUTHORISED: "CaptureExceedsAuthorization",
    REFUNDED_EXCEEDS_CAPTURED: "RefundAheadOfCapture",
    TOTALS_MISMATCH: "TotalsMismatch",
    CURRENCY_MISMATCH: "TotalsMismatch",
    MONEY_AFTER_TERMINAL_STATE: "IllegalTransitionAfterTerminal",
    DECLINE_AFTER_AUTHORISATION: "IllegalTransitionAfterTerminal",
}


@dataclass(frozen=True)
class CaptureInfo:
    capture_id: str
    amount: int
    status: str = SUCCEEDED

    @property
    def succeeded(self) -> bool:
        return self.status.lower() == SUCCEEDED


@dataclass(frozen=True)
class CreditInfo:
    """A refund: its own cc_credit transaction."""

    credit_id: str
    amount: int
    status: str | None = None
    reference: str | None = None

    @property
    def refused(self) -> bool:
        return (self.status or "").lower() in _REFUSED_STATUSES


def succeeded_captures(captures: Iterable[Any]) -> tuple[CaptureInfo, ...]:
    """Bolt's captures ({id, status, amount}) as facts; a capture without a status is one Bolt reports done."""
    return tuple(CaptureInfo(c.id, c.amount or 0, c.status or SUCCEEDED) for c in captures)


@dataclass(frozen=True)
class TransactionEvent:
    """One fact from Bolt about a payment: a webhook (either envelope), Bolt's answer to one of our actions, or
    (hook_type "reconcile") Bolt's whole transaction as the transaction-details call returns it."""

    hook_type: str
    transaction_id: str | None
    reference: str | None
    amount: int | None
    currency: str | None
    status: str | None = None  # Bolt's transaction status when it said this
    order_reference: str | None = None
    display_id: str | None = None
    source_reference: str | None = None
    captures: tuple[CaptureInfo, ...] = ()
    credits: tuple[CreditInfo, ...] = ()  # reconciliation: every credit Bolt lists for the payment
    cart: "Cart | None" = None
    order_token: str | None = None
    source: Source = "webhook"

    @property
    def key(self) -> str:
        return f"{self.hook_type}#{self.transaction_id or self.reference or 'unknown'}"

    @property
    def payment_reference(self) -> str | None:
        """The payment transaction this event is about (a credit is its own transaction, on a payment)."""
        return self.source_reference if self.hook_type == "credit" else self.reference

    def to_json(self) -> dict[str, Any]:
        """What a pending back-office answer is stored as (no cart: actions' answers carry none)."""
        values = asdict(self)
        values.pop("cart")
        return values

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> "TransactionEvent":
        return cls(
            **{
                **values,
                "captures": tuple(CaptureInfo(**c) for c in values.get("captures", ())),
                "credits": tuple(CreditInfo(**c) for c in values.get("credits", ())),
            }
        )


@dataclass(frozen=True)
class LedgerEntry:
    key: str
    hook_type: str
    transaction_id: str | None
    amount: int
    applied: bool
    note: str = ""
    source: Source = "webhook"


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
    source: str = "webhook"


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
    if order.holds:
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


def derived_hold_reasons(order: Order) -> dict[str, str]:
    """Holds that follow from the facts alone: Bolt's money disagreeing with itself or with the order's total."""
    reasons: dict[str, str] = {}
    if order.authorized and order.captured > order.authorized + TOTAL_TOLERANCE_CENTS:
        reasons[CAPTURED_EXCEEDS_AUTHORISED] = (
            f"Bolt reports {order.captured} captured of {order.authorized} authorised"
        )
    if order.refunded > order.captured:
        reasons[REFUNDED_EXCEEDS_CAPTURED] = f"Bolt reports {order.refunded} refunded of {order.captured} captured"
    expected = order.totals.total if order.accepted_total is None else order.accepted_total
    if order.authorized and abs(order.authorized - expected) > TOTAL_TOLERANCE_CENTS:
        reasons[TOTALS_MISMATCH] = f"Bolt authorised {order.authorized}; the order's total is {expected}"
    return reasons


def with_holds(order: Order, sticky: dict[str, Hold], now: datetime) -> list[Hold]:
    """The order's holds: the sticky ones given, and the derived ones its facts call for now (keeping `since`)."""
    current = {hold.reason: hold for hold in order.holds}
    holds = dict(sticky)
    for reason, detail in derived_hold_reasons(order).items():
        holds[reason] = current.get(reason) or Hold(reason=reason, detail=detail, since=now)
    return sorted(holds.values(), key=lambda hold: (hold.since, hold.reason))


class _Builder:
    """Accumulates one event's effect on a copy of the order."""

    def __init__(self, order: Order, event: TransactionEvent, now: datetime) -> None:
        self.before = order
        self.values = order.model_dump()
        self.event = event
        self.now = now
        self.transition = Transition(order=order)
        self.sticky = {hold.reason: hold for hold in order.holds if hold.reason not in DERIVED_HOLDS}

    def record(self, key: str, amount: int = 0, applied: bool = True, note: str = "") -> None:
        self.transition.ledger.append(
            LedgerEntry(key, self.event.hook_type, self.event.transaction_id, amount, applied, note, self.event.source)
        )

    def alert(self, alert: Alert) -> None:
        if alert not in self.transition.alerts:  # one alert of a kind per event
            self.transition.alerts.append(alert)

    def advance(self, phase: PaymentPhase) -> bool:
        current: PaymentPhase = self.values["phase"]
        if current == "cancelled" or _PHASE_RANK[phase] <= _PHASE_RANK[current]:
            return False
        self.values["phase"] = phase
        return True

    def hold(self, reason: str, detail: str) -> None:
        if reason not in self.sticky:
            self.sticky[reason] = Hold(reason=reason, detail=detail, since=self.now)

    def release(self, reason: str) -> None:
        self.sticky.pop(reason, None)

    @property
    def cancelled(self) -> bool:
        return bool(self.values["phase"] == "cancelled")

    def add_capture(self, capture: CaptureInfo) -> bool:
        """Record a capture Bolt reports (by its id, with Bolt's amount); True when it is new."""
        key = f"capture#{capture.capture_id}"
        if capture.capture_id in self.values["captures"] or key in self.values["applied_keys"]:
            return False
        if not capture.succeeded:
            self.values["applied_keys"] = [*self.values["applied_keys"], key]
            self.record(key, amount=capture.amount, applied=False, note=f"capture {capture.status}")
            return False
        note = ""
        if self.cancelled:
            self.hold(MONEY_AFTER_TERMINAL_STATE, "Bolt reports a capture on a payment it had cancelled or declined")
            note = "after cancellation"
        self.values["captures"] = {**self.values["captures"], capture.capture_id: capture.amount}
        self.record(key, amount=capture.amount, note=note)
        return True

    def add_credit(self, credit: CreditInfo) -> bool:
        key = f"credit#{credit.credit_id}"
        if credit.credit_id in self.values["credits"] or key in self.values["applied_keys"]:
            return False
        if credit.refused:
            self.values["applied_keys"] = [*self.values["applied_keys"], key]
            self.record(key, amount=credit.amount, applied=False, note=f"credit {credit.status}")
            return False
        self.values["credits"] = {**self.values["credits"], credit.credit_id: credit.amount}
        self.record(key, amount=credit.amount)
        return True

    def cancel(self) -> None:
        """The payment is over without money taken: stock and discount uses go back, unless Bolt's money
        contradicts the order (a side effect never runs on a state Bolt contradicts)."""
        self.values["phase"] = "cancelled"
        if self.values["inventory_reserved"] and not MONEY_CONTRADICTIONS & set(self.sticky):
            self.values["inventory_reserved"] = False
            self.transition.release_inventory = True

    def finish(self) -> Transition:
        if not self.transition.ledger:
            return self.transition
        payment_reference = self.event.payment_reference
        if self.values["bolt_transaction_reference"] is None and payment_reference:
            self.values["bolt_transaction_reference"] = payment_reference
        self.values["captured"] = sum(self.values["captures"].values())
        self.values["refunded"] = sum(self.values["credits"].values())
        self.values["version"] = self.before.version + 1
        self.values["updated_at"] = self.now
        self.values["reconcile_checks"] = 0  # a change starts reconciliation's checks over
        if self.event.source == "reconcile":
            self.values["reconciled_at"] = self.now
        order = Order.model_validate({**self.values, "status": "pending_payment"})
        order = order.model_copy(update={"holds": with_holds(order, self.sticky, self.now)})
        order = order.model_copy(update={"status": derive_status(order)})
        self.transition.order = order
        new_reasons = set(order.hold_reasons) - set(self.before.hold_reasons)
        for reason in sorted(new_reasons):
            self.alert(_HOLD_ALERTS.get(reason.split(":")[0], "OrderHeld"))
        if new_reasons:
            self.alert("OrderHeld")
        if (
            order.status != self.before.status
            or order.captured != self.before.captured
            or order.refunded != self.before.refunded
            or new_reasons
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
                        "holds": ",".join(order.hold_reasons) or None,
                    },
                )
            )
        return self.transition


def _event_type(hook_type: str, before: Order, after: Order) -> str:
    if after.status == "on_hold":
        return "order.on_hold"
    if before.status == "on_hold":
        return "order.released"
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
    """The order after one more of Bolt's facts. Nothing Bolt reports is trimmed or dropped: a fact that
    contradicts the order is recorded and holds it (with its reasons), and no side effect runs on a held order."""
    b = _Builder(order, event, now)
    kind = event.hook_type
    if event.currency and event.currency.upper() != order.currency:
        if _once(b):
            b.hold(CURRENCY_MISMATCH, f"Bolt reports {event.currency[:8]}; the order is in {order.currency}")
            b.record(event.key, amount=event.amount or 0, applied=False, note="currency differs from the order's")
    elif kind == "reconcile":
        _reconcile(b)
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


def release_holds(order: Order, reasons: Iterable[str], note: str, now: datetime) -> Transition:
    """An operator releases holds they have dealt with. Derived holds come back while their cause remains, except
    totals_mismatch: releasing it accepts the amount Bolt authorised as the order's total."""
    b = _Builder(order, TransactionEvent("release", None, None, None, None, source="backoffice"), now)
    released = [reason for reason in reasons if reason in b.sticky]
    if TOTALS_MISMATCH in reasons and TOTALS_MISMATCH in order.hold_reasons:
        b.values["accepted_total"] = order.authorized
        released.append(TOTALS_MISMATCH)
    for reason in released:
        b.release(reason)
    if released:
        b.record(f"release#v{order.version}", note=f"{note}; released {', '.join(released)}" if note else note)
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
    if b.cancelled and b.event.hook_type == "rejected_reversible":
        b.alert("IllegalTransitionAfterTerminal")  # no money moves: recorded, nothing held
    b.advance("review")  # a late pending after auth is recorded but moves nothing
    b.record(b.event.key)


def _authorize(b: _Builder, implied: bool = False) -> None:
    """auth (or payment/capture implying it): the authorised amount, as Bolt reports it."""
    event = b.event
    key = f"auth#{event.transaction_id or event.reference}" if implied else event.key
    if key in b.values["applied_keys"] or (implied and b.values["phase"] == "authorized"):
        return
    b.values["applied_keys"] = [*b.values["applied_keys"], key]
    amount = event.amount if event.amount is not None else b.before.totals.total
    if b.cancelled:
        # Bolt holds money for a payment it had cancelled or declined: record it and hold the order.
        b.hold(MONEY_AFTER_TERMINAL_STATE, "Bolt reports an authorisation on a payment it had cancelled or declined")
        b.values["authorized"] = max(b.values["authorized"], amount)
        b.record(key, amount=amount, note="after cancellation")
        return
    b.advance("authorized")
    b.values["authorized"] = max(b.values["authorized"], amount)
    b.record(key, amount=amount)


def _capture(b: _Builder) -> None:
    event = b.event
    captures = event.captures or (
        (CaptureInfo(f"{event.hook_type}:{event.transaction_id or event.reference}", event.amount or 0),)
        if event.hook_type == "payment"
        else ()
    )
    for capture in captures:
        b.add_capture(capture)


def _credit(b: _Builder) -> None:
    credit_id = b.event.transaction_id or b.event.reference
    if credit_id is None:
        return
    b.add_credit(CreditInfo(credit_id, b.event.amount or 0, b.event.status, b.event.reference))


def _void(b: _Builder) -> None:
    """Void before any capture cancels; after a capture it only closes the remaining authorisation. Captures that
    Bolt reports with the void are recorded; when we asked for the void ourselves they mean the cancel did not
    happen as the operator believed, and the order is held."""
    if not _once(b):
        return
    known = set(b.values["captures"])
    new = [c for c in b.event.captures if c.succeeded and c.capture_id not in known]
    for capture in b.event.captures:
        b.add_capture(capture)
    if b.values["captures"]:
        if new and b.event.source == "backoffice":
            b.hold(VOID_ANSWERED_WITH_CAPTURES, "Bolt answered the cancellation with captures: the payment was taken")
        b.values["authorization_closed"] = True
        b.record(b.event.key, note="remaining authorisation voided")
        return
    _end_payment(b)


def _decline(b: _Builder) -> None:
    """failed_payment / rejected_irreversible: cancel a not-yet-authorised order. After an authorisation or a
    capture Bolt contradicts itself: recorded, the order held, nothing cancelled until reconciliation asks Bolt."""
    if not _once(b):
        return
    if b.values["phase"] == "authorized" or b.values["captures"]:
        b.hold(DECLINE_AFTER_AUTHORISATION, "Bolt reports a declined payment after an authorisation")
        b.record(b.event.key, applied=False, note="decline after authorisation")
        return
    _end_payment(b)


def _end_payment(b: _Builder) -> None:
    """A void or decline that ends a payment nothing was taken on: it cancels once, and is recorded either way."""
    if b.cancelled:
        b.record(b.event.key, applied=False, note="already cancelled")
        return
    b.cancel()
    b.record(b.event.key)


def _reconcile(b: _Builder) -> None:
    """Bolt's whole transaction (GET /v1/merchant/transactions/{reference}): every capture and credit it lists is
    recorded, the payment's phase follows Bolt's status, and holds Bolt's answer resolves are released."""
    event = b.event
    status = (event.status or "").lower()
    _reconcile_money(b)
    before = (b.values["phase"], dict(b.sticky), b.values["authorized"], b.values["authorization_closed"])
    _follow_status(b, status)
    net = sum(b.values["captures"].values()) - sum(b.values["credits"].values())
    if b.cancelled and net == 0 and (status == "cancelled" or status in DECLINED_STATUSES):
        b.release(MONEY_AFTER_TERMINAL_STATE)  # whatever was taken after the cancellation is back with the shopper
    after = (b.values["phase"], dict(b.sticky), b.values["authorized"], b.values["authorization_closed"])
    if after != before:
        key = f"reconcile:{status or 'unknown'}#v{b.before.version}"
        b.record(key, amount=event.amount or 0, note=f"Bolt reports {status or 'no status'}")


def _reconcile_money(b: _Builder) -> None:
    real = [c for c in b.event.captures if c.succeeded]
    if real:  # a payment recorded before Bolt listed its captures: the real captures replace the placeholder
        placeholders = [capture_id for capture_id in b.values["captures"] if capture_id.startswith("payment:")]
        if placeholders and sum(c.amount for c in real) == sum(b.values["captures"][p] for p in placeholders):
            b.values["captures"] = {k: v for k, v in b.values["captures"].items() if k not in placeholders}
            b.values["applied_keys"] = [*b.values["applied_keys"], *(f"capture#{p}" for p in placeholders)]
    for capture in b.event.captures:
        b.add_capture(capture)
    for credit in b.event.credits:
        b.add_credit(credit)


def _follow_status(b: _Builder, status: str) -> None:
    if status in {"authorized", "completed"}:
        if b.event.amount is not None:
            b.values["authorized"] = b.event.amount
        b.release(DECLINE_AFTER_AUTHORISATION)  # Bolt says the payment went through: the decline was stale
        if not b.cancelled:
            b.advance("authorized")
    elif status == "cancelled" and b.values["captures"]:
        b.values["authorization_closed"] = True
    elif status == "cancelled" or status in DECLINED_STATUSES:
        b.release(DECLINE_AFTER_AUTHORISATION)
        if not b.cancelled:
            b.cancel()
    elif status in {"pending", "rejected_reversible"}:
        b.advance("review")
