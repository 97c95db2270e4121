"""POST /bolt/webhooks/credit-card - Bolt's beta credit card events: verified, recorded, acknowledged."""

from bolt_merchant.bolt.signed import signed_function
from bolt_merchant.payments.card_events import credit_card_webhook_endpoint

lambda_handler = signed_function("/bolt/webhooks/credit-card", credit_card_webhook_endpoint())
