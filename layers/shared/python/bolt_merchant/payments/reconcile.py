"""Reconciliation: what a webhook cannot tell us, ask Bolt. For each item of the attention index that is due (a
held order, a payment open longer than RECONCILE_AFTER_SECONDS, a webhook that found no order, a back-office answer
not applied yet), fetch Bolt's transaction (GET /v1/merchant/transactions/{reference}) and apply it through the
same state machine as the webhooks: ledger entries marked `source: reconcile`, the same outbox events.

Bounded per run (a number of items and a time budget), idempotent (Bolt's facts are keyed by their ids), and safe
while webhooks arrive (every write is conditional on the order's version). The scheduled function and the back
office's POST /orders/{id}/reconcile both run it. Bolt answering 404 or failing keeps the item in attention with
the error: no fact is ever invented.
"""

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, cast

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from bolt_merchant.core.errors import BoltApiError, BoltNotFound, DependencyUnavailable
from bolt_merchant.core.models import NullableList, ShortText, is_reference
from bolt_merchant.core.observability import LambdaHandler, count, logger, metrics, tracer
from bolt_merchant.core.settings import now, settings
from bolt_merchant.orders.models import Order, order_id_for
from bolt_merchant.payments.store import AttentionItem, AttentionPage, transaction_store
from bolt_merchant.payments.transactions import (
    BoltTransaction,
    CreditInfo,
    StaleOrder,
    TransactionEvent,
    Transition,
    apply_event,
)

_OPTIMISTIC_ATTEMPTS = 5
_MONEY_HELD_STATUSES = frozenset({"pending", "authorized", "completed", "rejected_reversible"})

Outcome = Literal["changed", "unchanged", "recovered", "forgotten", "no_transaction", "bolt_failed", "skipped"]


class TransactionDetails(BoltTransaction):
    """GET /v1/merchant/transactions/{reference}: the payment with its refunds (each its own transaction) and the
    order it belongs to (kept raw: only an order we never recorded needs its cart parsed)."""

    refund_transactions: NullableList[BoltTransaction] = []
    order: dict[str, Any] | None = None
    display_id: ShortText | None = None

    def snapshot(self) -> TransactionEvent:
        credits = tuple(
            CreditInfo(credit.id or credit.reference or "", credit.amount or 0, credit.status, credit.reference)
            for credit in self.refund_transactions
            if credit.id or credit.reference
        )
        return replace(self.event("reconcile", source="reconcile"), credits=credits)


class BoltReader(Protocol):
    def transaction(self, reference: str) -> dict[str, Any]: ...


class ReconcileStore(Protocol):
    def get_order(self, order_id: str) -> Order | None: ...

    def apply_transition(
        self,
        before: Order,
        transition: Transition,
        restock: Mapping[str, int] | None = None,
        done: Any = (),
    ) -> None: ...

    def attention(
        self, limit: int, cursor: str | None = None, due_before: datetime | None = None, newest_first: bool = True
    ) -> AttentionPage: ...

    def pending_answers(self, order_id: str) -> list[AttentionItem]: ...

    def forget(self, key: Mapping[str, Any]) -> None: ...

    def postpone(self, key: Mapping[str, Any], now: datetime) -> None:
        """Push an attention item's next check back (after a failure, so one item cannot hold the queue)."""
        ...


# Creates the order for a payment from Bolt's facts (payments/recovery.py through the webhook's recover_order).
Recover = Callable[[TransactionEvent, str], None]


@dataclass
class RunSummary:
    """What one reconciliation run did, per outcome; `errors` lists what could not be reconciled and why."""

    outcomes: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    @property
    def checked(self) -> int:
        return sum(self.outcomes.values())


def details(bolt: BoltReader, reference: str) -> TransactionDetails:
    try:
        return TransactionDetails.model_validate(bolt.transaction(reference))
    except ValidationError as exc:
        raise BoltApiError(200, None, f"transaction details could not be read ({exc.error_count()} errors)") from None


def _apply(store: ReconcileStore, order_id: str, event: TransactionEvent, now: datetime, done: Any = ()) -> bool:
    """Apply one fact to the order as it is now (re-read when a webhook changed it meanwhile). True if it changed
    the order; an unchanged order is still written once to record the check and push its next one back."""
    for _ in range(_OPTIMISTIC_ATTEMPTS):
        order = store.get_order(order_id)
        if order is None:
            return False
        transition = apply_event(order, event, now)
        changed = bool(transition.ledger)
        if not changed and event.source == "reconcile":
            transition.order = order.model_copy(
                update={
                    "version": order.version + 1,
                    "reconciled_at": now,
                    "reconcile_checks": order.reconcile_checks + 1,
                }
            )
        elif not changed and not done:
            return False
        try:
            store.apply_transition(order, transition, None, done)
        except StaleOrder:
            continue
        for alert in transition.alerts:  # OrderHeld and its kind, as the webhook counts them
            count(alert)
        return changed
    raise DependencyUnavailable("the order kept changing while reconciling it")


def reconcile_order(store: ReconcileStore, bolt: BoltReader, order_id: str, now: datetime) -> Outcome:
    """Apply the back office's pending answers, then Bolt's whole transaction, to one order."""
    order = store.get_order(order_id)
    if order is None:
        return "skipped"
    changed = False
    for pending in store.pending_answers(order_id):
        if pending.event is not None:
            changed |= _apply(store, order_id, pending.event, now, done=[pending.key])
    order = store.get_order(order_id)
    if order is None:
        return "skipped"
    if not order.bolt_transaction_reference:
        _apply(store, order_id, _no_transaction_event(), now)
        return "changed" if changed else "no_transaction"
    snapshot = details(bolt, order.bolt_transaction_reference).snapshot()
    changed |= _apply(store, order_id, snapshot, now)
    return "changed" if changed else "unchanged"


def _no_transaction_event() -> TransactionEvent:
    """No Bolt transaction is known for the order yet (no webhook came): nothing to ask Bolt, only the check."""
    return TransactionEvent("reconcile", None, None, None, None, source="reconcile")


def resolve_waiting(
    store: ReconcileStore, bolt: BoltReader, recover: Recover, item: AttentionItem, now: datetime
) -> Outcome:
    """A webhook that found no order: the order exists now (reconcile it), or Bolt says where its money is
    (recover the order when Bolt holds or took money), or there is nothing to keep (forget it)."""
    order_id = item.order_id
    if order_id is not None and store.get_order(order_id) is not None:
        outcome = reconcile_order(store, bolt, order_id, now)
        store.forget(item.key)
        return outcome
    reference = item.payment_reference
    if reference is None:
        store.forget(item.key)
        return "forgotten"
    found = details(bolt, reference)
    status = (found.status or "").lower()
    if status not in _MONEY_HELD_STATUSES and not found.captures:
        store.forget(item.key)  # declined or voided with nothing taken: no order is owed
        return "forgotten"
    event = _payment_event(found, item.event)
    cart_id = event.cart.order_reference if event.cart is not None else event.order_reference
    if cart_id is None:
        raise BoltApiError(200, None, "Bolt's transaction names no cart: recover it by hand")
    order_id = order_id_for(cart_id)
    if store.get_order(order_id) is None:
        recover(event, order_id)
    _apply(store, order_id, found.snapshot(), now)
    store.forget(item.key)
    return "recovered"


def _payment_event(found: TransactionDetails, webhook: TransactionEvent | None) -> TransactionEvent:
    """The payment as recovery reads it: Bolt's transaction, with the cart its order carries."""
    from bolt_merchant.bolt.cart import Cart  # the cart models only for an order we never recorded

    raw_cart = (found.order or {}).get("cart")
    cart = Cart.model_validate(raw_cart) if isinstance(raw_cart, dict) else None
    return TransactionEvent(
        hook_type="reconcile",
        transaction_id=found.id,
        reference=found.reference,
        amount=found.amount,
        currency=found.currency,
        status=found.status,
        order_reference=(cart.order_reference if cart else None) or (webhook.order_reference if webhook else None),
        cart=cart,
        order_token=(found.order or {}).get("token") if isinstance((found.order or {}).get("token"), str) else None,
        source="reconcile",
    )


def reconcile_item(
    store: ReconcileStore, bolt: BoltReader, recover: Recover, item: AttentionItem, now: datetime
) -> Outcome:
    if item.kind == "waiting":
        return resolve_waiting(store, bolt, recover, item, now)
    if item.order_id is None:
        store.forget(item.key)
        return "forgotten"
    return reconcile_order(store, bolt, item.order_id, now)


def reconcile_due(
    store: ReconcileStore,
    bolt: BoltReader,
    recover: Recover,
    now: datetime,
    *,
    limit: int,
    time_left: Callable[[], float],
    ahead: timedelta = timedelta(0),
) -> RunSummary:
    """Up to `limit` items due by now + `ahead`, oldest first, while more than a few seconds are left. A failure
    on one item is recorded and the run goes on; the item stays due, so the next run tries again."""
    summary = RunSummary()
    page = store.attention(limit, due_before=now + ahead, newest_first=False)
    for item in page.items:
        if time_left() < 5.0:
            break
        name = item.order_id or item.payment_reference
        try:
            outcome = reconcile_item(store, bolt, recover, item, now)
        except BoltNotFound:
            outcome = "bolt_failed"
            summary.errors.append(f"{name}: Bolt does not know the transaction")
        except (BoltApiError, DependencyUnavailable) as exc:
            outcome = "bolt_failed"
            summary.errors.append(f"{name}: {exc}")
        if outcome == "bolt_failed":
            store.postpone(item.key, now)
        summary.outcomes[outcome] += 1
    return summary


MAX_AHEAD = timedelta(days=7)


def _ahead(event: Any) -> timedelta:
    """The run's look-ahead: a whole number of seconds up to MAX_AHEAD; anything else is none."""
    seconds = event.get("ahead_seconds") if isinstance(event, dict) else None
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
        return timedelta(0)
    return min(timedelta(seconds=seconds), MAX_AHEAD)


def reconciler_function() -> LambdaHandler:
    """The scheduled reconciler (EventBridge, RECONCILE_SCHEDULE) and `make reconcile`: {} runs a pass over what is
    due; {"ahead_seconds": N} also takes what falls due in the next N seconds (after an incident: every open
    order now); {"order_id": "..."} reconciles one order now."""

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        # The Bolt client (requests) and order recovery are what this function is for: loaded on its first run.
        from bolt_merchant.bolt.api import backoffice_bolt_api
        from bolt_merchant.payments.recovery import recover_order

        store = transaction_store()
        order_id = event.get("order_id") if isinstance(event, dict) else None
        if isinstance(order_id, str) and is_reference(order_id):
            outcome = reconcile_order(store, backoffice_bolt_api(), order_id, now())
            summary = RunSummary(outcomes=Counter({outcome: 1}))
        else:
            summary = reconcile_due(
                store,
                backoffice_bolt_api(),
                recover_order,
                now(),
                limit=settings().reconcile_batch_size,
                time_left=lambda: context.get_remaining_time_in_millis() / 1000,
                ahead=_ahead(event),
            )
        for name, number in summary.outcomes.items():
            metrics.add_metric(name=f"Reconcile{name.title().replace('_', '')}", unit=MetricUnit.Count, value=number)
        if summary.errors:
            metrics.add_metric(name="ReconcileFailed", unit=MetricUnit.Count, value=len(summary.errors))
            logger.error("reconciliation left items in attention", extra={"errors": summary.errors[:20]})
        logger.info("reconciliation run", extra={"checked": summary.checked, "outcomes": dict(summary.outcomes)})
        return {"checked": summary.checked, "outcomes": dict(summary.outcomes), "errors": summary.errors}

    return cast(LambdaHandler, lambda_handler)
