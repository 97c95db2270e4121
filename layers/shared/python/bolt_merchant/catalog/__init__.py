"""The catalog: products, discount codes and store settings (models.py), the cached reader the hooks price from
(store.py), stock and usage shards (inventory.py), and the operator API (operations.py, admin_store.py, api.py).

The table's keys, and the counter writes other features' stores put in their transactions, are here, so that those
stores (order.create reserving stock, a cancellation releasing it) address catalog items without loading the
catalog's models.

A hot product's stock is split across `stock_shards` items: shard 0 is the product item itself, shard i > 0 the
item `STOCK#<sku>#<i>`; each holds `inventory` (available) and `reserved`. A discount code's uses are split the same
way across `usage_shards` items: shard 0 is the discount item, shard i > 0 `USES#<code>#<i>`, each holding `uses`.
"""

from typing import Any

SETTINGS_KEY = "SETTINGS"


def product_key(sku: str) -> str:
    return f"PRODUCT#{sku}"


def discount_key(code: str) -> str:
    return f"DISCOUNT#{code}"


def stock_key(sku: str, shard: int) -> dict[str, Any]:
    """The item holding stock shard `shard` of a product (shard 0: the product item)."""
    return {"pk": {"S": product_key(sku) if shard == 0 else f"STOCK#{sku}#{shard}"}}


def uses_key(code: str, shard: int) -> dict[str, Any]:
    """The item counting usage shard `shard` of a discount code (shard 0: the discount item)."""
    return {"pk": {"S": discount_key(code) if shard == 0 else f"USES#{code}#{shard}"}}


def stock_reservation(table: str, sku: str, shard: int, units: int) -> dict[str, Any]:
    """The transaction action reserving `units` from a stock shard, only if it holds them (never below zero)."""
    expression = "SET inventory = inventory - :q ADD reserved :q"
    return _update(table, stock_key(sku, shard), expression, {":q": {"N": str(units)}}, condition="inventory >= :q")


def uses_change(table: str, code: str, shard: int, delta: int) -> dict[str, Any]:
    """The transaction action moving a usage shard's count by `delta`: a use counted (1) or given back (-1)."""
    return _update(table, uses_key(code, shard), "ADD uses :delta", {":delta": {"N": str(delta)}})


def _update(
    table: str, key: dict[str, Any], expression: str, values: dict[str, Any], condition: str | None = None
) -> dict[str, Any]:
    update = {"TableName": table, "Key": key, "UpdateExpression": expression, "ExpressionAttributeValues": values}
    if condition is not None:
        update["ConditionExpression"] = condition
    return {"Update": update}
