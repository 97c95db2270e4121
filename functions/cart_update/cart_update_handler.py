"""POST /bolt/cart/update - cart.update, add or remove items and discount codes."""

from bolt_merchant import hooks
from bolt_merchant.http.entry import bolt_hook_function

lambda_handler = bolt_hook_function("/bolt/cart/update", hooks.CART_UPDATE)
