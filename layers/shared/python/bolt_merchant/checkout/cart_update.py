"""cart.update (reference §3.7): items and discount codes added to or removed from the stored cart, answered as
Bolt's cart."""

from collections import Counter
from datetime import datetime
from typing import Any

from bolt_merchant.bolt.cart import Cart
from bolt_merchant.bolt.signed import Hook
from bolt_merchant.catalog.models import CatalogReader
from bolt_merchant.catalog.store import catalog
from bolt_merchant.checkout.carts import (
    CartConflict,
    CartStore,
    bolt_cart,
    cart_discounts,
    normalise_code,
    open_cart,
    priced_lines,
)
from bolt_merchant.checkout.store import cart_store
from bolt_merchant.core.errors import BoltCode, Conflict, Invalid
from bolt_merchant.core.models import InboundModel, NullableList, OwnModel, Quantity, Reference, ShortText
from bolt_merchant.core.settings import now


class CartUpdateItem(InboundModel):
    product_id: Reference
    quantity: Quantity


class CartUpdateRequest(InboundModel):
    cart: Cart
    add_items: NullableList[CartUpdateItem] = []
    remove_items: NullableList[CartUpdateItem] = []
    discount_codes_to_add: NullableList[ShortText] = []
    discount_codes_to_remove: NullableList[ShortText] = []


class CartUpdateData(OwnModel):
    order_create: dict[str, Any]


def update_cart(request: CartUpdateRequest, catalog: CatalogReader, store: CartStore, now: datetime) -> CartUpdateData:
    reference = request.cart.order_reference
    if reference is None:
        raise Invalid("The cart has no order_reference", BoltCode.ORDER_CART_EXPIRED)
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
            raise Invalid(f"Item {item.product_id} is not in the cart", BoltCode.CART_ITEM_REMOVE_FAILED)
        quantities[item.product_id] -= item.quantity
    quantities = +quantities  # drop lines that reached zero
    if not quantities:
        raise Invalid("The cart cannot be empty", BoltCode.CART_ITEM_REMOVE_FAILED)
    codes = [c for c in cart.discount_codes if c not in {normalise_code(r) for r in request.discount_codes_to_remove}]
    codes += [c for c in (normalise_code(a) for a in request.discount_codes_to_add) if c not in codes]
    lines = priced_lines(quantities, catalog.view(quantities))
    updated = cart.model_copy(update={"lines": lines, "discount_codes": codes, "version": cart.version + 1})
    discounts = cart_discounts(updated, store, now)
    try:
        store.replace_cart(updated, expected_version=cart.version)
    except CartConflict as exc:
        raise Conflict("The cart changed meanwhile; please try again", BoltCode.ORDER_CART_EXPIRED) from exc
    return CartUpdateData(order_create={"cart": bolt_cart(updated, discounts)})


CART_UPDATE = Hook(
    "cart.update",
    CartUpdateRequest,
    lambda r: update_cart(r, catalog(), cart_store(), now()),
    errors_list=True,
)
