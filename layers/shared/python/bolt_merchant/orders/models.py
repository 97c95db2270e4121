"""Orders as we keep them in the orders table, the outbox events of their changes, and the order id a cart
gets (order.create and the webhooks find an order from its cart alone)."""

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

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
    authorized: Cents = 0
    captured: Cents = 0
    refunded: Cents = 0
    authorization_closed: bool = False
    hold_reason: str | None = None
    # Amounts by Bolt capture id / credit transaction id: a replay never counts one twice, and the totals are the
    # same whatever order the events arrived in.
    captures: dict[str, Cents] = {}
    credits: dict[str, Cents] = {}
    applied_keys: list[str] = []  # other transaction events already applied (type#transaction id)
    inventory_reserved: bool = True
    # Back office: units fulfilled and units put back into stock per line_item_key (sku); shipments reported to Bolt.
    fulfilled: dict[str, Annotated[int, Field(ge=0)]] = {}
    restocked: dict[str, Annotated[int, Field(ge=0)]] = {}
    shipments: list[TrackedShipment] = []
    version: Annotated[int, Field(ge=1)] = 1
    created_at: datetime
    updated_at: datetime


class OutboxEvent(OwnModel):
    """A fact written in the same transaction as the state change it describes; the publisher fans it out."""

    event_id: str
    event_type: str
    order_id: str
    occurred_at: datetime
    detail: dict[str, str | int | bool | None] = {}


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
