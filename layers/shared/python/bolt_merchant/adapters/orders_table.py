"""The orders table's items: how carts and orders are keyed, the item each document is stored as, and a cart read
back from its item."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bolt_merchant.adapters.aws import dependency
from bolt_merchant.models.carts import StoredCart

if TYPE_CHECKING:  # annotations only: storing a cart must not load the order models
    from mypy_boto3_dynamodb import DynamoDBClient

    from bolt_merchant.models.orders import Order, OutboxEvent

EVENT_RETENTION = timedelta(days=30)


def cart_key(cart_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"CART#{cart_id}"}, "sk": {"S": "CART"}}


def order_key(order_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}}


def _epoch(moment: datetime) -> dict[str, str]:
    return {"N": str(int(moment.timestamp()))}


def cart_item(cart: StoredCart) -> dict[str, Any]:
    return {
        **cart_key(cart.cart_id),
        "kind": {"S": "cart"},
        "doc": {"S": cart.model_dump_json()},
        "status": {"S": cart.status},
        "version": {"N": str(cart.version)},
        "expires_at": _epoch(cart.expires_at),
    }


def cart_from_item(item: Mapping[str, Any]) -> StoredCart:
    """The document, with the status and order id that order.create sets on the item's own attributes."""
    cart = StoredCart.model_validate_json(item["doc"]["S"])
    status = item.get("status", {}).get("S", cart.status)
    order_id = item.get("order_id", {}).get("S", cart.order_id)
    return cart.model_copy(update={"status": status, "order_id": order_id})


def read_cart(client: "DynamoDBClient", orders_table: str, cart_id: str) -> StoredCart | None:
    with dependency("cart read"):
        item = client.get_item(TableName=orders_table, Key=cart_key(cart_id), ConsistentRead=True).get("Item")
    return cart_from_item(item) if item else None


def order_item(order: "Order") -> dict[str, Any]:
    return {
        **order_key(order.order_id),
        "kind": {"S": "order"},
        "doc": {"S": order.model_dump_json()},
        "status": {"S": order.status},
        "version": {"N": str(order.version)},
    }


def event_item(event: "OutboxEvent") -> dict[str, Any]:
    return {
        "pk": {"S": f"ORDER#{event.order_id}"},
        "sk": {"S": f"EVENT#{event.event_id}"},
        "kind": {"S": "event"},
        "doc": {"S": event.model_dump_json()},
        "expires_at": _epoch(event.occurred_at + EVENT_RETENTION),
    }
