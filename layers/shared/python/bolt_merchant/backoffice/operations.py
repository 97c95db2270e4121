"""Back-office order operations on Bolt's Transactions API: capture, refund, cancel (void), fulfil, and the order view.

Every operation checks the order's state first (Conflict) and then the amount (Invalid), calls Bolt once with an
Idempotency-Key derived from the operation's own key, and records Bolt's answer through the same state machine the
webhooks use (apply_event), with optimistic retries. Captures and credits are counted by their Bolt ids, so the echo
webhook Bolt may still send is a duplicate, and the ledger holds one entry per Bolt id.

No AWS and no environment here: the store and the Bolt client come in through the ports below.
"""

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ValidationError

from bolt_merchant.backoffice.models import (
    ActionAnswer,
    BoltAmountView,
    BoltView,
    CancelRequest,
    CaptureRequest,
    FulfilmentRequest,
    LineView,
    MoneyView,
    OrderView,
    RefundRequest,
    ReleaseHoldsRequest,
    ReviewRequest,
    TimelineEntry,
)
from bolt_merchant.core.errors import (
    AdminCode,
    BoltApiError,
    BoltRefused,
    Conflict,
    DependencyUnavailable,
    Invalid,
    NotFound,
    UpstreamFailed,
)
from bolt_merchant.core.models import CartLine
from bolt_merchant.orders.models import Order, OutboxEvent, TrackedShipment
from bolt_merchant.payments.transactions import (
    CaptureInfo,
    LedgerEntry,
    LedgerRecord,
    StaleOrder,
    TransactionEvent,
    Transition,
    apply_event,
    release_holds,
)

_OPTIMISTIC_ATTEMPTS = 5
_SUCCEEDED = "succeeded"
# Statuses Bolt answers a successful action with (bolt-magento2 accepts the same, reference §5.3-§5.5).
_CREDIT_OK = frozenset({"completed", "in_progress", "created", "authorized"})
_CREDIT_REFUSED = frozenset({"declined", "error", "failed"})
_VOID_OK = frozenset({"cancelled", "completed"})

Operation = Literal["capture", "refund", "cancel", "line-items", "review", "release-holds"]
_RECORD_ATTEMPTS = 8  # Bolt already acted: try hard to record its answer before keeping it for reconciliation
FulfilmentStatus = Literal["unfulfilled", "partially_fulfilled", "fulfilled"]


def _invalid_amount(message: str) -> Invalid:
    return Invalid(message, AdminCode.INVALID_AMOUNT)


def _invalid_lines(message: str) -> Invalid:
    return Invalid(message, AdminCode.INVALID_LINE_ITEMS)


# ---------------------------------------------------------------- ports
class OrderAdminStore(Protocol):
    def get_order(self, order_id: str) -> Order | None: ...

    def ledger(self, order_id: str) -> list[LedgerRecord]: ...

    def apply_transition(self, before: Order, transition: Transition, restock: Mapping[str, int] | None = None) -> None:
        """The order at before.version, its ledger, outbox events and stock release, plus `restock` (sku -> units)
        put back into the catalog's inventory, in one transaction. Raises StaleOrder."""
        ...

    def record_pending_answer(self, order_id: str, operation_key: str, event: TransactionEvent, now: datetime) -> None:
        """Keep Bolt's answer durably for reconciliation to apply, when the order cannot take it now."""
        ...


MoneyCall = Callable[[str, int, str, str, str | None], dict[str, Any]]  # Bolt's capture or credit


class BoltTransactions(Protocol):
    def capture(
        self, reference: str, amount: int, currency: str, idempotency_key: str, merchant_event_id: str | None = None
    ) -> dict[str, Any]: ...

    def credit(
        self, reference: str, amount: int, currency: str, idempotency_key: str, merchant_event_id: str | None = None
    ) -> dict[str, Any]: ...

    def void(self, reference: str, idempotency_key: str, merchant_event_id: str | None = None) -> dict[str, Any]: ...

    def review(self, reference: str, decision: str, idempotency_key: str) -> dict[str, Any]: ...

    def transaction(self, reference: str) -> dict[str, Any]: ...

    def track_shipment(
        self, reference: str, carrier: str, tracking_number: str, items: list[dict[str, Any]], idempotency_key: str
    ) -> dict[str, Any]: ...


# ---------------------------------------------------------------- operation identity
def fingerprint(request: BaseModel) -> str:
    """The request's meaning, not its bytes: key order, whitespace and explicit defaults do not change it."""
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def operation_key(order_id: str, operation: Operation, request_fingerprint: str, idempotency_key: str | None) -> str:
    """Scoped to the order and the operation. Without the caller's Idempotency-Key, the same body for the same
    order and operation counts as a retry (send distinct keys to make two identical refunds on purpose)."""
    if idempotency_key:
        return f"{order_id}:{operation}:key:{idempotency_key}"
    return f"{order_id}:{operation}:body:{request_fingerprint}"


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(str(part) for part in parts).encode("utf-8")).hexdigest()


def _no_pause(attempt: int) -> None:  # noqa: ARG001 - the API passes a real backoff
    return


@dataclass(frozen=True)
class OperationContext:
    order_id: str
    key: str  # operation_key(): the same for every retry of one operator request
    now: datetime
    pause: Callable[[int], None] = _no_pause  # between attempts to record Bolt's answer on a busy order

    def bolt_key(self, *parts: object) -> str:
        """Bolt's Idempotency-Key: one per operator request and resolved Bolt call, so a retry after a timeout or a
        lost answer replays on Bolt's side instead of acting twice. The resolved amount is part of it: a default
        amount that changed meanwhile is a different request, and Bolt refuses a key reused for another body."""
        return f"bo-{_digest(self.key, *parts)[:48]}"

    @property
    def merchant_event_id(self) -> str:
        return f"bo-{_digest(self.key)[:32]}"


@dataclass(frozen=True)
class OperationResult:
    operation: Operation
    order: Order
    result: dict[str, Any]
    alerts: tuple[str, ...] = ()
    # Bolt acted, but its answer could not be written to the order yet: it is kept for reconciliation to apply.
    pending: bool = False


# ---------------------------------------------------------------- reading
def load(store: OrderAdminStore, order_id: str) -> Order:
    order = store.get_order(order_id)
    if order is None:
        raise NotFound("Order not found")
    return order


def capturable(order: Order) -> int:
    if order.phase != "authorized" or order.authorization_closed or order.holds:
        return 0
    return max(0, order.authorized - order.captured)


def refundable(order: Order) -> int:
    return max(0, order.captured - order.refunded)


def fulfilment_status(order: Order) -> FulfilmentStatus:
    done = sum(min(order.fulfilled.get(line.sku, 0), line.quantity) for line in order.lines)
    if done == 0:
        return "unfulfilled"
    return "fulfilled" if done >= sum(line.quantity for line in order.lines) else "partially_fulfilled"


# The view's fields that the order (and its lines) keep under the same name and meaning: shown as stored.
_AS_STORED = set(OrderView.model_fields) & set(Order.model_fields)
_LINE_AS_STORED = set(LineView.model_fields) & set(CartLine.model_fields)


def order_view(order: Order, ledger: list[LedgerRecord] | None = None) -> OrderView:
    timeline = None
    if ledger is not None:
        ordered = sorted(ledger, key=lambda record: (record.recorded_at, record.key))
        timeline = [TimelineEntry.model_validate(record, from_attributes=True) for record in ordered]
    return OrderView(
        **order.model_dump(include=_AS_STORED),
        payment_phase=order.phase,
        fulfilment_status=fulfilment_status(order),
        hold_reason=order.holds[0].reason if order.holds else None,
        amounts=MoneyView(
            authorized=order.authorized,
            captured=order.captured,
            refunded=order.refunded,
            capturable=capturable(order),
            refundable=refundable(order),
        ),
        items=[
            LineView(
                **line.model_dump(include=_LINE_AS_STORED),
                line_item_key=line.sku,
                total=line.total,
                fulfilled_quantity=order.fulfilled.get(line.sku, 0),
                restocked_quantity=order.restocked.get(line.sku, 0),
            )
            for line in order.lines
        ],
        bolt=BoltView(
            order_token=order.bolt_order_token,
            transaction_reference=order.bolt_transaction_reference,
            captures=[BoltAmountView(id=k, amount=v) for k, v in order.captures.items()],
            credits=[BoltAmountView(id=k, amount=v) for k, v in order.credits.items()],
            authorization_closed=order.authorization_closed,
        ),
        timeline=timeline,
    )


def get_order(order_id: str, store: OrderAdminStore) -> OrderView:
    order = load(store, order_id)
    return order_view(order, store.ledger(order_id))


# ---------------------------------------------------------------- shared steps
def _held(order: Order) -> dict[str, object]:
    return {"holds": [hold.model_dump(mode="json") for hold in order.holds]}


def _reference(order: Order) -> str:
    if not order.bolt_transaction_reference:
        raise Conflict("The order has no Bolt transaction yet (no authorisation has been reported)")
    return order.bolt_transaction_reference


def _check_amount(amount: int, limit: int, verb: str, what: str) -> None:
    if amount <= 0:
        raise _invalid_amount(f"The {verb} amount must be a positive number of cents")
    if amount > limit:
        raise _invalid_amount(f"The {verb} amount {amount} exceeds {what} ({limit})")


def _answer(raw: Any) -> ActionAnswer:
    try:
        return ActionAnswer.model_validate(raw)
    except ValidationError as exc:
        raise UpstreamFailed("Bolt's answer could not be read") from exc


def _money_answer(
    call: MoneyCall, action: str, context: OperationContext, order: Order, reference: str, *, amount: int
) -> ActionAnswer:
    """Bolt's answer to a capture or credit of `amount` on the order's payment, under this request's Bolt key."""
    bolt_key = context.bolt_key(action, reference, amount)
    return _answer(call(reference, amount, order.currency, bolt_key, context.merchant_event_id))


def _answer_event(
    hook_type: str,
    answer: ActionAnswer,
    order: Order,
    reference: str,
    *,
    transaction_id: str | None,
    amount: int | None,
) -> TransactionEvent:
    """Bolt's answer to our action on the order's payment `reference`, as the fact the order records."""
    return replace(
        answer.event(hook_type, source="backoffice"),
        transaction_id=transaction_id,
        reference=answer.reference or reference,
        amount=amount,
        display_id=order.order_id,
    )


def _check_authorised(order: Order, doing: str, unauthorised: str) -> None:
    """Neither cancelled nor held, and authorised: what capturing and fulfilling need."""
    if order.phase == "cancelled":
        raise Conflict("The order is cancelled")
    if order.holds:
        reasons = ", ".join(order.hold_reasons)
        raise Conflict(f"The order is on hold ({reasons}); resolve that before {doing}", details=_held(order))
    if order.phase != "authorized":
        raise Conflict(unauthorised)


def _noted(transition: Transition, note: str) -> Transition:
    transition.ledger = [replace(e, note=f"{note}; {e.note}" if e.note else note) for e in transition.ledger]
    return transition


Extension = Callable[[Order, Transition], tuple[Transition, dict[str, int]]]


@dataclass(frozen=True)
class Recorded:
    order: Order
    alerts: tuple[str, ...]
    restocked: dict[str, int]
    pending: bool = False


def _record(
    store: OrderAdminStore,
    context: OperationContext,
    event: TransactionEvent,
    note: str,
    extend: Extension | None = None,
) -> Recorded:
    """Apply Bolt's answer to the order as it is now; an order changed meanwhile (a webhook, another operator) is
    read again, with a pause between attempts. Bolt has already acted, so the answer is never dropped: when the
    order stays too busy (or storage fails) it is kept as a pending answer that reconciliation applies."""
    order = load(store, context.order_id)
    for attempt in range(_RECORD_ATTEMPTS):
        if attempt:
            context.pause(attempt)
        try:
            order = load(store, context.order_id)
            transition = _noted(apply_event(order, event, context.now), note)
            restocked: dict[str, int] = {}
            if extend is not None:
                transition, restocked = extend(order, transition)
            if not transition.ledger:  # already recorded: by an earlier attempt or by the webhook
                return Recorded(order, tuple(transition.alerts), {})
            store.apply_transition(order, transition, restocked)
        except (StaleOrder, DependencyUnavailable):
            continue
        return Recorded(transition.order, tuple(transition.alerts), restocked)
    store.record_pending_answer(context.order_id, _digest(context.key)[:40], event, context.now)
    return Recorded(order, (), {}, pending=True)


def _with_reason(action: str, reason: str | None) -> str:
    return f"back office {action}: {reason.strip()[:200]}" if reason and reason.strip() else f"back office {action}"


# ---------------------------------------------------------------- capture
def capture(
    context: OperationContext, request: CaptureRequest, store: OrderAdminStore, bolt: BoltTransactions
) -> OperationResult:
    """Capture `amount` (default: all that is left) of the authorisation."""
    order = load(store, context.order_id)
    _check_authorised(order, "capturing", "The payment is not authorised (it may still be under review)")
    if order.authorization_closed:
        raise Conflict("The rest of the authorisation was voided; nothing more can be captured")
    remaining = order.authorized - order.captured
    if remaining <= 0:
        raise Conflict("Nothing left to capture: the authorisation is fully captured")
    amount = request.amount if request.amount is not None else remaining
    _check_amount(amount, remaining, "capture", "the remaining authorisation")
    reference = _reference(order)

    answer = _money_answer(bolt.capture, "capture", context, order, reference, amount=amount)
    event = _answer_event("capture", answer, order, reference, transaction_id=answer.id, amount=answer.amount)
    capture_id = _this_capture(order, tuple(c for c in event.captures if c.succeeded), amount)
    recorded = _record(store, context, event, "back office capture")
    result = {"capture_id": capture_id, "amount": amount, "transaction_reference": reference}
    return OperationResult("capture", recorded.order, result, recorded.alerts, recorded.pending)


def _this_capture(order: Order, captures: tuple[CaptureInfo, ...], amount: int) -> str:
    """The capture this call made: the one Bolt lists that we did not know, or, when Bolt replayed an answer we
    already recorded, the known one of that amount."""
    new = [c for c in captures if c.capture_id not in order.captures]
    for candidates in (new, [c for c in captures if c.capture_id in order.captures]):
        matching = [c for c in candidates if c.amount == amount]
        if matching:
            return matching[-1].capture_id
    if new:
        return new[-1].capture_id
    raise UpstreamFailed(f"Bolt's answer lists no capture of {amount}")


# ---------------------------------------------------------------- refund
def refund(
    context: OperationContext, request: RefundRequest, store: OrderAdminStore, bolt: BoltTransactions
) -> OperationResult:
    """Refund `amount` (default: everything captured and not refunded yet); restock the items when asked."""
    order = load(store, context.order_id)
    available = refundable(order)
    if available <= 0:
        raise Conflict("Nothing to refund: no captured funds are left unrefunded")
    amount = request.amount if request.amount is not None else available
    _check_amount(amount, available, "refund", "the captured amount not yet refunded")
    plan = _restock_plan(order, request)
    reference = _reference(order)

    answer = _money_answer(bolt.credit, "credit", context, order, reference, amount=amount)
    status = (answer.status or "").lower()
    credit_status = ((answer.credit.status if answer.credit else None) or "").lower()
    if status in _CREDIT_REFUSED or credit_status in _CREDIT_REFUSED or (status and status not in _CREDIT_OK):
        raise UpstreamFailed(f"Bolt did not complete the refund (status {status})", AdminCode.BOLT_REJECTED)
    if not answer.id:
        raise UpstreamFailed("Bolt's refund answer has no transaction id")
    credit_id = answer.id
    refunded = answer.amount if answer.amount is not None else amount
    event = TransactionEvent(
        hook_type="credit",
        transaction_id=credit_id,
        reference=answer.reference,
        amount=refunded,
        currency=answer.currency or order.currency,
        status=answer.status,
        display_id=order.order_id,
        source_reference=reference,
        source="backoffice",
    )
    extend = _restocking(plan, credit_id, context.now) if plan is not None else None
    recorded = _record(store, context, event, _with_reason("refund", request.reason), extend)
    result = {
        "credit_id": credit_id,
        "credit_reference": answer.reference,
        "amount": refunded,
        "transaction_reference": reference,
        "restocked": recorded.restocked,
    }
    return OperationResult("refund", recorded.order, result, recorded.alerts, recorded.pending)


def _restock_plan(order: Order, request: RefundRequest) -> dict[str, int] | None:
    """Units to put back (sku -> at most), checked against what is left to restock; None when not restocking."""
    if not request.restock:
        if request.line_items is not None:
            raise _invalid_lines("line_items name the units to restock: send them with restock: true")
        return None
    lines = {line.sku: line for line in order.lines}
    if request.line_items is None:
        return {sku: line.quantity for sku, line in lines.items()}
    plan: dict[str, int] = {}
    for item in request.line_items:
        line = lines.get(item.line_item_key)
        if line is None:
            raise _invalid_lines(f"Unknown line_item_key {item.line_item_key[:64]!r}")
        if item.line_item_key in plan:
            raise _invalid_lines(f"line_item_key {item.line_item_key!r} is listed twice")
        left = line.quantity - order.restocked.get(line.sku, 0)
        if item.quantity > left:
            raise _invalid_lines(f"Only {left} unit(s) of {line.sku} can still be restocked")
        plan[line.sku] = item.quantity
    return plan


def _restocking(plan: Mapping[str, int], credit_id: str, now: datetime) -> Extension:
    """Restocks ride on the credit's write (or on their own when the credit was recorded already), once per unit."""

    def extend(before: Order, transition: Transition) -> tuple[Transition, dict[str, int]]:
        held = before.units_reserved()  # nothing once released on cancellation or all restocked
        units = {sku: count for sku, wanted in plan.items() if (count := min(wanted, held.get(sku, 0))) > 0}
        if not units:
            return transition, {}
        base = (
            transition.order
            if transition.ledger
            else before.model_copy(update={"version": before.version + 1, "updated_at": now})
        )
        restocked = dict(base.restocked)
        for sku, count in units.items():
            restocked[sku] = restocked.get(sku, 0) + count
        order = base.model_copy(update={"restocked": restocked})
        order = order.model_copy(update={"inventory_reserved": bool(order.units_reserved())})
        note = "back office restock: " + ", ".join(f"{sku} x{count}" for sku, count in sorted(units.items()))
        entry = LedgerEntry(f"restock#{credit_id}", "restock", credit_id, 0, True, note)
        event = OutboxEvent(
            event_id=f"{order.order_id}:v{order.version}:restocked",
            event_type="order.restocked",
            order_id=order.order_id,
            occurred_at=now,
            detail={"units": sum(units.values()), "credit_id": credit_id},
        )
        extended = Transition(
            order=order,
            ledger=[*transition.ledger, entry],
            events=[*transition.events, event],
            alerts=transition.alerts,
            release_inventory=transition.release_inventory,
        )
        return extended, units

    return extend


# ---------------------------------------------------------------- cancel
def cancel(
    context: OperationContext, request: CancelRequest, store: OrderAdminStore, bolt: BoltTransactions
) -> OperationResult:
    """Void the authorisation: only before any capture and before anything was fulfilled."""
    order = load(store, context.order_id)
    if order.phase == "cancelled":
        raise Conflict("The order is already cancelled")
    if order.captures:
        raise Conflict("Funds were captured for this order: refund them instead of cancelling")
    if any(order.fulfilled.values()):
        raise Conflict("Items of this order were fulfilled: it cannot be cancelled")
    reference = _reference(order)

    try:
        raw = bolt.void(reference, context.bolt_key("void", reference), context.merchant_event_id)
    except BoltRefused:
        _captured_meanwhile(store, context, bolt, reference)
        raise
    answer = _answer(raw)
    status = (answer.status or "cancelled").lower()
    if status not in _VOID_OK:
        raise UpstreamFailed(f"Bolt did not void the transaction (status {status})", AdminCode.BOLT_REJECTED)
    event = _answer_event("void", answer, order, reference, transaction_id=answer.id or reference, amount=None)
    recorded = _record(store, context, event, _with_reason("cancel", request.reason))
    after = recorded.order
    if not recorded.pending and after.phase != "cancelled":
        # Bolt answered with captures: the money was taken, nothing was cancelled. Recorded, and said plainly.
        message = f"Bolt reports {after.captured} captured on this transaction: the order was not cancelled"
        raise Conflict(message, details={"order": order_view(after).model_dump(mode="json", exclude={"timeline"})})
    result = {"transaction_reference": reference, "status": status}
    return OperationResult("cancel", after, result, recorded.alerts, recorded.pending)


def _captured_meanwhile(
    store: OrderAdminStore, context: OperationContext, bolt: BoltTransactions, reference: str
) -> None:
    """Bolt refused the void: ask it what the payment is now. A capture made meanwhile (in Bolt's dashboard, its
    webhook late) is recorded at once and the cancel answered 409 with the order as it really is; otherwise Bolt's
    refusal stands."""
    from bolt_merchant.payments.reconcile import details  # only on this path: a refused void

    try:
        snapshot = details(bolt, reference).snapshot()
    except (BoltApiError, DependencyUnavailable):
        return
    if not snapshot.captures:
        return
    recorded = _record(store, context, snapshot, "back office cancel refused by Bolt: its transaction recorded")
    captured = sum(capture.amount for capture in snapshot.captures if capture.succeeded)
    message = f"Bolt reports {captured} captured on this transaction: the order was not cancelled"
    order = order_view(recorded.order).model_dump(mode="json", exclude={"timeline"})
    raise Conflict(message, details={"order": order})


# ---------------------------------------------------------------- fulfilment
def _check_fulfillable(order: Order) -> None:
    _check_authorised(order, "fulfilling", "The payment is not authorised: nothing can be fulfilled yet")


def _fulfilment_targets(order: Order, request: FulfilmentRequest) -> dict[str, int]:
    ordered = {line.sku: line.quantity for line in order.lines}
    targets: dict[str, int] = {}
    for item in request.line_items:
        key = item.line_item_key
        if key not in ordered:
            raise _invalid_lines(f"Unknown line_item_key {key[:64]!r}")
        if key in targets:
            raise _invalid_lines(f"line_item_key {key!r} is listed twice")
        if item.fulfilled_quantity > ordered[key]:
            raise _invalid_lines(f"fulfilled_quantity of {key} exceeds the {ordered[key]} ordered")
        already = order.fulfilled.get(key, 0)
        if item.fulfilled_quantity < already:
            raise Conflict(f"{already} unit(s) of {key} are already fulfilled; fulfilled quantities never decrease")
        targets[key] = item.fulfilled_quantity
    return targets


def fulfil(
    context: OperationContext, request: FulfilmentRequest, store: OrderAdminStore, bolt: BoltTransactions
) -> OperationResult:
    """Record fulfilled quantities (absolute, never decreasing) and report tracking to Bolt when given."""
    order = load(store, context.order_id)
    _check_fulfillable(order)
    targets = _fulfilment_targets(order, request)
    shipment = None
    if request.tracking is not None:
        reference = _reference(order)
        increments = {
            key: quantity - order.fulfilled.get(key, 0)
            for key, quantity in targets.items()
            if quantity > order.fulfilled.get(key, 0)
        }
        shipped = increments or {key: quantity for key, quantity in targets.items() if quantity}
        items = [{"reference": key, "sku": key, "quantity": count} for key, count in sorted(shipped.items())]
        tracking = request.tracking
        bolt.track_shipment(
            reference,
            tracking.carrier,
            tracking.tracking_number,
            items,
            context.bolt_key("track_shipment", reference, tracking.carrier, tracking.tracking_number, items),
        )
        shipment = TrackedShipment(
            carrier=tracking.carrier,
            tracking_number=tracking.tracking_number,
            items=shipped,
            reported_at=context.now,
        )
    for _ in range(_OPTIMISTIC_ATTEMPTS):
        current = load(store, context.order_id)
        _check_fulfillable(current)
        fulfilled = {**current.fulfilled, **_fulfilment_targets(current, request)}
        known = {(s.carrier, s.tracking_number) for s in current.shipments}
        new_shipment = shipment is not None and (shipment.carrier, shipment.tracking_number) not in known
        if fulfilled == current.fulfilled and not new_shipment:
            return OperationResult("line-items", current, {"changed": False})
        after = current.model_copy(
            update={
                "fulfilled": fulfilled,
                "shipments": [*current.shipments, shipment] if new_shipment else current.shipments,
                "version": current.version + 1,
                "updated_at": context.now,
            }
        )
        status = fulfilment_status(after)
        note = "back office fulfilment: " + ", ".join(
            f"{line.sku} {fulfilled.get(line.sku, 0)}/{line.quantity}" for line in after.lines
        )
        if new_shipment and shipment is not None:
            note += f"; tracking {shipment.carrier} {shipment.tracking_number}"
        transition = Transition(
            order=after,
            ledger=[LedgerEntry(f"fulfilment#v{after.version}", "fulfilment", None, 0, True, note)],
            events=[
                OutboxEvent(
                    event_id=f"{after.order_id}:v{after.version}",
                    event_type="order.fulfilment_updated",
                    order_id=after.order_id,
                    occurred_at=context.now,
                    detail={
                        "fulfilment_status": status,
                        "fulfilled_units": sum(fulfilled.values()),
                        "ordered_units": sum(line.quantity for line in after.lines),
                    },
                )
            ],
        )
        try:
            store.apply_transition(current, transition, {})
        except StaleOrder:
            continue
        return OperationResult("line-items", after, {"changed": True, "fulfilment_status": status})
    raise DependencyUnavailable("the order kept changing while recording fulfilment")


# ---------------------------------------------------------------- fraud review
_REVIEW_EVENTS = {"authorized": "auth", "completed": "payment", "rejected_irreversible": "rejected_irreversible"}


def review(
    context: OperationContext, request: ReviewRequest, store: OrderAdminStore, bolt: BoltTransactions
) -> OperationResult:
    """Approve or reject a payment Bolt's fraud review flagged reversibly (rejected_reversible), on Bolt's review
    API; Bolt's answer (the payment authorised, or rejected for good) is recorded like its webhook."""
    order = load(store, context.order_id)
    flagged = any(key.startswith("rejected_reversible#") for key in order.applied_keys)
    if order.phase != "review" or not flagged:
        raise Conflict("Only a payment in fraud review (rejected_reversible) can be approved or rejected")
    reference = _reference(order)
    answer = _answer(bolt.review(reference, request.decision, context.bolt_key("review", reference, request.decision)))
    status = (answer.status or "").lower()
    hook_type = _REVIEW_EVENTS.get(status)
    if hook_type is None:
        raise UpstreamFailed(f"Bolt answered the review with status {status or 'none'}", AdminCode.BOLT_REJECTED)
    event = _answer_event(
        hook_type, answer, order, reference, transaction_id=answer.id or reference, amount=answer.amount
    )
    recorded = _record(store, context, event, _with_reason(f"review {request.decision}", request.reason))
    result = {"transaction_reference": reference, "decision": request.decision, "status": status}
    return OperationResult("review", recorded.order, result, recorded.alerts, recorded.pending)


# ---------------------------------------------------------------- holds
def release(
    context: OperationContext,
    request: ReleaseHoldsRequest,
    store: OrderAdminStore,
    bolt: BoltTransactions,  # noqa: ARG001 - every operation has the same signature
) -> OperationResult:
    """Release holds the operator has dealt with (ledgered). A hold whose cause is still in Bolt's facts (a
    capture above the authorisation, say) cannot be released: it comes back with its cause."""
    for _ in range(_RECORD_ATTEMPTS):
        order = load(store, context.order_id)
        unknown = [reason for reason in request.reasons if reason not in order.hold_reasons]
        if unknown:
            raise Conflict(f"The order is not held for {', '.join(unknown)[:200]}", details=_held(order))
        transition = release_holds(order, request.reasons, _with_reason("release holds", request.note), context.now)
        kept = [reason for reason in request.reasons if reason in transition.order.hold_reasons]
        if kept:
            raise Conflict(
                f"Bolt's facts still call for {', '.join(kept)}: reconcile or refund first", details=_held(order)
            )
        try:
            store.apply_transition(order, transition)
        except StaleOrder:
            continue
        result = {"released": list(request.reasons)}
        return OperationResult("release-holds", transition.order, result, tuple(transition.alerts))
    raise DependencyUnavailable("the order kept changing while releasing its holds")
