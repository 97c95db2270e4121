"""Our discount codes: what each takes off, when, from which subtotal, and how many times."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from bolt_merchant.models.common import Cents, OwnModel


class Discount(OwnModel):
    code: Annotated[str, Field(pattern=r"^[A-Z0-9_\-]{1,64}$")]
    type: Literal["fixed_amount", "percentage", "free_shipping"]
    description: str
    amount: Cents | None = None
    percent: Annotated[int, Field(ge=1, le=100)] | None = None
    min_subtotal: Cents = 0
    max_uses: Annotated[int, Field(ge=0)] | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
