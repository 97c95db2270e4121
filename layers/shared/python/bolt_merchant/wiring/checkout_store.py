"""Orders with the cart, stock and discount uses they change, for order.create."""

from bolt_merchant.adapters.aws import dynamodb
from bolt_merchant.adapters.checkout_store import DynamoCheckoutStore
from bolt_merchant.adapters.settings import settings
from bolt_merchant.wiring import per_container


@per_container
def checkout_store() -> DynamoCheckoutStore:
    config = settings()
    return DynamoCheckoutStore(dynamodb(), config.require("catalog_table"), config.require("orders_table"))
