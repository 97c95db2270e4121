"""Transaction webhooks (reference §4): verify, normalise either envelope (v2 and legacy flat), find the order (or
recover one Bolt authorised but order.create never recorded), apply the event, acknowledge."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BeforeValidator

from bolt_merchant.bolt.cart import Cart
from bolt_merchant.bolt.signed import SignedRequestReader, answered, signed_reader
from bolt_merchant.core.api import acknowledged, failure_response, validated
from bolt_merchant.core.errors import (
    BoltCode,
    Conflict,
    DependencyUnavailable,
    Failure,
    Invalid,
    NotFound,
    OrderNotCreatedYet,
    RecoveryFailed,
)
from bolt_merchant.core.models import Cents, InboundModel, Reference, ShortText, is_reference
from bolt_merchant.core.observability import count
from bolt_merchant.core.settings import now, order_received_url
from bolt_merchant.orders.models import Order, order_id_for
from bolt_merchant.payments.store import transaction_store
from bolt_merchant.payments.transactions import (
    MONEY_TYPES,
    ORDER_CREATING_TYPES,
    Alert,
    BoltTransaction,
    CaptureInfo,
    StaleOrder,
    TransactionEvent,
    Transition,
    apply_event,
)


class TransactionOrder(InboundModel):
    token: ShortText | None = None
    cart: Cart | None = None


class Transaction(BoltTransaction):
    """The transaction a webhook carries, with the order (and cart) it belongs to."""

    order: TransactionOrder | None = None


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


Result = Literal["applied", "duplicate", "ignored"]


class TransactionStore(Protocol):
    def get_order(self, order_id: str) -> Order | None: ...

    def cart_exists(self, cart_id: str) -> bool: ...

    def order_id_for_reference(self, reference: str) -> str | None: ...

    def apply_transition(self, before: Order, transition: Transition) -> None:
        """Write the new order, its ledger entries and outbox events (and release stock) in one transaction,
        only if the order is still at before.version. Raises StaleOrder otherwise."""
        ...


@dataclass(frozen=True)
class WebhookOutcome:
    result: Result
    order_id: str | None = None
    reason: str = ""
    alerts: list[Alert] = field(default_factory=list)


def _order_id(event: TransactionEvent, store: TransactionStore) -> str | None:
    if event.order_reference:
        return order_id_for(event.order_reference)
    if event.display_id:
        return event.display_id
    for reference in (event.source_reference, event.reference):
        if reference and (order_id := store.order_id_for_reference(reference)):
            return order_id
    return None


def handle_transaction(
    event: TransactionEvent,
    store: TransactionStore,
    recover_order: Callable[[TransactionEvent], None],
    now: datetime,
) -> WebhookOutcome:
    """At-least-once, any order: duplicates and late events are acknowledged without effect."""
    if event.hook_type not in MONEY_TYPES:
        return WebhookOutcome("ignored", reason=f"event type {event.hook_type[:40]} is not processed")
    order_id = _order_id(event, store)
    if order_id is None:
        return WebhookOutcome("ignored", reason="no order or cart reference")
    recovered = False
    for _ in range(_OPTIMISTIC_ATTEMPTS):
        order = store.get_order(order_id)
        if order is None:
            if event.hook_type in ORDER_CREATING_TYPES and event.cart is not None and not recovered:
                recover_order(event)  # dropped order: Bolt authorised a cart order.create never recorded
                recovered = True
                continue
            if event.order_reference and store.cart_exists(event.order_reference):
                # the order is probably being created right now (order.create still running): ask Bolt to retry
                raise OrderNotCreatedYet("order for this cart does not exist yet")
            return WebhookOutcome("ignored", order_id=order_id, reason="unknown order")
        transition = apply_event(order, event, now)
        if not transition.ledger:
            return WebhookOutcome("duplicate", order_id=order_id, alerts=transition.alerts)
        try:
            store.apply_transition(order, transition)
        except StaleOrder:
            continue
        return WebhookOutcome("applied", order_id=order_id, alerts=transition.alerts)
    raise DependencyUnavailable("order kept changing while applying a webhook")


SUCCEEDED = "succeeded"


def parse_transaction_event(body: dict[str, Any]) -> TransactionEvent:
    """v2 {type, object: "transaction", data} or the legacy flat body; raises Invalid naming bad fields."""
    if body.get("object") == "transaction" or isinstance(body.get("data"), dict):
        hook = validated(WebhookV2, body)
        data = hook.data
        cart = data.order.cart if data.order else None
        return TransactionEvent(
            hook_type=hook.type,
            transaction_id=data.id,
            reference=data.reference,
            amount=data.amount,
            currency=data.currency,
            order_reference=cart.order_reference if cart else None,
            display_id=cart.display_id if cart and cart.display_id and is_reference(cart.display_id) else None,
            source_reference=data.source_transaction.reference if data.source_transaction else None,
            captures=tuple(
                CaptureInfo(c.id, c.amount or 0) for c in data.captures if (c.status or SUCCEEDED) == SUCCEEDED
            ),
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


def _recover_order(event: TransactionEvent) -> None:
    """Create the order a pending/payment webhook refers to from the cart Bolt sent, as order.create would."""
    # Imported on first use: only recovering a dropped order needs order.create's pricing, the catalog, the checkout
    # store and their models, and most containers never recover one.
    from bolt_merchant.catalog.store import catalog
    from bolt_merchant.checkout.order_create import BoltOrder, OrderCreateRequest, checkout_store, create_order

    assert event.cart is not None
    request = OrderCreateRequest(order=BoltOrder(token=event.order_token, cart=event.cart), currency=event.currency)
    try:
        create_order(request, catalog(), checkout_store(), now(), order_received_url)
    except (Invalid, NotFound, Conflict) as exc:
        if exc.code != BoltCode.ORDER_ALREADY_EXISTS:
            raise RecoveryFailed(exc.message, exc.code) from exc


def transaction_webhook_endpoint() -> TransactionWebhookEndpoint:
    return TransactionWebhookEndpoint(
        signed_reader(),
        lambda event: handle_transaction(event, transaction_store(), _recover_order, now()),
    )
