"""Bolt transaction webhooks: the v2 envelope {type, object, data: transaction} and the legacy flat form (§4.2)."""

from typing import Annotated, Any

from pydantic import BeforeValidator, model_validator

from bolt_merchant.models.bolt import Cart, ShortText
from bolt_merchant.models.common import Cents, InboundModel, NullableList, Reference


class Capture(InboundModel):
    """Ids and references end up in DynamoDB keys: they are allow-listed like every Reference."""

    id: Reference
    status: ShortText | None = None
    amount: Cents | None = None


class SourceTransaction(InboundModel):
    id: Reference | None = None
    reference: Reference | None = None


class TransactionOrder(InboundModel):
    token: ShortText | None = None
    cart: Cart | None = None


class Transaction(InboundModel):
    """The transaction object (§4.3); every field may be null."""

    id: Reference | None = None
    type: ShortText | None = None
    reference: Reference | None = None
    status: ShortText | None = None
    amount: Cents | None = None
    currency: ShortText | None = None
    captures: NullableList[Capture] = []
    order: TransactionOrder | None = None
    source_transaction: SourceTransaction | None = None

    @model_validator(mode="before")
    @classmethod
    def _currency_from_amount(cls, data: Any) -> Any:
        """Bolt puts the currency inside the amount object: {"amount": {"amount": 754, "currency": "USD"}}."""
        if isinstance(data, dict) and not data.get("currency") and isinstance(data.get("amount"), dict):
            return {**data, "currency": data["amount"].get("currency")}
        return data


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
