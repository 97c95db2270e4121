"""Reads one order document from the orders table (what the fan-out consumers need, and nothing more)."""

from typing import TYPE_CHECKING

from bolt_merchant.adapters.aws import dependency
from bolt_merchant.adapters.orders_table import order_key
from bolt_merchant.models.orders import Order

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoOrderReader:
    def __init__(self, client: "DynamoDBClient", orders_table: str) -> None:
        self._client = client
        self._orders = orders_table

    def get_order(self, order_id: str) -> Order | None:
        # Consistent: a consumer must see at least the state the event describes, never an older one.
        with dependency("order read"):
            item = self._client.get_item(TableName=self._orders, Key=order_key(order_id), ConsistentRead=True).get(
                "Item"
            )
        return Order.model_validate_json(item["doc"]["S"]) if item else None
