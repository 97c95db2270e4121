"""POST /bolt/shipping-and-tax - order.shipping_and_tax: the legacy combined hook Bolt still sends."""

from bolt_merchant.bolt.signed import bolt_hook_function
from bolt_merchant.checkout.shipping_and_tax import SHIPPING_AND_TAX

lambda_handler = bolt_hook_function("/bolt/shipping-and-tax", SHIPPING_AND_TAX)
