"""The catalog table as operators change it (operations.py's CatalogAdminStore): consistent reads of one product
with its stock shards, one code with its usage shards, the settings; each change one TransactWriteItems with its
audit trail item, conditional on the revision (and the counters) read.

Audit items are `AUDIT#<time>#<id>` items of the catalog table: target, action, the operator's IAM ARN, time and
the change as JSON (definitions and counts only: the catalog holds no personal data).
"""

import json
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from bolt_merchant.catalog import SETTINGS_KEY, discount_key, product_key, stock_key, uses_key
from bolt_merchant.catalog.inventory import slots_for
from bolt_merchant.catalog.models import Discount, Product, StoreSettings
from bolt_merchant.catalog.operations import (
    Audit,
    Moved,
    Shard,
    ShardWrite,
    StoredDiscount,
    StoredProduct,
    StoredSettings,
)
from bolt_merchant.catalog.store import product_from_item, stock_slots
from bolt_merchant.core.aws import batch_get, dependency, dynamodb, error_code, failure, from_item, to_item
from bolt_merchant.core.errors import DependencyUnavailable
from bolt_merchant.core.settings import per_container, settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_BATCH = 100
_MOVED = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


def _number(value: int) -> dict[str, str]:
    return {"N": str(value)}


class DynamoCatalogAdmin:
    def __init__(self, client: "DynamoDBClient", table: str) -> None:
        self._client = client
        self._table = table

    # ------------------------------------------------------------------ reads
    def _get(self, key: str) -> dict[str, Any] | None:
        with dependency("catalog read"):
            item = self._client.get_item(TableName=self._table, Key={"pk": {"S": key}}, ConsistentRead=True).get("Item")
        return dict(item) if item else None

    def _items(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), _BATCH):
            chunk = [{"pk": {"S": key}} for key in keys[start : start + _BATCH]]
            request = {self._table: {"Keys": chunk, "ConsistentRead": True}}
            for item in batch_get(self._client, request, "catalog read")[self._table]:
                found[item["pk"]["S"]] = item
        return found

    def product(self, sku: str) -> StoredProduct | None:
        item = self._get(product_key(sku))
        if item is None:
            return None
        slots = stock_slots(item)
        others = self._items([stock_key(sku, shard)["pk"]["S"] for shard in slots[1:]])
        shards = [self._shard(0, item)]
        shards += [self._shard(shard, others.get(stock_key(sku, shard)["pk"]["S"], {})) for shard in slots[1:]]
        product: Product = product_from_item(item, sum(shard.available for shard in shards[1:]))
        return StoredProduct(product=product, revision=_revision(item), shards=tuple(shards))

    @staticmethod
    def _shard(shard: int, item: dict[str, Any]) -> Shard:
        plain = from_item({name: item[name] for name in ("inventory", "reserved") if name in item})
        return Shard(shard, int(plain.get("inventory", 0)), int(plain.get("reserved", 0)))

    def discount(self, code: str) -> StoredDiscount | None:
        item = self._get(discount_key(code))
        if item is None:
            return None
        plain = from_item(item)
        discount = Discount.model_validate_json(plain["doc"])
        slots = slots_for(discount.usage_shards, int(plain.get("shard_slots", 1)))
        others = self._items([uses_key(code, shard)["pk"]["S"] for shard in slots[1:]])
        shards = [Shard(0, int(plain.get("uses", 0)))]
        for shard in slots[1:]:
            found = from_item(others.get(uses_key(code, shard)["pk"]["S"], {}))
            shards.append(Shard(shard, int(found.get("uses", 0))))
        return StoredDiscount(discount=discount, revision=_revision(item), shards=tuple(shards))

    def settings(self) -> StoredSettings | None:
        item = self._get(SETTINGS_KEY)
        if item is None:
            return None
        return StoredSettings(StoreSettings.model_validate_json(item["doc"]["S"]), _revision(item))

    # ------------------------------------------------------------------ writes
    def put_product(
        self, product: Product, revision: int, slots: int, writes: Sequence[ShardWrite], audit: Audit
    ) -> None:
        definition = product.model_dump(exclude={"inventory"})
        values = {"kind": "product", **definition, "shard_slots": slots, "revision": revision + 1}
        names = {f"#{field}": field for field in values}
        update = self._versioned(values, names, revision)
        own = next((write for write in writes if write.shard == 0), None)
        update["UpdateExpression"] += ", inventory = if_not_exists(inventory, :zero) + :own"
        update["ExpressionAttributeValues"] |= {":own": _number(own.delta if own else 0), ":zero": _number(0)}
        if own is not None:
            update["ConditionExpression"] += " AND " + _condition(own, update["ExpressionAttributeValues"])
        actions = [{"Update": {"TableName": self._table, "Key": {"pk": {"S": product_key(product.sku)}}, **update}}]
        actions += [self._counter(stock_key(product.sku, w.shard), "inventory", w) for w in writes if w.shard]
        self._transact([*actions, self._audit(audit)])

    def write_stock(self, sku: str, writes: Sequence[ShardWrite], audit: Audit) -> None:
        actions = [self._counter(stock_key(sku, write.shard), "inventory", write) for write in writes]
        self._transact([*actions, self._audit(audit)])

    def put_discount(
        self, discount: Discount, revision: int, slots: int, writes: Sequence[ShardWrite], audit: Audit
    ) -> None:
        values = {"kind": "discount", "doc": discount.model_dump_json(), "shard_slots": slots, "revision": revision + 1}
        names = {f"#{field}": field for field in values}
        update = self._versioned(values, names, revision)
        own = next((write for write in writes if write.shard == 0), None)
        update["UpdateExpression"] += ", #uses = if_not_exists(#uses, :zero) + :own"
        update["ExpressionAttributeNames"]["#uses"] = "uses"
        update["ExpressionAttributeValues"] |= {":own": _number(own.delta if own else 0), ":zero": _number(0)}
        if own is not None:
            update["ConditionExpression"] += " AND " + _condition(own, update["ExpressionAttributeValues"], "#uses")
        actions = [{"Update": {"TableName": self._table, "Key": {"pk": {"S": discount_key(discount.code)}}, **update}}]
        actions += [self._counter(uses_key(discount.code, w.shard), "uses", w) for w in writes if w.shard]
        self._transact([*actions, self._audit(audit)])

    def put_settings(self, settings: StoreSettings, revision: int, audit: Audit) -> None:
        values = {"kind": "settings", "doc": settings.model_dump_json(), "revision": revision + 1}
        update = self._versioned(values, {f"#{field}": field for field in values}, revision)
        self._transact(
            [{"Update": {"TableName": self._table, "Key": {"pk": {"S": SETTINGS_KEY}}, **update}}, self._audit(audit)]
        )

    @staticmethod
    def _versioned(values: dict[str, Any], names: dict[str, str], revision: int) -> dict[str, Any]:
        """SET every value, if the item's revision is still `revision` (0: no item, or one loaded without one)."""
        serialised = to_item({f":{field}": value for field, value in values.items()})
        update: dict[str, Any] = {
            "UpdateExpression": "SET "
            + ", ".join(f"#{field} = :{field}" for field in values if f":{field}" in serialised),
            "ExpressionAttributeNames": dict(names),
            "ExpressionAttributeValues": serialised,
        }
        if revision:
            update["ConditionExpression"] = "#revision = :seen_revision"
            update["ExpressionAttributeValues"][":seen_revision"] = _number(revision)
        else:
            update["ConditionExpression"] = "attribute_not_exists(#revision)"
        return update

    def _counter(self, key: dict[str, Any], counter: str, write: ShardWrite) -> dict[str, Any]:
        values: dict[str, Any] = {":delta": _number(write.delta), ":zero": _number(0)}
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": key,
            "UpdateExpression": "SET #counter = if_not_exists(#counter, :zero) + :delta",
            "ExpressionAttributeNames": {"#counter": counter},
            "ExpressionAttributeValues": values,
        }
        condition = _condition(write, values, "#counter")
        if condition:
            update["ConditionExpression"] = condition
        return {"Update": update}

    def _audit(self, audit: Audit) -> dict[str, Any]:
        item = {
            "pk": f"AUDIT#{audit.at.isoformat()}#{uuid.uuid4().hex[:12]}",
            "kind": "audit",
            "target": audit.target,
            "action": audit.action,
            "operator": audit.operator,
            "at": audit.at.isoformat(),
            "change": json.dumps(audit.change, sort_keys=True, default=str),
        }
        return {
            "Put": {"TableName": self._table, "Item": to_item(item), "ConditionExpression": "attribute_not_exists(pk)"}
        }

    def _transact(self, actions: list[dict[str, Any]]) -> None:
        try:
            self._client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except BotoCoreError as exc:
            raise DependencyUnavailable(f"catalog write unreachable: {type(exc).__name__}") from exc
        except ClientError as exc:
            reasons = {str(reason.get("Code")) for reason in exc.response.get("CancellationReasons", [])}
            if error_code(exc) == "TransactionCanceledException" and reasons & _MOVED:
                raise Moved from exc
            raise failure("catalog write", exc) from exc


def _revision(item: dict[str, Any]) -> int:
    return int(item.get("revision", {}).get("N", "0"))


def _condition(write: ShardWrite, values: dict[str, Any], attribute: str = "inventory") -> str:
    """The counter's condition: exactly what was read (absent counts as zero), or at least what is taken."""
    if write.seen is not None:
        values[":seen"] = _number(write.seen)
        absent = f"attribute_not_exists({attribute}) OR " if write.seen == 0 else ""
        return f"({absent}{attribute} = :seen)"
    if write.at_least is not None:
        values[":at_least"] = _number(write.at_least)
        return f"{attribute} >= :at_least"
    return ""


@per_container
def catalog_admin() -> DynamoCatalogAdmin:
    return DynamoCatalogAdmin(dynamodb(), settings().require("catalog_table"))
