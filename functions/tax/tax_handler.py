"""POST /bolt/tax - order.tax: tax on the items and on the option the shopper chose."""

from bolt_merchant.bolt.signed import bolt_hook_function
from bolt_merchant.checkout.tax import TAX

lambda_handler = bolt_hook_function("/bolt/tax", TAX)
