"""Two fixes to moto's TransactWriteItems, which the local stack depends on under load.

- Rollback: moto backs a transaction up by deep-copying each table it touches once per action, stream records
  included, and swaps those copies in when it cancels. Under load that was most of the stack's CPU and gigabytes
  of memory, and a swapped-in table left the stream pollers reading a shard that no longer existed. Here the
  backup is per item (what each action's key held before) plus the length of each table's stream.
- Idempotency: DynamoDB answers a TransactWriteItems repeated with the same ClientRequestToken within 10 minutes
  with success and no second write; botocore sets a token per call and keeps it across its retries. moto applies
  the retry again, so a transaction retried after a slow answer would cancel against its own first attempt.

`faithful_transactions()` patches moto's classes in this process while the embedded AWS serves. Every DynamoDB
call of the local stack runs under one lock (devstack/aws.py), so this state needs no lock of its own.

And one fault injector, off unless asked for (`contention()`; the local stack's LOCAL_TRANSACTION_CONFLICT_MS and
LOCAL_ITEM_WCU_PER_SECOND): DynamoDB cancels a TransactWriteItems that touches an item another transaction is
still writing (TransactionConflict) and throttles an item written beyond its rate (~1,000 WCU/s; a transactional
write of a small item costs 2 WCU). moto does neither, and the local stack serialises every call, so overlap is
played as time: an item a transaction committed less than `hold_seconds` ago is still "being written".
"""

import copy
import hashlib
import json
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.core.responses import ActionResult
from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException, TransactionCanceledException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

TOKEN_VALIDITY_SECONDS = 600.0


class IdempotentParameterMismatch(DynamodbException):
    def __init__(self) -> None:
        super().__init__(
            ERROR_TYPE_PREFIX + "IdempotentParameterMismatchException",
            "The request uses the same client token as a previous, but non-identical request.",
        )


@dataclass(frozen=True)
class ItemBackup:
    table: Table
    hash_key: DynamoType
    range_key: DynamoType | None
    item: Item | None  # a copy: moto updates items in place

    def restore(self) -> None:
        items: Any = self.table.items
        if self.range_key is None:
            if self.item is None:
                items.pop(self.hash_key, None)
            else:
                items[self.hash_key] = self.item
        elif self.item is None:
            items[self.hash_key].pop(self.range_key, None)
        else:
            items[self.hash_key][self.range_key] = self.item


class TransactionUndoLog:
    """What a transaction's actions may change: each addressed item as it was, and each stream's length."""

    def __init__(self, backend: DynamoDBBackend, transact_items: Sequence[Mapping[str, Any]]) -> None:
        self.tables: dict[str, Table] = {}
        self._items: list[ItemBackup] = []
        for action in transact_items:
            for operation, parameters in action.items():
                self._remember(backend, operation, parameters)
        self._stream_lengths = {
            name: len(table.stream_shard.items) for name, table in self.tables.items() if table.stream_shard
        }

    def _remember(self, backend: DynamoDBBackend, operation: str, parameters: Mapping[str, Any]) -> None:
        table = backend.tables.get(parameters.get("TableName", ""))
        key = parameters.get("Item" if operation == "Put" else "Key")
        if table is None or not isinstance(key, Mapping):
            return  # moto refuses the action before writing anything for it
        try:
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            current = table.get_item(hash_key, range_key)
        except (KeyError, TypeError, DynamodbException):
            return  # a malformed key: moto refuses the action itself, before any write
        self.tables[table.name] = table
        self._items.append(ItemBackup(table, hash_key, range_key, copy.deepcopy(current)))

    def roll_back(self) -> None:
        for backup in reversed(self._items):
            backup.restore()
        for name, length in self._stream_lengths.items():
            shard = self.tables[name].stream_shard
            if shard is not None:
                del shard.items[length:]


@contextmanager
def tables_not_copied(tables: Sequence[Table]) -> Iterator[None]:
    """moto's whole-table backup becomes the table itself, so its rollback swaps a table for itself: a no-op."""
    for table in tables:
        table.__deepcopy__ = lambda _memo, table=table: table  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for table in tables:
            del table.__deepcopy__  # type: ignore[attr-defined]


def transact_with_item_rollback(original: Callable[[DynamoDBBackend, list[dict[str, Any]]], None]) -> Any:
    def transact_write_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        undo = TransactionUndoLog(backend, transact_items)
        with tables_not_copied(list(undo.tables.values())):
            try:
                original(backend, transact_items)
            except Exception:
                undo.roll_back()
                raise

    return transact_write_items


class ClientTokens:
    """ClientRequestToken -> fingerprint of the request it committed, for TOKEN_VALIDITY_SECONDS."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._committed: OrderedDict[str, tuple[str, float]] = OrderedDict()

    @staticmethod
    def fingerprint(body: Mapping[str, Any]) -> str:
        request = {name: value for name, value in body.items() if name != "ClientRequestToken"}
        return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()

    def already_committed(self, token: str, fingerprint: str) -> bool:
        now = self._clock()
        while self._committed and next(iter(self._committed.values()))[1] <= now:
            self._committed.popitem(last=False)
        seen = self._committed.get(token)
        if seen is None:
            return False
        if seen[0] != fingerprint:
            raise IdempotentParameterMismatch()
        return True

    def commit(self, token: str, fingerprint: str) -> None:
        self._committed[token] = (fingerprint, self._clock() + TOKEN_VALIDITY_SECONDS)


def transact_with_client_token(original: Callable[[DynamoHandler], ActionResult], tokens: ClientTokens) -> Any:
    def transact_write_items(handler: DynamoHandler) -> ActionResult:
        token = handler.body.get("ClientRequestToken")
        if not token:
            return original(handler)
        fingerprint = tokens.fingerprint(handler.body)
        if tokens.already_committed(token, fingerprint):
            return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
        result = original(handler)
        tokens.commit(token, fingerprint)
        return result

    return transact_write_items


@contextmanager
def faithful_transactions() -> Iterator[None]:
    """moto's TransactWriteItems with item-level rollback and client tokens, in this process, until exit."""
    backend_original = DynamoDBBackend.transact_write_items
    handler_original = DynamoHandler.transact_write_items
    DynamoDBBackend.transact_write_items = transact_with_item_rollback(backend_original)  # type: ignore[method-assign]
    DynamoHandler.transact_write_items = transact_with_client_token(  # type: ignore[method-assign]
        handler_original, ClientTokens()
    )
    try:
        yield
    finally:
        DynamoDBBackend.transact_write_items = backend_original  # type: ignore[method-assign]
        DynamoHandler.transact_write_items = handler_original  # type: ignore[method-assign]


TRANSACTIONAL_WCU = 2  # a transactional write of an item up to 1 KB


@dataclass
class Contention:
    """DynamoDB's contention on single items, played on moto's TransactWriteItems (see the module docstring).

    `hold_seconds`: how long after a transaction commits its items still conflict with another (0: never).
    `item_wcu_per_second`: each item's write capacity (None: unlimited); an action costs TRANSACTIONAL_WCU, and an
    item may burst one second's worth. `cancelled` counts the cancellations by reason."""

    hold_seconds: float = 0.0
    item_wcu_per_second: float | None = None
    clock: Callable[[], float] = time.monotonic
    cancelled: Counter[str] = field(default_factory=Counter)
    _busy_until: dict[tuple[str, str], float] = field(default_factory=dict)
    _capacity: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _items(self, backend: DynamoDBBackend, transact_items: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
        touched = []
        for action in transact_items:
            for operation, parameters in action.items():
                table = backend.tables.get(parameters.get("TableName", ""))
                key = parameters.get("Item" if operation == "Put" else "Key")
                if table is None or not isinstance(key, Mapping):
                    touched.append(("", ""))
                    continue
                names = [table.hash_key_attr, *([table.range_key_attr] if table.range_key_attr else [])]
                touched.append((table.name, json.dumps([key.get(name) for name in names], sort_keys=True)))
        return touched

    def _refill(self, item: tuple[str, str], now: float) -> float:
        assert self.item_wcu_per_second is not None
        tokens, since = self._capacity.get(item, (self.item_wcu_per_second, now))
        return min(self.item_wcu_per_second, tokens + (now - since) * self.item_wcu_per_second)

    def admit(self, backend: DynamoDBBackend, transact_items: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
        """The transaction's items, or TransactionCanceledException with DynamoDB's reason for each action."""
        items = self._items(backend, transact_items)
        now = self.clock()
        reasons: list[str | None] = []
        for item in items:
            if item[0] and self._busy_until.get(item, 0.0) > now:
                reasons.append("TransactionConflict")
            elif item[0] and self.item_wcu_per_second is not None and self._refill(item, now) < TRANSACTIONAL_WCU:
                reasons.append("ThrottlingError")
            else:
                reasons.append(None)
        if any(reasons):
            for reason in reasons:
                if reason:
                    self.cancelled[reason] += 1
            raise TransactionCanceledException(
                [(reason, _MESSAGES[reason], None) if reason else (None, None, None) for reason in reasons]
            )
        return items

    def committed(self, items: Sequence[tuple[str, str]]) -> None:
        now = self.clock()
        for item in items:
            if not item[0]:
                continue
            if self.hold_seconds:
                self._busy_until[item] = now + self.hold_seconds
            if self.item_wcu_per_second is not None:
                self._capacity[item] = (self._refill(item, now) - TRANSACTIONAL_WCU, now)

    def wrap(self, original: Callable[[DynamoDBBackend, list[dict[str, Any]]], None]) -> Any:
        def transact_write_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
            with self._lock:
                items = self.admit(backend, transact_items)
                original(backend, transact_items)
                self.committed(items)

        return transact_write_items


_MESSAGES = {
    "TransactionConflict": "Transaction is ongoing for the item",
    "ThrottlingError": "Throughput exceeds the current capacity for one or more items",
}


@contextmanager
def contention(faults: Contention) -> Iterator[Contention]:
    """moto's TransactWriteItems with DynamoDB's per-item contention, in this process, until exit."""
    original = DynamoDBBackend.transact_write_items
    DynamoDBBackend.transact_write_items = faults.wrap(original)  # type: ignore[method-assign]
    try:
        yield faults
    finally:
        DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]
