"""Carts and discount codes, for the storefront, discounts.code.apply and cart.update."""

from bolt_merchant.adapters.aws import dynamodb
from bolt_merchant.adapters.cart_store import DynamoCartStore
from bolt_merchant.adapters.settings import settings
from bolt_merchant.wiring import per_container


@per_container
def cart_store() -> DynamoCartStore:
    config = settings()
    return DynamoCartStore(dynamodb(), config.require("catalog_table"), config.require("orders_table"))
