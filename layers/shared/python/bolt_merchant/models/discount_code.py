"""discounts.code.apply (reference §3.3): the code and Bolt's cart, and the discount we answer with."""

from bolt_merchant.models.bolt import Cart
from bolt_merchant.models.common import InboundModel, OwnModel, ShortText


class DiscountApplyRequest(InboundModel):
    """discounts.code.apply: the code may come top-level or inside the cart (both seen in Bolt material)."""

    discount_code: ShortText | None = None
    cart: Cart

    @property
    def code(self) -> str | None:
        return self.discount_code or self.cart.discount_code


class DiscountData(OwnModel):
    discount_code: str
    discount_amount: int
    discount_description: str
    discount_type: str
    discount_category: str = "coupon"
