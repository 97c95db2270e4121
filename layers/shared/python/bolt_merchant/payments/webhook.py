"""Transaction webhooks (reference §4): verify, normalise either envelope (v2 and legacy flat), find the order (or
recover one Bolt authorised but order.create never recorded), apply the event, acknowledge."""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, Protocol

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BeforeValidator

from bolt_merchant.bolt.cart import Cart
from bolt_merchant.bolt.signed import SignedRequestReader, answered, signed_reader
from bolt_merchant.core.api import acknowledged, failure_response, validated
from bolt_merchant.core.errors import (
    DependencyUnavailable,
    Failure,
    OrderNotCreatedYet,
)
from bolt_merchant.core.models import Cents, InboundModel, Reference, ShortText, is_reference
from bolt_merchant.core.observability import count
from bolt_merchant.core.settings import now, settings
from bolt_merchant.orders.models import Order, order_id_for
from bolt_merchant.payments.store import transaction_store
from bolt_merchant.payments.transactions import (
    MONEY_HELD_TYPES,
    MONEY_TYPES,
    ORDER_CREATING_TYPES,
    Alert,
    BoltTransaction,
    StaleOrder,
    TransactionEvent,
    Transition,
    apply_event,
)


class TransactionOrder(InboundModel):
    token: ShortText | None = None
    cart: Cart | None = None


class Transaction(BoltTransaction):
    """The transaction a webhook carries, with the order (and cart) it belongs to. The cart comes as
    data.order.cart, or (some senders) as data.cart."""

    order: TransactionOrder | None = None
    cart: Cart | None = None

    @property
    def bolt_cart(self) -> Cart | None:
        return (self.order.cart if self.order else None) or self.cart


class WebhookV2(InboundModel):
    type: ShortText
    object: ShortText | None = None
    data: Transaction


class LegacyWebhook(InboundModel):
    """{"id", "reference", "order", "type", "amount", "currency", "status", "display_id", ...}."""

    id: Reference | None = None
    reference: Reference | None = None
    order: Annotated[Reference | None, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v or None)] = None
    type: ShortText
    amount: Cents | None = None
    currency: ShortText | None = None
    status: ShortText | None = None
    display_id: Annotated[Reference | None, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v or None)] = (
        None
    )
    source_transaction_id: Reference | None = None
    source_transaction_reference: Reference | None = None


_OPTIMISTIC_ATTEMPTS = 5
Result = Literal["applied", "duplicate", "ignored", "held"]


class TransactionStore(Protocol):
    def get_order(self, order_id: str) -> Order | None: ...

    def cart_exists(self, cart_id: str) -> bool: ...

    def order_id_for_reference(self, reference: str) -> str | None: ...

    def apply_transition(self, before: Order, transition: Transition) -> None:
        """Write the new order, its ledger entries and outbox events (and release stock) in one transaction,
        only if the order is still at before.version. Raises StaleOrder otherwise."""
        ...

    def waiting_since(self, event: TransactionEvent, order_id: str | None, now: datetime) -> datetime:
        """When a webhook about this payment first found no order (recorded the first time, for reconciliation)."""
        ...


ORDER_WAIT = timedelta(seconds=60)  # ORDER_WAIT_SECONDS: six times order.create's 10 s timeout
# Creates the order for order_id from what the webhook says and what we stored (payments/recovery.py).
Recover = Callable[[TransactionEvent, str], None]


@dataclass(frozen=True)
class WebhookOutcome:
    result: Result
    order_id: str | None = None
    reason: str = ""
    alerts: list[Alert] = field(default_factory=list)


def _order_id(event: TransactionEvent, store: TransactionStore) -> str | None:
    cart_id = event.cart.order_reference if event.cart is not None else None
    if cart_id or event.order_reference:
        return order_id_for(cart_id or event.order_reference or "")
    if event.display_id:
        return event.display_id
    for reference in (event.source_reference, event.reference):
        if reference and (order_id := store.order_id_for_reference(reference)):
            return order_id
    return None


def _when_missing(
    event: TransactionEvent, order_id: str, store: TransactionStore, now: datetime, wait: timedelta
) -> Literal["recover", "retry", "held"]:
    """What a webhook does when its order does not exist. Where Bolt holds or took money an order must exist
    afterwards: it is recovered, at once for pending/payment with Bolt's cart (the dropped order), after `wait`
    otherwise when we stored the cart (order.create may still be running: Bolt is asked to retry meanwhile). A
    decline or void for an order we never had moves no money: reconciliation asks Bolt about it."""
    if event.hook_type in ORDER_CREATING_TYPES and event.cart is not None:
        return "recover"
    cart_id = event.cart.order_reference if event.cart is not None else event.order_reference
    first_seen = store.waiting_since(event, order_id, now)
    if cart_id and now - first_seen < wait and store.cart_exists(cart_id):
        return "retry"
    return "recover" if event.hook_type in MONEY_HELD_TYPES else "held"


def handle_transaction(
    event: TransactionEvent,
    store: TransactionStore,
    recover: Recover,
    now: datetime,
    wait: timedelta = ORDER_WAIT,
) -> WebhookOutcome:
    """At-least-once, any order: duplicates and late events are acknowledged without effect, contradictions are
    recorded and held, and a payment whose order is missing gets one."""
    if event.hook_type not in MONEY_TYPES:
        return WebhookOutcome("ignored", reason=f"event type {event.hook_type[:40]} is not processed")
    order_id = _order_id(event, store)
    if order_id is None:
        if event.payment_reference is None:
            return WebhookOutcome("ignored", reason="no order, cart or transaction reference")
        store.waiting_since(event, None, now)  # reconciliation asks Bolt which cart this payment is for
        return WebhookOutcome("held", reason="no order or cart reference: left to reconciliation")
    recovered = False
    for _ in range(_OPTIMISTIC_ATTEMPTS):
        order = store.get_order(order_id)
        if order is None:
            if recovered:
                raise DependencyUnavailable("the recovered order could not be read back")
            action = _when_missing(event, order_id, store, now, wait)
            if action == "retry":
                raise OrderNotCreatedYet("order for this cart does not exist yet")
            if action == "held":
                return WebhookOutcome("held", order_id=order_id, reason="no order: left to reconciliation")
            recover(event, order_id)
            recovered = True
            continue
        transition = apply_event(order, event, now)
        if not transition.ledger:
            return WebhookOutcome("duplicate", order_id=order_id, alerts=transition.alerts)
        try:
            store.apply_transition(order, transition)
        except StaleOrder:
            continue
        result: Result = "held" if transition.order.holds else "applied"
        return WebhookOutcome(result, order_id=order_id, alerts=transition.alerts)
    raise DependencyUnavailable("order kept changing while applying a webhook")


SUCCEEDED = "succeeded"


def parse_transaction_event(body: dict[str, Any]) -> TransactionEvent:
    """v2 {type, object: "transaction", data} or the legacy flat body; raises Invalid naming bad fields."""
    if body.get("object") == "transaction" or isinstance(body.get("data"), dict):
        hook = validated(WebhookV2, body)
        data = hook.data
        cart = data.bolt_cart
        return replace(
            data.event(hook.type),
            order_reference=cart.order_reference if cart else None,
            display_id=cart.display_id if cart and cart.display_id and is_reference(cart.display_id) else None,
            source_reference=data.source_transaction.reference if data.source_transaction else None,
            cart=cart,
            order_token=data.order.token if data.order else None,
        )
    legacy = validated(LegacyWebhook, body)
    return TransactionEvent(
        hook_type=legacy.type,
        transaction_id=legacy.id,
        reference=legacy.reference,
        amount=legacy.amount,
        currency=legacy.currency,
        status=legacy.status,
        order_reference=legacy.order or None,
        display_id=legacy.display_id or None,
        source_reference=legacy.source_transaction_reference,
    )


class TransactionWebhookEndpoint:
    def __init__(self, reader: SignedRequestReader, handle: Callable[[TransactionEvent], WebhookOutcome]) -> None:
        self._reader = reader
        self._handle = handle

    def answer(self, event: APIGatewayProxyEvent) -> Response[Any]:
        hook_type: str | None = None
        try:
            transaction = parse_transaction_event(self._reader.read(event))
            hook_type = transaction.hook_type[:40]
            outcome = self._handle(transaction)
        except Failure as exc:
            return answered(failure_response(exc), event, hook_type)
        count(f"Webhook{outcome.result.capitalize()}")
        for alert in outcome.alerts:
            count(alert)
        body: dict[str, Any] = {"result": outcome.result}
        if outcome.order_id:
            body["display_id"] = outcome.order_id
        return answered(acknowledged(body), event, hook_type)


def recover_order(event: TransactionEvent, order_id: str) -> None:
    # Imported on first use: only recovering a dropped order needs order.create's pricing, the catalog, the checkout
    # store and their models, and most containers never recover one.
    from bolt_merchant.payments.recovery import recover_order as recover

    recover(event, order_id)


def transaction_webhook_endpoint() -> TransactionWebhookEndpoint:
    return TransactionWebhookEndpoint(
        signed_reader(),
        lambda event: handle_transaction(
            event, transaction_store(), recover_order, now(), timedelta(seconds=settings().order_wait_seconds)
        ),
    )
