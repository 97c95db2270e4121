"""Bolt's credit-card events, each recorded once."""

from bolt_merchant.adapters.aws import dynamodb
from bolt_merchant.adapters.card_events import DynamoCardEvents
from bolt_merchant.adapters.settings import settings
from bolt_merchant.wiring import per_container


@per_container
def card_events() -> DynamoCardEvents:
    return DynamoCardEvents(dynamodb(), settings().require("orders_table"))
