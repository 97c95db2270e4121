"""discounts.code.apply."""

from bolt_merchant import wiring
from bolt_merchant.domain import discount_code
from bolt_merchant.domain.errors import BoltCode
from bolt_merchant.http.bolt_hooks import Hook
from bolt_merchant.models.discount_code import DiscountApplyRequest
from bolt_merchant.wiring.cart_store import cart_store
from bolt_merchant.wiring.catalog import catalog

DISCOUNT = Hook(
    "discounts.code.apply",
    DiscountApplyRequest,
    lambda r: discount_code.apply_discount(r, catalog(), cart_store(), wiring.now()),
    invalid_code=BoltCode.DISCOUNT_INSUFFICIENT_INFORMATION,
)
