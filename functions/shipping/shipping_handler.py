"""POST /bolt/shipping - order.shipping: delivery and in-store pickup options for the shopper's address."""

from bolt_merchant.bolt.signed import bolt_hook_function
from bolt_merchant.checkout.shipping import SHIPPING

lambda_handler = bolt_hook_function("/bolt/shipping", SHIPPING)
