"""POST /bolt/webhooks/transaction - Bolt transaction webhooks (v2 envelope and legacy flat form)."""

from bolt_merchant.hooks.transaction_webhook import transaction_webhook_endpoint
from bolt_merchant.http.entry import signed_function

lambda_handler = signed_function("/bolt/webhooks/transaction", transaction_webhook_endpoint())
