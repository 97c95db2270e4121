"""Bolt's transaction object (reference §4.3), as webhooks carry it and as the Transactions API answers our
captures, refunds and voids. The order and cart a webhook adds to it are in models/webhooks.py."""

from typing import Any

from pydantic import model_validator

from bolt_merchant.models.common import Cents, InboundModel, NullableList, Reference, ShortText


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
