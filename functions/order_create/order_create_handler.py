"""POST /bolt/order/create - order.create, pre-authorisation order creation, idempotent per cart."""

from bolt_merchant.hooks.order_create import ORDER_CREATE
from bolt_merchant.http.entry import bolt_hook_function

lambda_handler = bolt_hook_function("/bolt/order/create", ORDER_CREATE)
