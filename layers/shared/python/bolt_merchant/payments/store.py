"""Order transitions in the orders table: the order, its ledger entries, outbox events, the payment reference
index and stock released or restocked, in one transaction; and the ledger read back for the operator."""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from bolt_merchant.catalog import discount_key, product_key
from bolt_merchant.core.aws import dependency, dynamodb, error_code, failure
from bolt_merchant.core.errors import DependencyUnavailable
from bolt_merchant.core.settings import per_container, settings
from bolt_merchant.orders import cart_key
from bolt_merchant.orders.models import Order
from bolt_merchant.orders.table import DynamoOrderReader, event_item, order_item
from bolt_merchant.payments.transactions import LedgerEntry, LedgerRecord, StaleOrder, Transition

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


_MAX_LEDGER_PAGES = 10


def _ledger_record(item: Mapping[str, Any]) -> LedgerRecord:
    def text(name: str) -> str:
        return str(item.get(name, {}).get("S", ""))

    return LedgerRecord(
        key=text("sk").removeprefix("TX#"),
        hook_type=text("hook_type"),
        transaction_id=text("transaction_id") or None,
        amount=int(item.get("amount", {}).get("N", "0")),
        applied=bool(item.get("applied", {}).get("BOOL", False)),
        note=text("note"),
        recorded_at=text("recorded_at"),
    )


class DynamoTransactionStore(DynamoOrderReader):
    def __init__(self, client: "DynamoDBClient", catalog_table: str, orders_table: str) -> None:
        super().__init__(client, orders_table)
        self._catalog = catalog_table

    def cart_exists(self, cart_id: str) -> bool:
        with dependency("cart read"):
            item = self._client.get_item(
                TableName=self._orders, Key=cart_key(cart_id), ConsistentRead=True, ProjectionExpression="pk"
            ).get("Item")
        return item is not None

    def ledger(self, order_id: str) -> list[LedgerRecord]:
        request: dict[str, Any] = {
            "TableName": self._orders,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :ledger)",
            "ExpressionAttributeValues": {":pk": {"S": f"ORDER#{order_id}"}, ":ledger": {"S": "TX#"}},
            "ConsistentRead": True,
        }
        records: list[LedgerRecord] = []
        for _ in range(_MAX_LEDGER_PAGES):
            with dependency("ledger read"):
                page = self._client.query(**request)
            records += [_ledger_record(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return records

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


@per_container
def transaction_store() -> DynamoTransactionStore:
    config = settings()
    return DynamoTransactionStore(dynamodb(), config.require("catalog_table"), config.require("orders_table"))
