"""The storefront's side of checkout: carts priced by us, and Bolt order tokens for them."""

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from bolt_merchant.domain.bolt_cart import bolt_cart
from bolt_merchant.domain.carts import cart_discounts, open_cart, priced_lines
from bolt_merchant.domain.catalog import CatalogReader
from bolt_merchant.domain.discounts import normalise_code
from bolt_merchant.domain.errors import BoltCode, HookError
from bolt_merchant.domain.ports import BoltOrderTokens, CartConflict, CartStore
from bolt_merchant.models.carts import StoredCart
from bolt_merchant.models.storefront import CartView, CreateCartRequest, CreatedCart, OrderToken

CART_LIFETIME = timedelta(days=7)


def create_cart(
    request: CreateCartRequest,
    catalog: CatalogReader,
    store: CartStore,
    now: datetime,
    new_cart_id: Callable[[], str],
) -> CreatedCart:
    quantities: Counter[str] = Counter()
    for item in request.items:
        quantities[item.sku] += item.quantity
    view = catalog.view(quantities)
    if request.currency != view.settings.currency:
        raise HookError(BoltCode.ADDRESS_OR_CART_INVALID, f"Carts in {request.currency} are not supported")
    cart = StoredCart(
        cart_id=new_cart_id(),
        currency=request.currency,
        lines=priced_lines(quantities, view),
        discount_codes=list(dict.fromkeys(normalise_code(c) for c in request.discount_codes)),
        created_at=now,
        expires_at=now + CART_LIFETIME,
    )
    cart_discounts(cart, store, now)  # refuses a code that cannot apply before the cart is stored
    store.create_cart(cart)
    return CreatedCart(cart_id=cart.cart_id, cart=CartView.of(cart))


def order_token(
    cart_id: str, catalog: CatalogReader, store: CartStore, bolt: BoltOrderTokens, now: datetime
) -> OrderToken:
    """A Bolt order token for the cart as priced now. The same cart version reuses its token."""
    cart = open_cart(cart_id, store, now)
    if cart.bolt_order_token and cart.bolt_order_token_version == cart.version:
        return OrderToken(cart_id=cart_id, order_token=cart.bolt_order_token)
    view = catalog.view(line.sku for line in cart.lines)
    repriced = priced_lines(Counter({line.sku: line.quantity for line in cart.lines}), view)
    current = (
        cart if repriced == cart.lines else cart.model_copy(update={"lines": repriced, "version": cart.version + 1})
    )
    token = bolt.create_order_token(
        {"channel": "browser", "cart": bolt_cart(current, cart_discounts(current, store, now))}
    )
    try:
        store.replace_cart(
            current.model_copy(update={"bolt_order_token": token, "bolt_order_token_version": current.version}),
            expected_version=cart.version,
        )
    except CartConflict as exc:
        raise HookError(BoltCode.ORDER_CART_EXPIRED, "The cart changed meanwhile, ask again", http_status=409) from exc
    return OrderToken(cart_id=cart_id, order_token=token)
