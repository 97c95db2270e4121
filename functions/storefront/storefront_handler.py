"""POST /storefront/carts and /storefront/carts/{cart_id}/bolt-order-token - carts priced by us, Bolt tokens."""

from bolt_merchant.checkout.storefront import storefront_app
from bolt_merchant.core.api import api_function

lambda_handler = api_function(storefront_app())
