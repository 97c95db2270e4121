"""POST /bolt/webhooks/transaction - Bolt transaction webhooks (v2 envelope and legacy flat form)."""

from bolt_merchant import hooks
from bolt_merchant.http.entry import signed_function

lambda_handler = signed_function("/bolt/webhooks/transaction", hooks.transaction_webhook_endpoint())
