"""The values every feature shares: base models for what others send us (tolerant) and what we store and answer
(strict), integer cents and their arithmetic (money never touches a float), references that may become DynamoDB
keys, a cart line priced from the catalog, and a discount applied to a cart or an order."""

import re
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

MAX_CENTS = 10**11  # one billion dollars: anything above is a data error, not an order


def round_half_up_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero, exactly, for non-negative values."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if numerator < 0:
        raise ValueError("numerator must be non-negative")
    quotient, remainder = divmod(numerator, denominator)
    return quotient + (1 if remainder * 2 >= denominator else 0)


def basis_points_of(amount: int, basis_points: int) -> int:
    """amount x basis_points / 10000, rounded half up (how per-line tax and percentage discounts round)."""
    return round_half_up_div(amount * basis_points, 10_000)


class InboundModel(BaseModel):
    """Shape of what other systems send us: unknown fields are ignored (Bolt adds fields), inputs never echoed."""

    model_config = ConfigDict(
        extra="ignore", hide_input_in_errors=True, frozen=True, populate_by_name=True, defer_build=True
    )


class OwnModel(BaseModel):
    """Shape of what we store and answer: unknown fields are a bug."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, frozen=True, defer_build=True)


# Free text from other systems (names, descriptions, statuses): bounded, so no field can carry a whole payload.
ShortText = Annotated[str, Field(max_length=256)]


def _cents(value: Any) -> Any:
    """Bolt sends amounts as plain integers or as {"amount": 754, "currency": "USD", ...}: accept both."""
    if isinstance(value, dict):
        value = value.get("amount")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("amount must be integer cents")
    return value


Cents = Annotated[int, BeforeValidator(_cents), Field(ge=0, le=MAX_CENTS)]


Quantity = Annotated[int, Field(strict=True, ge=1, le=10_000)]


def _currency_code(value: Any) -> Any:
    """Bolt sends "USD" or {"currency": "USD", "currency_symbol": "$"}."""
    if isinstance(value, dict):
        value = value.get("currency")
    return value


CurrencyCode = Annotated[str, BeforeValidator(_currency_code), Field(pattern=r"^[A-Z]{3}$")]


# References end up inside DynamoDB keys: an allow-list keeps "#" and control characters out.
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")


def is_reference(value: str) -> bool:
    return _REFERENCE.fullmatch(value) is not None


def _reference(value: str) -> str:
    if not is_reference(value):
        raise ValueError("must be 1-128 letters, digits, '_', '.', ':' or '-'")
    return value


Reference = Annotated[str, Field(strict=True), AfterValidator(_reference)]


def _none_as_empty_list(value: Any) -> Any:
    return [] if value is None else value


Item = TypeVar("Item")


# Bolt sends null where it means an empty list (shipments, discounts).
NullableList = Annotated[list[Item], BeforeValidator(_none_as_empty_list)]


class CartLine(OwnModel):
    sku: Reference
    name: str
    quantity: Quantity
    unit_price: Cents
    taxable: bool
    needs_shipping: bool

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity


class AppliedDiscount(OwnModel):
    code: str
    type: str
    amount: Cents
    description: str
