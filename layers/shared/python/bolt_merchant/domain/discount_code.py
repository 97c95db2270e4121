"""discounts.code.apply: what a code takes off Bolt's cart as we price it, without using the code up."""

from datetime import datetime

from bolt_merchant.domain.catalog import CatalogReader, CatalogView
from bolt_merchant.domain.discounts import PricingContext, evaluate, normalise_code
from bolt_merchant.domain.errors import BoltCode, HookError
from bolt_merchant.domain.ports import CartStore
from bolt_merchant.domain.pricing import price_choice, priced_cart
from bolt_merchant.models.bolt import Cart
from bolt_merchant.models.cart_line import CartLine
from bolt_merchant.models.discount_code import DiscountApplyRequest, DiscountData


def apply_discount(
    request: DiscountApplyRequest, catalog: CatalogReader, store: CartStore, now: datetime
) -> DiscountData:
    if not request.code:
        raise HookError(BoltCode.DISCOUNT_INSUFFICIENT_INFORMATION, "No discount code was given")
    code = normalise_code(request.code)
    cart, discounts = store.cart_with_discounts(request.cart.order_reference, [code])
    if cart is not None and cart.status != "open":
        raise HookError(BoltCode.DISCOUNT_INSUFFICIENT_INFORMATION, "An order was already created for this cart")
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
    except HookError:
        return shipment.cost or 0
