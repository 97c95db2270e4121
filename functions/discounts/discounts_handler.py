"""POST /bolt/discounts/apply - discounts.code.apply, validate a discount code and price it."""

from bolt_merchant.hooks.discount_code import DISCOUNT
from bolt_merchant.http.entry import bolt_hook_function

lambda_handler = bolt_hook_function("/bolt/discounts/apply", DISCOUNT)
