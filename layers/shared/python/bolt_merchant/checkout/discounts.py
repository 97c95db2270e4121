"""discounts.code.apply (reference §3.6): what a code takes off Bolt's cart as we price it, without using it up."""

from datetime import datetime

from bolt_merchant.bolt.cart import Cart
from bolt_merchant.bolt.signed import Hook
from bolt_merchant.catalog.models import CatalogReader, CatalogView
from bolt_merchant.catalog.store import catalog
from bolt_merchant.checkout.carts import CartStore, PricingContext, evaluate, normalise_code
from bolt_merchant.checkout.pricing import price_choice, priced_cart
from bolt_merchant.checkout.store import cart_store
from bolt_merchant.core.errors import BoltCode, Invalid
from bolt_merchant.core.models import CartLine, InboundModel, OwnModel, ShortText
from bolt_merchant.core.settings import now


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


def apply_discount(
    request: DiscountApplyRequest, catalog: CatalogReader, store: CartStore, now: datetime
) -> DiscountData:
    if not request.code:
        raise Invalid("No discount code was given", BoltCode.DISCOUNT_INSUFFICIENT_INFORMATION)
    code = normalise_code(request.code)
    cart, discounts = store.cart_with_discounts(request.cart.order_reference, [code])
    if cart is not None and cart.status != "open":
        raise Invalid("An order was already created for this cart", BoltCode.DISCOUNT_INSUFFICIENT_INFORMATION)
    view, lines = priced_cart(request.cart, catalog)
    shipping = _chosen_shipping_cost(request.cart, lines, view)
    context = PricingContext(sum(line.total for line in lines), shipping, request.cart.tax_amount or 0)
    applied = evaluate(code, discounts.get(code), context, now)
    return DiscountData(
        discount_code=applied.code,
        discount_amount=applied.amount,
        discount_description=applied.description,
        discount_type=applied.type,
    )


def _chosen_shipping_cost(cart: Cart, lines: list[CartLine], view: CatalogView) -> int:
    shipment = cart.shipments[0] if cart.shipments else None
    if shipment is None or not shipment.reference:
        return 0
    try:
        return price_choice(lines, view, shipment.reference, shipment.shipping_address).cost
    except Invalid:
        return shipment.cost or 0


DISCOUNT = Hook(
    "discounts.code.apply",
    DiscountApplyRequest,
    lambda r: apply_discount(r, catalog(), cart_store(), now()),
    invalid_code=BoltCode.DISCOUNT_INSUFFICIENT_INFORMATION,
)
