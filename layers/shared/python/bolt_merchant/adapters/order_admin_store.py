"""The back office's view of the orders table: the order, its TX# ledger, and transitions that may restock items."""

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bolt_merchant.adapters.aws import dependency, error_code
from bolt_merchant.adapters.catalog_repository import product_key
from bolt_merchant.adapters.checkout_store import event_item, order_item
from bolt_merchant.adapters.transaction_store import DynamoTransactionStore, ledger_item, reference_key
from bolt_merchant.domain.backoffice import LedgerRecord
from bolt_merchant.domain.errors import DependencyUnavailable
from bolt_merchant.domain.transactions import Transition
from bolt_merchant.domain.webhooks import StaleOrder
from bolt_merchant.models.store import Order

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


class DynamoOrderAdminStore(DynamoTransactionStore):
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

    def apply_change(self, before: Order, transition: Transition, restock: Mapping[str, int]) -> None:
        if not restock:
            self.apply_transition(before, transition)
            return
        # The same items apply_transition writes (kept in step with it), plus the units going back into stock.
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
        actions += [
            {
                "Update": {
                    "TableName": self._catalog,
                    "Key": {"pk": {"S": product_key(sku)}},
                    "UpdateExpression": "ADD inventory :q, reserved :minus",
                    "ExpressionAttributeValues": {":q": {"N": str(units)}, ":minus": {"N": str(-units)}},
                }
            }
            for sku, units in sorted(restock.items())
        ]
        try:
            self._client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except BotoCoreError as exc:
            raise DependencyUnavailable(f"order change unreachable: {type(exc).__name__}") from exc
        except ClientError as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if error_code(exc) == "TransactionCanceledException" and "ConditionalCheckFailed" in reasons:
                raise StaleOrder(order.order_id) from exc
            raise DependencyUnavailable(f"order change failed: {error_code(exc)}") from exc
