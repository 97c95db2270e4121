"""Orders and their outbox events as orders-table items, and one order read back consistently (what the fan-out
consumers, the webhooks, the back office and order.create read orders with)."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bolt_merchant.core.aws import dependency, dynamodb
from bolt_merchant.core.settings import per_container, settings
from bolt_merchant.orders import epoch, order_key
from bolt_merchant.orders.models import Order, OutboxEvent, attention_due

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


EVENT_RETENTION = timedelta(days=30)
# Reconciliation looks at an open or held order this long after its last look (RECONCILE_AFTER_SECONDS).
RECONCILE_AFTER = timedelta(hours=1)
# The sparse index of what needs attention: only items that carry ATTENTION_KEY are in it, sorted by when.
ATTENTION_INDEX = "attention"
ATTENTION_KEY = "attention"
ATTENTION_AT = "attention_at"
ATTENTION_DUE = "due"


def attention_attributes(due: datetime | None, reasons: list[str]) -> dict[str, Any]:
    """The attributes that put an item in the attention index (none: it leaves it)."""
    if due is None:
        return {}
    attributes: dict[str, Any] = {ATTENTION_KEY: {"S": ATTENTION_DUE}, ATTENTION_AT: {"S": due.isoformat()}}
    if reasons:
        attributes["hold_reasons"] = {"S": ",".join(reasons)}
    return attributes


def order_item(order: Order, reconcile_after: timedelta = RECONCILE_AFTER) -> dict[str, Any]:
    return {
        **order_key(order.order_id),
        "kind": {"S": "order"},
        "doc": {"S": order.model_dump_json()},
        "status": {"S": order.status},
        "version": {"N": str(order.version)},
        **attention_attributes(attention_due(order, reconcile_after), order.hold_reasons),
    }


def event_item(event: OutboxEvent) -> dict[str, Any]:
    return {
        "pk": {"S": f"ORDER#{event.order_id}"},
        "sk": {"S": f"EVENT#{event.event_id}"},
        "kind": {"S": "event"},
        "doc": {"S": event.model_dump_json()},
        "expires_at": epoch(event.occurred_at + EVENT_RETENTION),
    }


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


@per_container
def order_reader() -> DynamoOrderReader:
    return DynamoOrderReader(dynamodb(), settings().require("orders_table"))
