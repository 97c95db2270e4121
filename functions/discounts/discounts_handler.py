"""POST /bolt/discounts/apply - discounts.code.apply, validate a discount code and price it."""

from bolt_merchant import hooks
from bolt_merchant.http.entry import bolt_hook_function

lambda_handler = bolt_hook_function("/bolt/discounts/apply", hooks.DISCOUNT)
