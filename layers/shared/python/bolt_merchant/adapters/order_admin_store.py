"""The back office's view of the orders table: the order, its TX# ledger, and transitions that may restock items."""

from collections.abc import Mapping
from typing import Any

from bolt_merchant.adapters.aws import dependency
from bolt_merchant.adapters.transaction_store import DynamoTransactionStore
from bolt_merchant.domain.backoffice import LedgerRecord
from bolt_merchant.domain.transactions import Transition
from bolt_merchant.models.orders import Order

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
        self.apply_transition(before, transition, restock)
