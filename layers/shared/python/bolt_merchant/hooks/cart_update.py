"""cart.update."""

from bolt_merchant import wiring
from bolt_merchant.domain import cart_update
from bolt_merchant.http.bolt_hooks import Hook
from bolt_merchant.models.cart_update import CartUpdateRequest
from bolt_merchant.wiring.cart_store import cart_store
from bolt_merchant.wiring.catalog import catalog

CART_UPDATE = Hook(
    "cart.update",
    CartUpdateRequest,
    lambda r: cart_update.update_cart(r, catalog(), cart_store(), wiring.now()),
    errors_list=True,
)
