"""Order transitions from transaction webhooks: order, ledger, outbox and stock release in one transaction."""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from bolt_merchant.adapters.aws import dependency, error_code, failure
from bolt_merchant.adapters.catalog_table import discount_key, product_key
from bolt_merchant.adapters.order_reader import DynamoOrderReader
from bolt_merchant.adapters.orders_table import event_item, order_item, read_cart
from bolt_merchant.domain.errors import DependencyUnavailable
from bolt_merchant.domain.transactions import LedgerEntry, StaleOrder, Transition
from bolt_merchant.models.carts import StoredCart
from bolt_merchant.models.orders import Order

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def reference_key(reference: str) -> dict[str, Any]:
    return {"pk": {"S": f"BOLTREF#{reference}"}, "sk": {"S": "BOLTREF"}}


def ledger_item(order: Order, entry: LedgerEntry) -> dict[str, Any]:
    return {
        "pk": {"S": f"ORDER#{order.order_id}"},
        "sk": {"S": f"TX#{entry.key}"},
        "kind": {"S": "ledger"},
        "hook_type": {"S": entry.hook_type},
        "transaction_id": {"S": entry.transaction_id or ""},
        "amount": {"N": str(entry.amount)},
        "applied": {"BOOL": entry.applied},
        "note": {"S": entry.note},
        "recorded_at": {"S": order.updated_at.isoformat()},
    }


class DynamoTransactionStore(DynamoOrderReader):
    def __init__(self, client: "DynamoDBClient", catalog_table: str, orders_table: str) -> None:
        super().__init__(client, orders_table)
        self._catalog = catalog_table

    def get_cart(self, cart_id: str) -> StoredCart | None:
        return read_cart(self._client, self._orders, cart_id)

    def order_id_for_reference(self, reference: str) -> str | None:
        with dependency("reference read"):
            item = self._client.get_item(TableName=self._orders, Key=reference_key(reference)).get("Item")
        return item["order_id"]["S"] if item else None

    def apply_transition(self, before: Order, transition: Transition, restock: Mapping[str, int] | None = None) -> None:
        """One transaction: the order (if still at before.version), its ledger entries, outbox events, the payment
        reference index, released stock and discount uses on cancellation, and any units an operator restocks."""
        order = transition.order
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._orders,
                    "Item": order_item(order),
                    "ConditionExpression": "#version = :expected",
                    "ExpressionAttributeNames": {"#version": "version"},
                    "ExpressionAttributeValues": {":expected": {"N": str(before.version)}},
                }
            }
        ]
        actions += [
            {
                "Put": {
                    "TableName": self._orders,
                    "Item": ledger_item(order, entry),
                    "ConditionExpression": "attribute_not_exists(sk)",
                }
            }
            for entry in transition.ledger
        ]
        actions += [{"Put": {"TableName": self._orders, "Item": event_item(event)}} for event in transition.events]
        if order.bolt_transaction_reference and before.bolt_transaction_reference is None:
            item = {**reference_key(order.bolt_transaction_reference), "order_id": {"S": order.order_id}}
            actions.append({"Put": {"TableName": self._orders, "Item": item}})
        if transition.release_inventory:
            actions += self._releases(order)
        actions += self._stock_returns(restock or {})
        try:
            self._client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except BotoCoreError as exc:
            raise DependencyUnavailable(f"order transition unreachable: {type(exc).__name__}") from exc
        except ClientError as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if error_code(exc) == "TransactionCanceledException" and "ConditionalCheckFailed" in reasons:
                raise StaleOrder(order.order_id) from exc
            raise failure("order transition", exc) from exc

    def _stock_returns(self, units: Mapping[str, int]) -> list[dict[str, Any]]:
        return [
            {
                "Update": {
                    "TableName": self._catalog,
                    "Key": {"pk": {"S": product_key(sku)}},
                    "UpdateExpression": "ADD inventory :q, reserved :minus",
                    "ExpressionAttributeValues": {":q": {"N": str(count)}, ":minus": {"N": str(-count)}},
                }
            }
            for sku, count in sorted(units.items())
        ]

    def _releases(self, order: Order) -> list[dict[str, Any]]:
        """Give back reserved stock and discount uses of an order that will never be paid."""
        uses = [
            {
                "Update": {
                    "TableName": self._catalog,
                    "Key": {"pk": {"S": discount_key(discount.code)}},
                    "UpdateExpression": "ADD uses :minus",
                    "ExpressionAttributeValues": {":minus": {"N": "-1"}},
                }
            }
            for discount in order.discounts
        ]
        return self._stock_returns({line.sku: line.quantity for line in order.lines}) + uses
