"""Carts in the orders table and discount codes in the catalog table: what the storefront, discounts.code.apply,
cart.update and order.create read and write (order.create's own transaction is in order_create.py).

Documents are stored as JSON strings next to the few attributes conditions need (status, version, counters), so a
read gives back exactly the model that was written and every change is a conditional write.
"""

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from bolt_merchant.catalog import discount_key, uses_key
from bolt_merchant.catalog.models import Discount
from bolt_merchant.checkout.carts import CartConflict, DiscountRecord, StoredCart
from bolt_merchant.core.aws import batch_get, condition_failed, dependency, dynamodb, from_item
from bolt_merchant.core.errors import DependencyUnavailable
from bolt_merchant.core.settings import per_container, settings
from bolt_merchant.orders import cart_key, epoch

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def cart_item(cart: StoredCart) -> dict[str, Any]:
    return {
        **cart_key(cart.cart_id),
        "kind": {"S": "cart"},
        "doc": {"S": cart.model_dump_json()},
        "status": {"S": cart.status},
        "version": {"N": str(cart.version)},
        "expires_at": epoch(cart.expires_at),
    }


def cart_from_item(item: Mapping[str, Any]) -> StoredCart:
    """The document, with the status and order id that order.create sets on the item's own attributes."""
    cart = StoredCart.model_validate_json(item["doc"]["S"])
    status = item.get("status", {}).get("S", cart.status)
    order_id = item.get("order_id", {}).get("S", cart.order_id)
    return cart.model_copy(update={"status": status, "order_id": order_id})


def discount_keys(codes: Iterable[str]) -> list[dict[str, Any]]:
    return [{"pk": {"S": discount_key(code)}} for code in sorted(set(codes))]


def discount_records(
    items: Iterable[Mapping[str, Any]], shard_uses: Mapping[str, int] | None = None
) -> dict[str, DiscountRecord]:
    """Code -> definition and uses, from the discount items a read found (`shard_uses`: the uses counted on their
    other usage shards, by code)."""
    records = {}
    for item in items:
        plain = from_item(item)
        definition = Discount.model_validate_json(plain["doc"])
        uses = int(plain.get("uses", 0)) + (shard_uses or {}).get(definition.code, 0)
        records[definition.code] = DiscountRecord(definition=definition, uses=uses)
    return records


def usage_slots(item: Mapping[str, Any]) -> int:
    """How many usage shards of a discount item may hold uses (catalog/inventory.py, slots_for)."""
    return int(item.get("shard_slots", {}).get("N", "1"))


class DynamoCartStore:
    def __init__(self, client: "DynamoDBClient", catalog_table: str, orders_table: str) -> None:
        self._client = client
        self._catalog = catalog_table
        self._orders = orders_table

    # ------------------------------------------------------------------ reads
    def _batch(self, orders_keys: list[dict[str, Any]], catalog_keys: list[dict[str, Any]]) -> dict[str, list[Any]]:
        """Items of both tables in one consistent BatchGetItem (table name -> items found)."""
        request: dict[str, Any] = {}
        if orders_keys:
            request[self._orders] = {"Keys": orders_keys, "ConsistentRead": True}
        if catalog_keys:
            request[self._catalog] = {"Keys": catalog_keys, "ConsistentRead": True}
        found = batch_get(self._client, request, "checkout read") if request else {}
        return {self._orders: found.get(self._orders, []), self._catalog: found.get(self._catalog, [])}

    def get_cart(self, cart_id: str) -> StoredCart | None:
        with dependency("cart read"):
            item = self._client.get_item(TableName=self._orders, Key=cart_key(cart_id), ConsistentRead=True).get("Item")
        return cart_from_item(item) if item else None

    def _discount_records(self, items: list[dict[str, Any]]) -> dict[str, DiscountRecord]:
        """The codes' records, with the uses their other usage shards counted (one more read, for sharded codes)."""
        keys = {
            uses_key(item["pk"]["S"].removeprefix("DISCOUNT#"), shard)["pk"]["S"]: item["pk"]["S"]
            for item in items
            for shard in range(1, usage_slots(item))
        }
        shard_uses: dict[str, int] = {}
        ordered = [{"pk": {"S": pk}} for pk in sorted(keys)]
        for start in range(0, len(ordered), 100):
            request = {self._catalog: {"Keys": ordered[start : start + 100], "ConsistentRead": True}}
            for found in batch_get(self._client, request, "usage read")[self._catalog]:
                code = keys[found["pk"]["S"]].removeprefix("DISCOUNT#")
                shard_uses[code] = shard_uses.get(code, 0) + int(found.get("uses", {}).get("N", "0"))
        return discount_records(items, shard_uses)

    def discounts(self, codes: Iterable[str]) -> dict[str, DiscountRecord]:
        return self.cart_with_discounts(None, codes)[1]

    def cart_with_discounts(
        self, cart_id: str | None, codes: Iterable[str]
    ) -> tuple[StoredCart | None, dict[str, DiscountRecord]]:
        found = self._batch([cart_key(cart_id)] if cart_id is not None else [], discount_keys(codes))
        carts = found[self._orders]
        return (cart_from_item(carts[0]) if carts else None), self._discount_records(found[self._catalog])

    # ------------------------------------------------------------------ writes
    def _put_cart(self, cart: StoredCart, condition: str, **expression: Any) -> None:
        """A conditional put that succeeds when the item found is exactly ours: PutItem has no client token, so
        botocore resends one whose answer timed out, and the resend's condition then fails on our own first write.
        Raises CartConflict when another version is there."""
        item = cart_item(cart)
        try:
            with dependency("cart write"):
                self._client.put_item(
                    TableName=self._orders,
                    Item=item,
                    ConditionExpression=condition,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    **expression,
                )
        except DependencyUnavailable as exc:
            collision = condition_failed(exc)
            if collision is None:
                raise
            if collision.response.get("Item") == item:
                return
            raise CartConflict(cart.cart_id) from exc

    def create_cart(self, cart: StoredCart) -> None:
        try:
            self._put_cart(cart, "attribute_not_exists(pk)")
        except CartConflict as exc:  # another cart under a new random id: a retry draws another id
            raise DependencyUnavailable("cart id already taken") from exc

    def replace_cart(self, cart: StoredCart, expected_version: int) -> None:
        self._put_cart(
            cart,
            "#version = :expected AND #status = :open",
            ExpressionAttributeNames={"#version": "version", "#status": "status"},
            ExpressionAttributeValues={":expected": {"N": str(expected_version)}, ":open": {"S": "open"}},
        )


@per_container
def cart_store() -> DynamoCartStore:
    config = settings()
    return DynamoCartStore(dynamodb(), config.require("catalog_table"), config.require("orders_table"))
