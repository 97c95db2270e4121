"""POST /bolt/cart/update - cart.update, add or remove items and discount codes."""

from bolt_merchant.hooks.cart_update import CART_UPDATE
from bolt_merchant.http.entry import bolt_hook_function

lambda_handler = bolt_hook_function("/bolt/cart/update", CART_UPDATE)
