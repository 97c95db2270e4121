"""POST /bolt/cart/update - cart.update, add or remove items and discount codes."""

from bolt_merchant.bolt.signed import bolt_hook_function
from bolt_merchant.checkout.cart_update import CART_UPDATE

lambda_handler = bolt_hook_function("/bolt/cart/update", CART_UPDATE)
