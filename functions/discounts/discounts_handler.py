"""POST /bolt/discounts/apply - discounts.code.apply, validate a discount code and price it."""

from bolt_merchant.bolt.signed import bolt_hook_function
from bolt_merchant.checkout.discounts import DISCOUNT

lambda_handler = bolt_hook_function("/bolt/discounts/apply", DISCOUNT)
