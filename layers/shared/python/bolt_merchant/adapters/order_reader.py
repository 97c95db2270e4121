"""Reads one order document from the orders table, consistently: what the fan-out consumers need, and what the
transaction and checkout stores read orders with."""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bolt_merchant.adapters.aws import dependency
from bolt_merchant.adapters.orders_table import order_key
from bolt_merchant.models.orders import Order

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def order_from_item(item: Mapping[str, Any]) -> Order:
    return Order.model_validate_json(item["doc"]["S"])


def read_order(client: "DynamoDBClient", orders_table: str, order_id: str) -> Order | None:
    # Consistent: a consumer must see at least the state the event describes, never an older one.
    with dependency("order read"):
        item = client.get_item(TableName=orders_table, Key=order_key(order_id), ConsistentRead=True).get("Item")
    return order_from_item(item) if item else None


class DynamoOrderReader:
    def __init__(self, client: "DynamoDBClient", orders_table: str) -> None:
        self._client = client
        self._orders = orders_table

    def get_order(self, order_id: str) -> Order | None:
        return read_order(self._client, self._orders, order_id)
