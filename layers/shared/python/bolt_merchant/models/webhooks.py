"""Bolt transaction webhooks: the v2 envelope {type, object, data: transaction} and the legacy flat form (§4.2)."""

from typing import Annotated

from pydantic import BeforeValidator

from bolt_merchant.models.bolt import Cart
from bolt_merchant.models.bolt_transaction import BoltTransaction
from bolt_merchant.models.common import Cents, InboundModel, Reference, ShortText


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
