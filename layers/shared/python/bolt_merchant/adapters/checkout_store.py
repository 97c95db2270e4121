"""Carts, orders and their outbox events in the orders table; stock and discount usage in the catalog table.

Documents are stored as JSON strings next to the few attributes conditions need (status, version, counters),
so a read gives back exactly the model that was written and every change is a conditional write.
"""

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from bolt_merchant.adapters.aws import dependency, error_code
from bolt_merchant.adapters.catalog_table import discount_key, from_item, product_key
from bolt_merchant.adapters.orders_table import cart_item, cart_key, event_item, order_item, order_key
from bolt_merchant.domain.discounts import DiscountRecord
from bolt_merchant.domain.errors import DependencyUnavailable
from bolt_merchant.domain.ports import (
    CartConflict,
    CheckoutSnapshot,
    DiscountExhausted,
    OrderExists,
    OutOfStock,
)
from bolt_merchant.models.discounts import Discount
from bolt_merchant.models.store import Order, OutboxEvent, StoredCart

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_TRANSACTION_ATTEMPTS = 3


def _cart_from(item: Mapping[str, Any]) -> StoredCart:
    """The document, with the status and order id that order.create sets on the item's own attributes."""
    cart = StoredCart.model_validate_json(item["doc"]["S"])
    status = item.get("status", {}).get("S", cart.status)
    order_id = item.get("order_id", {}).get("S", cart.order_id)
    return cart.model_copy(update={"status": status, "order_id": order_id})


def _order_from(item: Mapping[str, Any]) -> Order:
    return Order.model_validate_json(item["doc"]["S"])


def _discount_from(item: Mapping[str, Any]) -> DiscountRecord:
    plain = from_item(item)
    return DiscountRecord(definition=Discount.model_validate_json(plain["doc"]), uses=int(plain.get("uses", 0)))


class DynamoCheckoutStore:
    def __init__(self, client: "DynamoDBClient", catalog_table: str, orders_table: str) -> None:
        self._client = client
        self._catalog = catalog_table
        self._orders = orders_table

    # ------------------------------------------------------------------ reads
    def _batch(self, orders_keys: list[dict[str, Any]], catalog_keys: list[dict[str, Any]]) -> dict[str, list[Any]]:
        request: dict[str, Any] = {}
        if orders_keys:
            request[self._orders] = {"Keys": orders_keys, "ConsistentRead": True}
        if catalog_keys:
            request[self._catalog] = {"Keys": catalog_keys, "ConsistentRead": True}
        found: dict[str, list[Any]] = {self._orders: [], self._catalog: []}
        for _ in range(5):
            if not request:
                return found
            with dependency("checkout read"):
                response = self._client.batch_get_item(RequestItems=request)
            for table, items in response.get("Responses", {}).items():
                found[table].extend(items)
            request = dict(response.get("UnprocessedKeys") or {})
        raise DependencyUnavailable("checkout read kept coming back unprocessed")

    def get_cart(self, cart_id: str) -> StoredCart | None:
        with dependency("cart read"):
            item = self._client.get_item(TableName=self._orders, Key=cart_key(cart_id), ConsistentRead=True).get("Item")
        return _cart_from(item) if item else None

    def get_order(self, order_id: str) -> Order | None:
        with dependency("order read"):
            item = self._client.get_item(TableName=self._orders, Key=order_key(order_id), ConsistentRead=True).get(
                "Item"
            )
        return _order_from(item) if item else None

    def discounts(self, codes: Iterable[str]) -> dict[str, DiscountRecord]:
        keys = [{"pk": {"S": discount_key(code)}} for code in sorted(set(codes))]
        found = self._batch([], keys)[self._catalog]
        records = (_discount_from(item) for item in found)
        return {record.definition.code: record for record in records}

    def snapshot(self, cart_id: str, order_id: str, codes: Iterable[str]) -> CheckoutSnapshot:
        discount_keys = [{"pk": {"S": discount_key(code)}} for code in sorted(set(codes))]
        found = self._batch([cart_key(cart_id), order_key(order_id)], discount_keys)
        cart = order = None
        for item in found[self._orders]:
            if item["sk"]["S"] == "CART":
                cart = _cart_from(item)
            else:
                order = _order_from(item)
        discounts = {r.definition.code: r for r in (_discount_from(i) for i in found[self._catalog])}
        return CheckoutSnapshot(cart=cart, order=order, discounts=discounts)

    # ------------------------------------------------------------------ writes
    def create_cart(self, cart: StoredCart) -> None:
        with dependency("cart write"):
            self._client.put_item(
                TableName=self._orders, Item=cart_item(cart), ConditionExpression="attribute_not_exists(pk)"
            )

    def replace_cart(self, cart: StoredCart, expected_version: int) -> None:
        try:
            with dependency("cart write"):
                self._client.put_item(
                    TableName=self._orders,
                    Item=cart_item(cart),
                    ConditionExpression="#version = :expected AND #status = :open",
                    ExpressionAttributeNames={"#version": "version", "#status": "status"},
                    ExpressionAttributeValues={":expected": {"N": str(expected_version)}, ":open": {"S": "open"}},
                )
        except DependencyUnavailable as exc:
            if (
                isinstance(exc.__cause__, ClientError)
                and error_code(exc.__cause__) == "ConditionalCheckFailedException"
            ):
                raise CartConflict(cart.cart_id) from exc
            raise

    def create_order(self, order: Order, event: OutboxEvent, discount_limits: Mapping[str, int | None]) -> None:
        actions: list[tuple[dict[str, Any], Exception | None]] = [
            (
                {
                    "Put": {
                        "TableName": self._orders,
                        "Item": order_item(order),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                OrderExists(order.order_id),
            ),
            (
                {
                    "Update": {
                        "TableName": self._orders,
                        "Key": cart_key(order.cart_id),
                        "UpdateExpression": "SET #status = :ordered, order_id = :order",
                        "ConditionExpression": "#status = :open",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":ordered": {"S": "ordered"},
                            ":open": {"S": "open"},
                            ":order": {"S": order.order_id},
                        },
                    }
                },
                OrderExists(order.order_id),
            ),
        ]
        for line in order.lines:
            actions.append(
                (
                    {
                        "Update": {
                            "TableName": self._catalog,
                            "Key": {"pk": {"S": product_key(line.sku)}},
                            "UpdateExpression": "SET inventory = inventory - :q ADD reserved :q",
                            "ConditionExpression": "inventory >= :q",
                            "ExpressionAttributeValues": {":q": {"N": str(line.quantity)}},
                        }
                    },
                    OutOfStock(line.sku),
                )
            )
        for discount in order.discounts:
            use = self._count_use(discount.code, discount_limits.get(discount.code))
            actions.append((use, DiscountExhausted(discount.code)))
        actions.append(
            (
                {
                    "Put": {
                        "TableName": self._orders,
                        "Item": event_item(event),
                        "ConditionExpression": "attribute_not_exists(sk)",
                    }
                },
                OrderExists(order.order_id),
            )
        )
        self._transact(actions)

    def _count_use(self, code: str, limit: int | None) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self._catalog,
            "Key": {"pk": {"S": discount_key(code)}},
            "UpdateExpression": "ADD uses :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
        if limit is not None:
            update["ConditionExpression"] = "attribute_not_exists(uses) OR uses < :limit"
            update["ExpressionAttributeValues"][":limit"] = {"N": str(limit)}
        return {"Update": update}

    def _transact(self, actions: list[tuple[dict[str, Any], Exception | None]]) -> None:
        """One all-or-nothing write. A failed condition names the action that failed; a conflict with another
        transaction is retried briefly and then reported as retryable."""
        for attempt in range(_TRANSACTION_ATTEMPTS):
            try:
                self._client.transact_write_items(TransactItems=[action for action, _ in actions])  # type: ignore[misc]
                return
            except BotoCoreError as exc:
                raise DependencyUnavailable(f"order write unreachable: {type(exc).__name__}") from exc
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise DependencyUnavailable(f"order write failed: {error_code(exc)}") from exc
                reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
                for (_, failure), reason in zip(actions, reasons, strict=False):
                    if reason == "ConditionalCheckFailed" and failure is not None:
                        raise failure from exc
                if attempt + 1 < _TRANSACTION_ATTEMPTS:
                    time.sleep(0.05 * (attempt + 1))
        raise DependencyUnavailable("order write kept conflicting with other transactions")
