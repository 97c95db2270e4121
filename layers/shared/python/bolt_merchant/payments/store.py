"""Payments in the orders table: each order change with its ledger entries, outbox events, the payment reference
index and the stock it releases or restocks, in one transaction; orders recovered from a webhook; the ledger read
back for the operator; and the attention index (held orders, open payments, webhooks waiting for an order, back
office answers not yet applied) that reconciliation works through."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from bolt_merchant.catalog import product_key, stock_key, stock_reservation, uses_change
from bolt_merchant.catalog.inventory import slots_for
from bolt_merchant.core.aws import batch_get, condition_failed, dependency, dynamodb, error_code, failure, from_item
from bolt_merchant.core.errors import DependencyUnavailable
from bolt_merchant.core.settings import per_container, settings
from bolt_merchant.orders import cart_key, epoch
from bolt_merchant.orders.models import Order, OutboxEvent
from bolt_merchant.orders.table import (
    ATTENTION_AT,
    ATTENTION_INDEX,
    ATTENTION_KEY,
    RECONCILE_AFTER,
    DynamoOrderReader,
    attention_attributes,
    event_item,
    order_item,
)
from bolt_merchant.payments.transactions import LedgerEntry, LedgerRecord, StaleOrder, TransactionEvent, Transition

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_MAX_LEDGER_PAGES = 10
_MARKER_RETENTION = timedelta(days=30)


def reference_key(reference: str) -> dict[str, Any]:
    return {"pk": {"S": f"BOLTREF#{reference}"}, "sk": {"S": "BOLTREF"}}


def waiting_key(name: str) -> dict[str, Any]:
    return {"pk": {"S": f"WAITING#{name}"}, "sk": {"S": "WAITING"}}


def pending_answer_key(order_id: str, operation_key: str) -> dict[str, Any]:
    """Apart from the order's own items, so the functions may delete these (IAM: dynamodb:LeadingKeys) and
    never an order."""
    return {"pk": {"S": f"PENDING#{order_id}"}, "sk": {"S": operation_key}}


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
        "source": {"S": entry.source},
        "recorded_at": {"S": order.updated_at.isoformat()},
    }


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
        source=text("source") or "webhook",
    )


@dataclass(frozen=True)
class AttentionItem:
    """One entry of the attention index: an order, a webhook waiting for its order, or a back-office answer that
    could not be applied yet. `key` is the item's table key (pending items are deleted with it once applied)."""

    kind: str  # "order" | "waiting" | "pending_answer"
    due: datetime
    order_id: str | None
    reasons: list[str]
    key: dict[str, Any]
    payment_reference: str | None = None
    event: TransactionEvent | None = None


@dataclass(frozen=True)
class AttentionPage:
    items: list[AttentionItem]
    cursor: str | None  # pass back for the next page; None at the end


class DynamoTransactionStore(DynamoOrderReader):
    def __init__(
        self,
        client: "DynamoDBClient",
        catalog_table: str,
        orders_table: str,
        reconcile_after: timedelta = RECONCILE_AFTER,
    ) -> None:
        super().__init__(client, orders_table)
        self._catalog = catalog_table
        self._reconcile_after = reconcile_after

    # ------------------------------------------------------------------ reads
    def cart_exists(self, cart_id: str) -> bool:
        with dependency("cart read"):
            item = self._client.get_item(
                TableName=self._orders, Key=cart_key(cart_id), ConsistentRead=True, ProjectionExpression="pk"
            ).get("Item")
        return item is not None

    def order_id_for_reference(self, reference: str) -> str | None:
        with dependency("reference read"):
            item = self._client.get_item(TableName=self._orders, Key=reference_key(reference)).get("Item")
        return item["order_id"]["S"] if item else None

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

    def stock(self, skus: Sequence[str]) -> dict[str, dict[int, int]]:
        """Units available now per sku and stock shard (consistent reads); unknown skus are absent."""
        keys = [{"pk": {"S": product_key(sku)}} for sku in sorted(set(skus))]
        if not keys:
            return {}
        projection = "pk, inventory, stock_shards, shard_slots"
        request = {self._catalog: {"Keys": keys, "ConsistentRead": True, "ProjectionExpression": projection}}
        products = batch_get(self._client, request, "stock read")[self._catalog]
        levels: dict[str, dict[int, int]] = {}
        shard_keys: dict[str, tuple[str, int]] = {}
        for item in products:
            plain = from_item(item)
            sku = str(plain["pk"]).removeprefix("PRODUCT#")
            levels[sku] = {0: int(plain.get("inventory", 0))}
            for shard in slots_for(int(plain.get("stock_shards", 1)), int(plain.get("shard_slots", 1)))[1:]:
                levels[sku][shard] = 0
                shard_keys[stock_key(sku, shard)["pk"]["S"]] = (sku, shard)
        keys = [{"pk": {"S": pk}} for pk in sorted(shard_keys)]
        for start in range(0, len(keys), 100):
            chunk = keys[start : start + 100]
            request = {self._catalog: {"Keys": chunk, "ConsistentRead": True, "ProjectionExpression": "pk, inventory"}}
            for item in batch_get(self._client, request, "stock read")[self._catalog]:
                sku, shard = shard_keys[item["pk"]["S"]]
                levels[sku][shard] = int(item.get("inventory", {}).get("N", "0"))
        return levels

    # ------------------------------------------------------------------ order changes
    def apply_transition(
        self,
        before: Order,
        transition: Transition,
        restock: Mapping[str, int] | None = None,
        done: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """One transaction: the order (if still at before.version), its ledger entries, outbox events, the payment
        reference index, released stock and discount uses on cancellation, any units an operator restocks, and the
        attention items (`done`: their keys) this change settles. Raises StaleOrder if the order moved on."""
        order = transition.order
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._orders,
                    "Item": order_item(order, self._reconcile_after),
                    "ConditionExpression": "#version = :expected",
                    "ExpressionAttributeNames": {"#version": "version"},
                    "ExpressionAttributeValues": {":expected": {"N": str(before.version)}},
                }
            }
        ]
        actions += self._records(order, transition.ledger, transition.events)
        if order.bolt_transaction_reference and before.bolt_transaction_reference is None:
            actions.append(self._reference(order))
        if transition.release_inventory:
            actions += self._releases(before)
        actions += self._stock_returns(before.shards_returning(restock or {}))
        actions += [{"Delete": {"TableName": self._orders, "Key": dict(key)}} for key in done]
        self._transact(actions, order.order_id)

    def create_recovered(
        self, order: Order, taken: Mapping[str, Mapping[int, int]], events: Sequence[OutboxEvent], cart_stored: bool
    ) -> None:
        """An order recovered from a webhook, in one transaction: the order, `taken` units reserved from each stock
        shard (each only if still available there: never below zero), its discount uses counted (on the shards
        order.discount_shards names), the stored cart closed. Raises StaleOrder
        when stock moved meanwhile (read it again) and OrderExists-like conflicts as StaleOrder too: the caller
        reads the order again and finds it."""
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._orders,
                    "Item": order_item(order, self._reconcile_after),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        actions += self._records(order, [], events)
        if order.bolt_transaction_reference:
            actions.append(self._reference(order))
        actions += [
            stock_reservation(self._catalog, sku, shard, units)
            for sku, shards in sorted(taken.items())
            for shard, units in sorted(shards.items())
        ]
        actions += self._uses_changes(order, 1)
        if cart_stored:
            actions.append(
                {
                    "Update": {
                        "TableName": self._orders,
                        "Key": cart_key(order.cart_id),
                        "UpdateExpression": "SET #status = :ordered, order_id = :order",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {":ordered": {"S": "ordered"}, ":order": {"S": order.order_id}},
                    }
                }
            )
        self._transact(actions, order.order_id)

    def _records(
        self, order: Order, ledger: Sequence[LedgerEntry], events: Sequence[OutboxEvent]
    ) -> list[dict[str, Any]]:
        puts: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._orders,
                    "Item": ledger_item(order, entry),
                    "ConditionExpression": "attribute_not_exists(sk)",
                }
            }
            for entry in ledger
        ]
        return puts + [{"Put": {"TableName": self._orders, "Item": event_item(event)}} for event in events]

    def _reference(self, order: Order) -> dict[str, Any]:
        assert order.bolt_transaction_reference is not None
        item = {**reference_key(order.bolt_transaction_reference), "order_id": {"S": order.order_id}}
        return {"Put": {"TableName": self._orders, "Item": item}}

    def _transact(self, actions: list[dict[str, Any]], order_id: str) -> None:
        try:
            self._client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except BotoCoreError as exc:
            raise DependencyUnavailable(f"order transition unreachable: {type(exc).__name__}") from exc
        except ClientError as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if error_code(exc) == "TransactionCanceledException" and (
                "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons
            ):
                raise StaleOrder(order_id) from exc
            raise failure("order transition", exc) from exc

    def _stock_returns(self, units: Mapping[str, Mapping[int, int]]) -> list[dict[str, Any]]:
        """Units back into the stock shards they were reserved from (sku -> shard -> units)."""
        return [
            {
                "Update": {
                    "TableName": self._catalog,
                    "Key": stock_key(sku, shard),
                    "UpdateExpression": "ADD inventory :q, reserved :minus",
                    "ExpressionAttributeValues": {":q": {"N": str(count)}, ":minus": {"N": str(-count)}},
                }
            }
            for sku, shards in sorted(units.items())
            for shard, count in sorted(shards.items())
        ]

    def _releases(self, order: Order) -> list[dict[str, Any]]:
        """Give back the stock an order holds and its discount uses, when it will never be paid."""
        return self._stock_returns(order.units_held_by_shard()) + self._uses_changes(order, -1)

    def _uses_changes(self, order: Order, delta: int) -> list[dict[str, Any]]:
        """Each of the order's discount codes counted (1) or given back (-1), on the usage shard it was counted on."""
        return [
            uses_change(self._catalog, discount.code, order.discount_shards.get(discount.code, 0), delta)
            for discount in order.discounts
        ]

    # ------------------------------------------------------------------ attention
    def waiting_since(self, event: TransactionEvent, order_id: str | None, now: datetime) -> datetime:
        """When a webhook about this payment first found no order: the first call records it (an attention item
        reconciliation will resolve if no webhook does), later calls read it."""
        name = order_id or event.payment_reference or "unknown"
        item = {
            **waiting_key(name),
            "kind": {"S": "waiting"},
            "first_seen": {"S": now.isoformat()},
            "event": {"S": json.dumps(event.to_json())},
            "expires_at": epoch(now + _MARKER_RETENTION),
            **attention_attributes(now, []),
            **({"order_id": {"S": order_id}} if order_id else {}),
        }
        try:
            with dependency("waiting marker write"):
                self._client.put_item(
                    TableName=self._orders,
                    Item=item,
                    ConditionExpression="attribute_not_exists(pk)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except DependencyUnavailable as exc:
            collision = condition_failed(exc)
            if collision is None:
                raise
            first_seen: dict[str, Any] = collision.response.get("Item", {}).get("first_seen", {})  # type: ignore[attr-defined]
            return datetime.fromisoformat(first_seen.get("S", now.isoformat()))
        return now

    def record_pending_answer(self, order_id: str, operation_key: str, event: TransactionEvent, now: datetime) -> None:
        """Bolt's answer to an operator action that could not be applied to the order yet: kept durably for
        reconciliation to apply (no webhook will bring it: our actions skip Bolt's notifications)."""
        item = {
            **pending_answer_key(order_id, operation_key),
            "kind": {"S": "pending_answer"},
            "order_id": {"S": order_id},
            "event": {"S": json.dumps(event.to_json())},
            **attention_attributes(now, ["unrecorded_backoffice_answer"]),
        }
        with dependency("pending answer write"):
            self._client.put_item(TableName=self._orders, Item=item)

    def postpone(self, key: Mapping[str, Any], now: datetime) -> None:
        """The item's next check RECONCILE_AFTER from now (if it is still in the index)."""
        with dependency("attention postpone"):
            try:
                self._client.update_item(
                    TableName=self._orders,
                    Key=dict(key),
                    UpdateExpression="SET #at = :at",
                    ConditionExpression="attribute_exists(#at)",
                    ExpressionAttributeNames={"#at": ATTENTION_AT},
                    ExpressionAttributeValues={":at": {"S": (now + self._reconcile_after).isoformat()}},
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                return  # it left the index meanwhile

    def forget(self, key: Mapping[str, Any]) -> None:
        with dependency("attention item delete"):
            self._client.delete_item(TableName=self._orders, Key=dict(key))

    def pending_answers(self, order_id: str) -> list[AttentionItem]:
        with dependency("pending answers read"):
            items = self._client.query(
                TableName=self._orders,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"PENDING#{order_id}"}},
                ConsistentRead=True,
            ).get("Items", [])
        return [_attention_item(item) for item in items]

    def attention(
        self, limit: int, cursor: str | None = None, due_before: datetime | None = None, newest_first: bool = True
    ) -> AttentionPage:
        """A page of the attention index, newest first (operators) or oldest first (reconciliation), optionally
        only what is due by `due_before`."""
        request: dict[str, Any] = {
            "TableName": self._orders,
            "IndexName": ATTENTION_INDEX,
            "KeyConditionExpression": "#attention = :due",
            "ExpressionAttributeNames": {"#attention": ATTENTION_KEY},
            "ExpressionAttributeValues": {":due": {"S": "due"}},
            "ScanIndexForward": not newest_first,
            "Limit": limit,
        }
        if due_before is not None:
            request["KeyConditionExpression"] += " AND #at <= :before"
            request["ExpressionAttributeNames"]["#at"] = ATTENTION_AT
            request["ExpressionAttributeValues"][":before"] = {"S": due_before.isoformat()}
        if cursor:
            request["ExclusiveStartKey"] = json.loads(cursor)
        with dependency("attention read"):
            page = self._client.query(**request)
        last = page.get("LastEvaluatedKey")
        return AttentionPage(
            items=[_attention_item(item) for item in page.get("Items", [])],
            cursor=json.dumps(last, sort_keys=True) if last else None,
        )

    def items(self, keys: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Whole items for attention keys (the index holds keys and reasons only)."""
        if not keys:
            return []
        request = {self._orders: {"Keys": [dict(key) for key in keys], "ConsistentRead": True}}
        return batch_get(self._client, request, "attention items read")[self._orders]


def _attention_item(item: Mapping[str, Any]) -> AttentionItem:
    plain = from_item(item)
    kind = str(plain.get("kind", "order"))
    key = {"pk": item["pk"], "sk": item["sk"]}
    order_id = plain.get("order_id")
    if kind == "order":
        order_id = str(plain["pk"]).removeprefix("ORDER#")
    stored = plain.get("event")
    event = TransactionEvent.from_json(json.loads(stored)) if isinstance(stored, str) else None
    reasons = [reason for reason in str(plain.get("hold_reasons", "")).split(",") if reason]
    return AttentionItem(
        kind=kind,
        due=datetime.fromisoformat(str(plain[ATTENTION_AT])),
        order_id=str(order_id) if order_id else None,
        reasons=reasons,
        key=key,
        payment_reference=event.payment_reference if event else None,
        event=event,
    )


@per_container
def transaction_store() -> DynamoTransactionStore:
    config = settings()
    return DynamoTransactionStore(
        dynamodb(),
        config.require("catalog_table"),
        config.require("orders_table"),
        timedelta(seconds=config.reconcile_after_seconds),
    )
