"""Bolt's credit-card webhook events."""

from bolt_merchant.http.credit_card_webhook import CreditCardWebhookEndpoint
from bolt_merchant.wiring.bolt import signed_reader
from bolt_merchant.wiring.card_events import card_events


def credit_card_webhook_endpoint() -> CreditCardWebhookEndpoint:
    return CreditCardWebhookEndpoint(
        signed_reader(), lambda event_type, event_id: card_events().record(event_type, event_id)
    )
