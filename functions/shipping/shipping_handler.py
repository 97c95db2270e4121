"""POST /bolt/shipping - order.shipping: delivery and in-store pickup options for the shopper's address."""

from bolt_merchant.hooks.order_shipping import SHIPPING
from bolt_merchant.http.entry import bolt_hook_function

lambda_handler = bolt_hook_function("/bolt/shipping", SHIPPING)
