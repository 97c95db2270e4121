"""Carts we priced and stored: their lines priced from the catalog, the open cart a request names, its discounts."""

from collections import Counter
from datetime import datetime

from bolt_merchant.domain.catalog import CatalogView, line_of
from bolt_merchant.domain.discounts import PricingContext, evaluate_all
from bolt_merchant.domain.errors import BoltCode, HookError
from bolt_merchant.domain.ports import CartStore
from bolt_merchant.models.applied_discount import AppliedDiscount
from bolt_merchant.models.cart_line import CartLine
from bolt_merchant.models.carts import StoredCart
from bolt_merchant.models.common import is_reference


def priced_lines(quantities: Counter[str], view: CatalogView) -> list[CartLine]:
    """Lines priced from the catalog; unknown SKUs and quantities above stock are refused."""
    lines = []
    for sku, quantity in quantities.items():
        product = view.products.get(sku)
        if product is None:
            raise HookError(BoltCode.CART_PRODUCT_NOT_FOUND, f"Item {sku} is not sold here")
        if quantity > product.inventory:
            raise HookError(BoltCode.CART_ITEM_OUT_OF_STOCK, f"Only {product.inventory} of {sku} left in stock")
        lines.append(line_of(product, quantity))
    return lines


def cart_discounts(cart: StoredCart, store: CartStore, now: datetime) -> list[AppliedDiscount]:
    if not cart.discount_codes:
        return []
    records = store.discounts(cart.discount_codes)
    return evaluate_all(cart.discount_codes, records, PricingContext(cart.subtotal, 0, 0), now)


def open_cart(cart_id: str, store: CartStore, now: datetime) -> StoredCart:
    cart = store.get_cart(cart_id) if is_reference(cart_id) else None
    if cart is None or cart.expires_at <= now:
        raise HookError(BoltCode.ORDER_CART_EXPIRED, "Cart not found or expired", http_status=404)
    if cart.status != "open":
        raise HookError(BoltCode.ORDER_ALREADY_EXISTS, "This cart has already become an order", http_status=409)
    return cart
