"""Orders with their ledger and outbox, changed by transaction webhooks."""

from bolt_merchant.adapters.aws import dynamodb
from bolt_merchant.adapters.settings import settings
from bolt_merchant.adapters.transaction_store import DynamoTransactionStore
from bolt_merchant.wiring import per_container


@per_container
def transaction_store() -> DynamoTransactionStore:
    config = settings()
    return DynamoTransactionStore(dynamodb(), config.require("catalog_table"), config.require("orders_table"))
