"""The back-office API (ours, IAM-authorised): operator requests, Bolt's answers to our actions, order views.

Operator requests forbid unknown fields: a misspelt "ammount" must be refused, not read as "capture everything".
"""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bolt_merchant.core.models import InboundModel, OwnModel, ShortText
from bolt_merchant.orders.models import PostalAddress
from bolt_merchant.payments.transactions import BoltTransaction

# Operator amounts are plain integer cents; their range (> 0, <= what is left) is the domain's to judge, so a
# zero or negative amount is a 422 with a useful message rather than a schema error.
OperatorCents = Annotated[int, Field(strict=True, ge=-(10**12), le=10**12)]


LineItemKey = Annotated[str, Field(min_length=1, max_length=128)]


Note = Annotated[str, Field(max_length=500)]


class OperatorRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, frozen=True, defer_build=True)


class CaptureRequest(OperatorRequest):
    amount: OperatorCents | None = None


class RestockLine(OperatorRequest):
    line_item_key: LineItemKey
    quantity: Annotated[int, Field(strict=True, ge=1, le=10_000)]


class RefundRequest(OperatorRequest):
    amount: OperatorCents | None = None
    reason: Note | None = None
    restock: bool = False
    # With restock: which units go back to stock; without it, every unit not restocked yet.
    line_items: Annotated[list[RestockLine], Field(min_length=1, max_length=100)] | None = None


class CancelRequest(OperatorRequest):
    reason: Note | None = None


class ReviewRequest(OperatorRequest):
    """Approve or reject a payment Bolt's fraud review flagged as reversible (rejected_reversible)."""

    decision: Literal["approve", "reject"]
    reason: Note | None = None


class ReleaseHoldsRequest(OperatorRequest):
    """Release holds an operator has dealt with; a hold whose cause remains in Bolt's facts comes back."""

    reasons: Annotated[list[Annotated[str, Field(min_length=1, max_length=128)]], Field(min_length=1, max_length=20)]
    note: Note | None = None


class ReconcileRequest(OperatorRequest):
    """POST /orders/{id}/reconcile takes no options."""


class FulfilledLine(OperatorRequest):
    line_item_key: LineItemKey
    fulfilled_quantity: Annotated[int, Field(strict=True, ge=0, le=10_000)]


class Tracking(OperatorRequest):
    carrier: Annotated[str, Field(min_length=1, max_length=64)]
    tracking_number: Annotated[str, Field(min_length=1, max_length=128)]


class FulfilmentRequest(OperatorRequest):
    """PATCH line-items: the body is the list itself, or {"line_items": [...], "tracking": {...}}."""

    line_items: Annotated[list[FulfilledLine], Field(min_length=1, max_length=100)]
    tracking: Tracking | None = None


# ---------------------------------------------------------------- Bolt's answers to our actions (reference §5.3-§5.5)
class CreditStatus(InboundModel):
    status: ShortText | None = None


class VoidStatus(InboundModel):
    status: ShortText | None = None


class ActionAnswer(BoltTransaction):
    """The transaction Bolt answers a capture or void with, or the new cc_credit transaction of a refund."""

    credit: CreditStatus | None = None
    void: VoidStatus | None = None


# ---------------------------------------------------------------- what the operator sees
class LineView(OwnModel):
    line_item_key: str
    sku: str
    name: str
    quantity: int
    unit_price: int
    total: int
    fulfilled_quantity: int
    restocked_quantity: int


class MoneyView(OwnModel):
    authorized: int
    captured: int
    refunded: int
    capturable: int
    refundable: int


class BoltAmountView(OwnModel):
    id: str
    amount: int


class BoltView(OwnModel):
    order_token: str | None
    transaction_reference: str | None
    captures: list[BoltAmountView]
    credits: list[BoltAmountView]
    authorization_closed: bool


class TimelineEntry(OwnModel):
    """A ledger record (payments/transactions.py LedgerRecord) as the operator reads it."""

    key: str
    type: Annotated[str, Field(validation_alias="hook_type")]
    transaction_id: str | None
    amount: int
    applied: bool
    note: str
    recorded_at: str
    source: str


class HoldView(OwnModel):
    reason: str
    detail: str
    since: datetime


class ShipmentView(OwnModel):
    carrier: str
    tracking_number: str
    items: dict[str, int]
    reported_at: datetime


class OrderView(OwnModel):
    order_id: str
    status: str
    payment_phase: str
    fulfilment_status: str
    hold_reason: str | None  # the first of `holds`
    holds: list[HoldView]
    currency: str
    totals: dict[str, int]
    amounts: MoneyView
    items: list[LineView]
    shipments: list[ShipmentView]
    bolt: BoltView
    contact_email: str | None
    billing_address: PostalAddress | None
    shipping_addresses: list[PostalAddress]
    reconciled_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    timeline: list[TimelineEntry] | None = None


class AttentionEntry(OwnModel):
    """One line of GET /orders?attention=true: a held order, a payment waiting for reconciliation, a webhook that
    found no order, or a back-office answer not applied yet. Read from the index's item (payments/store.py
    AttentionItem)."""

    kind: str
    order_id: str | None
    transaction_reference: Annotated[str | None, Field(validation_alias="payment_reference")]
    reasons: list[str]
    due: datetime


class AttentionList(OwnModel):
    items: list[AttentionEntry]
    next_cursor: str | None
