"""discounts.code.apply."""

from bolt_merchant import wiring
from bolt_merchant.domain import discount_code
from bolt_merchant.domain.errors import BoltCode
from bolt_merchant.http.bolt_hooks import Hook
from bolt_merchant.models.discount_code import DiscountApplyRequest
from bolt_merchant.wiring.catalog import catalog
from bolt_merchant.wiring.checkout_store import checkout_store

DISCOUNT = Hook(
    "discounts.code.apply",
    DiscountApplyRequest,
    lambda r: discount_code.apply_discount(r, catalog(), checkout_store(), wiring.now()),
    invalid_code=BoltCode.DISCOUNT_INSUFFICIENT_INFORMATION,
)
