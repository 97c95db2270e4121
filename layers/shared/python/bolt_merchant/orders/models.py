"""Orders as we keep them in the orders table, the outbox events of their changes, and the order id a cart
gets (order.create and the webhooks find an order from its cart alone)."""

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from bolt_merchant.catalog.inventory import returned, without
from bolt_merchant.core.models import AppliedDiscount, CartLine, Cents, CurrencyCode, OwnModel, Reference

OrderStatus = Literal[
    "pending_payment",  # created by order.create, waiting for Bolt's authorisation
    "payment_review",  # pending / rejected_reversible: fraud review
    "authorized",
    "partially_captured",
    "captured",
    "partially_refunded",
    "refunded",
    "cancelled",
    "on_hold",
]


class OrderTotals(OwnModel):
    subtotal: Cents
    discount: Cents
    shipping: Cents
    tax: Cents
    total: Cents


class ShippingChoice(OwnModel):
    reference: str
    service: str
    cost: Cents


PaymentPhase = Literal["pending_payment", "review", "authorized", "cancelled"]


class TrackedShipment(OwnModel):
    """A shipment the back office reported to Bolt (track_shipment)."""

    carrier: str
    tracking_number: str
    items: dict[str, int] = {}  # line_item_key (sku) -> units in this shipment
    reported_at: datetime


class Hold(OwnModel):
    """Why an order waits for a person or for reconciliation: Bolt's facts contradict it, or it was recovered from a
    webhook with something missing. `reason` is machine-readable (e.g. captured_exceeds_authorised,
    recovered_short_of_stock:TOTE-BLUE:2); `detail` says it for people, without personal data."""

    reason: str
    detail: str = ""
    since: datetime


class PostalAddress(OwnModel):
    """An address from Bolt's cart, kept for fulfilment and review. Personal data: never logged."""

    first_name: str | None = None
    last_name: str | None = None
    street_address1: str | None = None
    street_address2: str | None = None
    locality: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    email: str | None = None
    phone: str | None = None


class Order(OwnModel):
    order_id: str  # the display_id Bolt shows the shopper and sends back in webhooks
    cart_id: Reference
    status: OrderStatus
    phase: PaymentPhase = "pending_payment"
    currency: CurrencyCode
    lines: list[CartLine]
    discounts: list[AppliedDiscount] = []
    shipping: ShippingChoice | None = None
    totals: OrderTotals
    bolt_order_token: str | None = None
    bolt_transaction_reference: str | None = None
    contact_email: str | None = None
    billing_address: PostalAddress | None = None
    shipping_addresses: list[PostalAddress] = []
    # Bolt's facts: what it authorised, and each capture and credit by its Bolt id with Bolt's amount. captured and
    # refunded are their sums, never trimmed, so a replay never counts one twice and any arrival order converges.
    authorized: Cents = 0
    captured: Cents = 0
    refunded: Cents = 0
    captures: dict[str, Cents] = {}
    credits: dict[str, Cents] = {}
    authorization_closed: bool = False
    # Bolt authorised another amount than the order's total and an operator accepted Bolt's (release-holds).
    accepted_total: Annotated[int, Field(ge=0)] | None = None
    holds: list[Hold] = []
    applied_keys: list[str] = []  # other transaction events already applied (type#transaction id)
    inventory_reserved: bool = True
    # Units held in stock per sku while inventory_reserved; None means every line's quantity (an order recovered
    # from a webhook short of stock holds fewer).
    reserved: dict[str, Annotated[int, Field(ge=0)]] | None = None
    # The stock shard each reserved unit came from, per sku (shard -> units), so releases return units where they
    # were taken; a sku absent here took everything from shard 0, the product item (an unsharded product).
    reserved_from: dict[str, dict[int, Annotated[int, Field(ge=1)]]] = {}
    # The usage shard each discount code's use was counted on; a code absent here counted on shard 0.
    discount_shards: dict[str, Annotated[int, Field(ge=0)]] = {}
    # Back office: units fulfilled and units put back into stock per line_item_key (sku); shipments reported to Bolt.
    fulfilled: dict[str, Annotated[int, Field(ge=0)]] = {}
    restocked: dict[str, Annotated[int, Field(ge=0)]] = {}
    shipments: list[TrackedShipment] = []
    version: Annotated[int, Field(ge=1)] = 1
    created_at: datetime
    updated_at: datetime
    reconciled_at: datetime | None = None
    reconcile_checks: Annotated[int, Field(ge=0)] = 0

    @model_validator(mode="before")
    @classmethod
    def _holds_from_hold_reason(cls, data: Any) -> Any:
        """Orders stored before holds were a list carry one `hold_reason`: read it as one hold."""
        if isinstance(data, dict) and "hold_reason" in data:
            data = dict(data)
            reason = data.pop("hold_reason")
            if reason and not data.get("holds"):
                data["holds"] = [{"reason": reason, "since": data.get("updated_at")}]
        return data

    @property
    def hold_reasons(self) -> list[str]:
        return [hold.reason for hold in self.holds]

    def units_reserved(self) -> dict[str, int]:
        """Units this order holds in stock now, per sku: what it reserved, less what an operator restocked."""
        if not self.inventory_reserved:
            return {}
        base = self.reserved if self.reserved is not None else {line.sku: line.quantity for line in self.lines}
        held = {sku: units - self.restocked.get(sku, 0) for sku, units in base.items()}
        return {sku: units for sku, units in held.items() if units > 0}

    def units_held_by_shard(self) -> dict[str, dict[int, int]]:
        """units_reserved() per sku and stock shard. Units restocked earlier went back from the highest shard first
        (inventory.returned), so what is left is the rest, lowest shards first."""
        if not self.inventory_reserved:
            return {}
        base = self.reserved if self.reserved is not None else {line.sku: line.quantity for line in self.lines}
        held: dict[str, dict[int, int]] = {}
        for sku, units in base.items():
            origin = self.reserved_from.get(sku) or ({0: units} if units else {})
            back = min(self.restocked.get(sku, 0), sum(origin.values()))
            left = without(origin, returned(origin, back))
            if left:
                held[sku] = left
        return held

    def shards_returning(self, units: Mapping[str, int]) -> dict[str, dict[int, int]]:
        """Where `units` (sku -> units this order still holds) go back: the shards they were taken from."""
        held = self.units_held_by_shard()
        return {sku: returned(held.get(sku, {}), count) for sku, count in units.items() if count}


class OutboxEvent(OwnModel):
    """A fact written in the same transaction as the state change it describes; the publisher fans it out."""

    event_id: str
    event_type: str
    order_id: str
    occurred_at: datetime
    detail: dict[str, str | int | bool | None] = {}


_TOLERANCE_CENTS = 1
_LONGEST_RECHECK = timedelta(days=1)
# A settled order (paid, refunded or cancelled, not held) is still asked about this many times after its last
# change (at 1, 2, 4, 8 and 16 times RECONCILE_AFTER with the default hour): a webhook Bolt gave up on, or a change
# made in Bolt's dashboard, shows up within a day.
SETTLED_CHECKS = 5


def attention_due(order: Order, every: timedelta) -> datetime | None:
    """When reconciliation should next ask Bolt about this order; None once it needs nobody (settled, not held,
    and checked SETTLED_CHECKS times since its last change). A new hold is due at once; otherwise checks back off
    from `every`, doubling after each check that found nothing new, up to a day."""
    open_payment = order.phase in ("pending_payment", "review") or (
        order.phase == "authorized"
        and not order.authorization_closed
        and order.captured + _TOLERANCE_CENTS < order.authorized
    )
    if not order.holds and not open_payment and order.reconcile_checks >= SETTLED_CHECKS:
        return None
    last = order.reconciled_at or order.created_at
    due: datetime = last + min(every * 2 ** min(order.reconcile_checks, 10), _LONGEST_RECHECK)
    newest_hold = max((hold.since for hold in order.holds), default=None)
    if newest_hold is not None and (order.reconciled_at is None or newest_hold > order.reconciled_at):
        due = newest_hold
    return due


def order_id_for(cart_id: str) -> str:
    """One cart, one order: the id is derived from the cart, so every retry and every webhook finds the same one."""
    digest = base64.b32encode(hashlib.sha256(cart_id.encode("utf-8")).digest()).decode("ascii")
    return f"BO-{digest[:10]}"


@dataclass(frozen=True)
class QueueMessage:
    group_id: str
    deduplication_id: str
    body: str


def queue_message(event: OutboxEvent) -> QueueMessage:
    """One order's events stay in order (group = order); a re-published event is dropped by SQS inside its
    5-minute deduplication window (dedup id = event id), and consumers are idempotent beyond it."""
    return QueueMessage(group_id=event.order_id, deduplication_id=event.event_id, body=event.model_dump_json())
