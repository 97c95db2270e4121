"""POST /bolt/universal - Bolt's universal Merchant Callback URL: {event, data} dispatched to the same services."""

from bolt_merchant.hooks.universal import UNIVERSAL
from bolt_merchant.http.entry import bolt_hook_function

lambda_handler = bolt_hook_function("/bolt/universal", *UNIVERSAL)
