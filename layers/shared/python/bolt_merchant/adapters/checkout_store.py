"""Orders and their outbox events in the orders table, created by order.create with the cart, stock and
discount uses they change, in one transaction.
"""

import time
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bolt_merchant.adapters.aws import error_code, failure
from bolt_merchant.adapters.cart_store import DynamoCartStore, discount_keys, discount_records
from bolt_merchant.adapters.catalog_table import discount_key, product_key
from bolt_merchant.adapters.order_reader import order_from_item, read_order
from bolt_merchant.adapters.orders_table import cart_from_item, cart_key, event_item, order_item, order_key
from bolt_merchant.domain.errors import DependencyUnavailable, RequestRefused
from bolt_merchant.domain.ports import CheckoutSnapshot, DiscountExhausted, OrderExists, OutOfStock
from bolt_merchant.models.orders import Order, OutboxEvent

_TRANSACTION_ATTEMPTS = 3


class DynamoCheckoutStore(DynamoCartStore):
    def get_order(self, order_id: str) -> Order | None:
        return read_order(self._client, self._orders, order_id)

    def snapshot(self, cart_id: str, order_id: str, codes: Iterable[str]) -> CheckoutSnapshot:
        found = self._batch([cart_key(cart_id), order_key(order_id)], discount_keys(codes))
        cart = order = None
        for item in found[self._orders]:
            if item["sk"]["S"] == "CART":
                cart = cart_from_item(item)
            else:
                order = order_from_item(item)
        return CheckoutSnapshot(cart=cart, order=order, discounts=discount_records(found[self._catalog]))

    # ------------------------------------------------------------------ writes
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
                outcome = failure("order write", exc)
                if isinstance(outcome, RequestRefused) or error_code(exc) != "TransactionCanceledException":
                    raise outcome from exc
                reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
                for (_, condition_failed), reason in zip(actions, reasons, strict=False):
                    if reason == "ConditionalCheckFailed" and condition_failed is not None:
                        raise condition_failed from exc
                if attempt + 1 < _TRANSACTION_ATTEMPTS:
                    time.sleep(0.05 * (attempt + 1))
        raise DependencyUnavailable("order write kept conflicting with other transactions")
