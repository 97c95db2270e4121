"""POST /bolt/order/create - order.create, pre-authorisation order creation, idempotent per cart."""

from bolt_merchant.bolt.signed import bolt_hook_function
from bolt_merchant.checkout.order_create import ORDER_CREATE

lambda_handler = bolt_hook_function("/bolt/order/create", ORDER_CREATE)
