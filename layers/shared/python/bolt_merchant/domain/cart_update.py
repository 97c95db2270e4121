"""cart.update: items and discount codes added to or removed from the stored cart, answered as Bolt's cart."""

from collections import Counter
from datetime import datetime

from bolt_merchant.domain.bolt_cart import bolt_cart
from bolt_merchant.domain.carts import cart_discounts, open_cart, priced_lines
from bolt_merchant.domain.catalog import CatalogReader
from bolt_merchant.domain.discounts import normalise_code
from bolt_merchant.domain.errors import BoltCode, HookError
from bolt_merchant.domain.ports import CartConflict, CartStore
from bolt_merchant.models.cart_update import CartUpdateData, CartUpdateRequest


def update_cart(request: CartUpdateRequest, catalog: CatalogReader, store: CartStore, now: datetime) -> CartUpdateData:
    reference = request.cart.order_reference
    if reference is None:
        raise HookError(BoltCode.ORDER_CART_EXPIRED, "The cart has no order_reference")
    cart = open_cart(reference, store, now)
    seen_version = (request.cart.metadata or {}).get("cart_version")
    if seen_version is not None and seen_version != str(cart.version):
        # Bolt's copy is older than ours: this update was already applied (a redelivery after a lost answer)
        return CartUpdateData(order_create={"cart": bolt_cart(cart, cart_discounts(cart, store, now))})
    quantities = Counter({line.sku: line.quantity for line in cart.lines})
    for item in request.add_items:
        quantities[item.product_id] += item.quantity
    for item in request.remove_items:
        if quantities[item.product_id] < item.quantity:
            raise HookError(BoltCode.CART_ITEM_REMOVE_FAILED, f"Item {item.product_id} is not in the cart")
        quantities[item.product_id] -= item.quantity
    quantities = +quantities  # drop lines that reached zero
    if not quantities:
        raise HookError(BoltCode.CART_ITEM_REMOVE_FAILED, "The cart cannot be empty")
    codes = [c for c in cart.discount_codes if c not in {normalise_code(r) for r in request.discount_codes_to_remove}]
    codes += [c for c in (normalise_code(a) for a in request.discount_codes_to_add) if c not in codes]
    lines = priced_lines(quantities, catalog.view(quantities))
    updated = cart.model_copy(update={"lines": lines, "discount_codes": codes, "version": cart.version + 1})
    discounts = cart_discounts(updated, store, now)
    try:
        store.replace_cart(updated, expected_version=cart.version)
    except CartConflict as exc:
        raise HookError(BoltCode.ORDER_CART_EXPIRED, "The cart changed meanwhile; please try again", 409) from exc
    return CartUpdateData(order_create={"cart": bolt_cart(updated, discounts)})
