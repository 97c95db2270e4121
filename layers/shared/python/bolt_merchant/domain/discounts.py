"""Discount codes: validity window, minimum subtotal, usage limit, and the amount they take off."""

from dataclasses import dataclass
from datetime import datetime

from bolt_merchant.domain.errors import BoltCode, HookError
from bolt_merchant.models.applied_discount import AppliedDiscount
from bolt_merchant.models.discounts import Discount
from bolt_merchant.money import basis_points_of


@dataclass(frozen=True)
class DiscountRecord:
    """A discount definition with its current usage counter (never cached: limits depend on it)."""

    definition: Discount
    uses: int

    @property
    def exhausted(self) -> bool:
        limit = self.definition.max_uses
        return limit is not None and self.uses >= limit


@dataclass(frozen=True)
class PricingContext:
    """What a discount is measured against: merchandise subtotal, chosen shipping and tax, all in cents."""

    subtotal: int
    shipping: int
    tax: int

    @property
    def ceiling(self) -> int:
        """Bolt refuses a discount above items + shipping + tax."""
        return self.subtotal + self.shipping + self.tax


def normalise_code(code: str) -> str:
    return code.strip().upper()


def evaluate(code: str, record: DiscountRecord | None, context: PricingContext, now: datetime) -> AppliedDiscount:
    """The discount this code gives for this cart now, or a HookError with Bolt's 62xx code."""
    if record is None:
        raise HookError(BoltCode.DISCOUNT_CODE_INVALID, f"The coupon code {code} is not found")
    discount = record.definition
    if discount.starts_at is not None and now < discount.starts_at:
        raise HookError(BoltCode.DISCOUNT_CODE_NOT_AVAILABLE, f"The coupon code {code} is not active yet")
    if discount.ends_at is not None and now >= discount.ends_at:
        raise HookError(BoltCode.DISCOUNT_CODE_EXPIRED, f"The coupon code {code} has expired")
    if record.exhausted:
        raise HookError(BoltCode.DISCOUNT_LIMIT_REACHED, f"The coupon code {code} has reached its usage limit")
    if context.subtotal < discount.min_subtotal:
        raise HookError(
            BoltCode.DISCOUNT_MINIMUM_NOT_MET,
            f"The coupon code {code} needs a subtotal of at least {discount.min_subtotal} cents",
        )
    if discount.type == "fixed_amount":
        amount = discount.amount or 0
    elif discount.type == "percentage":
        amount = basis_points_of(context.subtotal, (discount.percent or 0) * 100)
    else:
        amount = context.shipping
    return AppliedDiscount(
        code=discount.code,
        type=discount.type,
        amount=min(amount, context.ceiling),
        description=discount.description,
    )


def evaluate_all(
    codes: list[str], records: dict[str, DiscountRecord], context: PricingContext, now: datetime
) -> list[AppliedDiscount]:
    """Several codes on one cart: each is evaluated alone, and together they never exceed the ceiling."""
    applied = []
    remaining = context.ceiling
    for code in codes:
        discount = evaluate(code, records.get(code), context, now)
        granted = min(discount.amount, remaining)
        remaining -= granted
        applied.append(discount.model_copy(update={"amount": granted}))
    return applied
