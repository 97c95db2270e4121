"""The orders table's items: how carts and orders are keyed, and the item each document is stored as."""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: storing a cart must not load the order models
    from bolt_merchant.models.carts import StoredCart
    from bolt_merchant.models.orders import Order, OutboxEvent

EVENT_RETENTION = timedelta(days=30)


def cart_key(cart_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"CART#{cart_id}"}, "sk": {"S": "CART"}}


def order_key(order_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}}


def _epoch(moment: datetime) -> dict[str, str]:
    return {"N": str(int(moment.timestamp()))}


def cart_item(cart: "StoredCart") -> dict[str, Any]:
    return {
        **cart_key(cart.cart_id),
        "kind": {"S": "cart"},
        "doc": {"S": cart.model_dump_json()},
        "status": {"S": cart.status},
        "version": {"N": str(cart.version)},
        "expires_at": _epoch(cart.expires_at),
    }


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
