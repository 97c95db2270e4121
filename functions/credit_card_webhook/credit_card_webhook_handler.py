"""POST /bolt/webhooks/credit-card - Bolt's beta credit card events: verified, recorded, acknowledged."""

from bolt_merchant import hooks
from bolt_merchant.http.entry import signed_function

lambda_handler = signed_function("/bolt/webhooks/credit-card", hooks.credit_card_webhook_endpoint())
