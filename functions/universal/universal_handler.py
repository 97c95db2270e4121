"""POST /bolt/universal - Bolt's universal Merchant Callback URL: {event, data} dispatched to the same services."""

from bolt_merchant.bolt.signed import bolt_hook_function
from bolt_merchant.checkout.universal import UNIVERSAL

lambda_handler = bolt_hook_function("/bolt/universal", *UNIVERSAL)
