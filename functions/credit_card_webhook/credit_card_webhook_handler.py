"""POST /bolt/webhooks/credit-card - Bolt's beta credit card events: verified, recorded, acknowledged."""

from bolt_merchant.hooks.credit_card_webhook import credit_card_webhook_endpoint
from bolt_merchant.http.entry import signed_function

lambda_handler = signed_function("/bolt/webhooks/credit-card", credit_card_webhook_endpoint())
