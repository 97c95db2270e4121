"""POST /bolt/shipping-and-tax - order.shipping_and_tax: the legacy combined hook Bolt still sends."""

from bolt_merchant.hooks.shipping_and_tax import SHIPPING_AND_TAX
from bolt_merchant.http.entry import bolt_hook_function

lambda_handler = bolt_hook_function("/bolt/shipping-and-tax", SHIPPING_AND_TAX)
