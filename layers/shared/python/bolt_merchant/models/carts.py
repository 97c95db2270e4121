"""Carts we priced from the catalog, as we keep them in the orders table until they become an order."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from bolt_merchant.models.cart_line import CartLine
from bolt_merchant.models.common import CurrencyCode, OwnModel, Reference


class StoredCart(OwnModel):
    cart_id: Reference
    currency: CurrencyCode
    lines: list[CartLine]
    discount_codes: list[str] = []
    status: Literal["open", "ordered"] = "open"
    version: Annotated[int, Field(ge=1)] = 1
    order_id: str | None = None
    bolt_order_token: str | None = None
    bolt_order_token_version: int | None = None
    created_at: datetime
    expires_at: datetime

    @property
    def subtotal(self) -> int:
        return sum(line.total for line in self.lines)
