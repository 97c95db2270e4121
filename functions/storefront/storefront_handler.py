"""POST /storefront/carts and /storefront/carts/{cart_id}/bolt-order-token - carts priced by us, Bolt tokens."""

from bolt_merchant.http.entry import api_function
from bolt_merchant.http.storefront import storefront_app

lambda_handler = api_function(storefront_app())
