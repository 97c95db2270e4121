"""POST /bolt/tax - order.tax: tax on the items and on the option the shopper chose."""

from bolt_merchant.hooks.order_tax import TAX
from bolt_merchant.http.entry import bolt_hook_function

lambda_handler = bolt_hook_function("/bolt/tax", TAX)
