"""POST /bolt/webhooks/transaction - Bolt transaction webhooks (v2 envelope and legacy flat form)."""

from bolt_merchant.bolt.signed import signed_function
from bolt_merchant.payments.webhook import transaction_webhook_endpoint

lambda_handler = signed_function("/bolt/webhooks/transaction", transaction_webhook_endpoint())
