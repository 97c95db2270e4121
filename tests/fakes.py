"""In-memory fakes of the layer's ports, for rule tests that need no moto, no handler and no network.

`Shop` holds what the catalog and orders tables hold: products with their live stock and reservations, discount
codes with their use counters, carts, orders, the payment ledger, outbox events and the payment-reference index. The
store fakes read and write it under the contracts of the DynamoDB stores they stand in for:

  CatalogReader     MemoryCatalog              (catalog/store.py DynamoCatalog, without its cache)
  CartStore         MemoryCheckoutStore        (checkout/store.py DynamoCartStore)
  CheckoutStore     MemoryCheckoutStore        (checkout/order_create.py DynamoCheckoutStore)
  TransactionStore  MemoryTransactionStore     (payments/store.py DynamoTransactionStore)
  OrderAdminStore   MemoryTransactionStore     (the same Dynamo store serves the back office)
  OrderReader       MemoryTransactionStore     (fanout/consumers.py; orders/table.py DynamoOrderReader)
  BoltTransactions  FakeBoltTransactions       (bolt/api.py BoltApiClient against Bolt's rules, as devstack/fake_bolt)
  Mailer            RecordingMailer            (fanout/confirmation.py SesMailer)
  OrderManagement   MemoryOms                  (fanout/oms.py OmsClient)

Every write is all or nothing like its TransactWriteItems: a failed condition raises the store's exception and
leaves the shop as it was. Reads hand out copies, so a rule can never change stored state behind the store's back.
"""

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bolt_merchant.catalog.models import CatalogView, Discount, Product, StoreSettings, line_of
from bolt_merchant.checkout.carts import (
    CartConflict,
    CheckoutSnapshot,
    DiscountExhausted,
    DiscountRecord,
    OrderExists,
    OutOfStock,
    ShardCounts,
    StoredCart,
)
from bolt_merchant.core.errors import BoltApiError, BoltBusy, BoltNotFound, BoltRefused, DependencyUnavailable
from bolt_merchant.core.models import AppliedDiscount
from bolt_merchant.fanout.confirmation import EmailMessage
from bolt_merchant.orders.models import Order, OrderTotals, OutboxEvent, ShippingChoice, attention_due, order_id_for
from bolt_merchant.orders.table import RECONCILE_AFTER
from bolt_merchant.payments.store import AttentionItem, AttentionPage
from bolt_merchant.payments.transactions import CaptureInfo, LedgerRecord, StaleOrder, TransactionEvent, Transition

from tests.support import demo_catalog

# ---------------------------------------------------------------- the two tables


@dataclass
class Shop:
    """The catalog table (settings, products and their stock, discounts and their uses) and the orders table
    (carts, orders, ledger entries, outbox events, the payment-reference index), in memory."""

    settings: StoreSettings
    definitions: dict[str, Product]
    discount_codes: dict[str, Discount]
    inventory: Counter[str] = field(default_factory=Counter)  # the product item's `inventory` attribute
    reserved: Counter[str] = field(default_factory=Counter)  # its `reserved` attribute
    uses: Counter[str] = field(default_factory=Counter)  # the discount item's `uses` attribute
    carts: dict[str, StoredCart] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    ledger: dict[str, dict[str, LedgerRecord]] = field(default_factory=dict)  # order id -> TX#<key> -> record
    events: dict[str, dict[str, OutboxEvent]] = field(default_factory=dict)  # order id -> EVENT#<id> -> event
    references: dict[str, str] = field(default_factory=dict)  # BOLTREF#<reference> -> order id
    writes: int = 0  # transactions that committed

    @classmethod
    def demo(cls) -> "Shop":
        """data/demo-catalog.json, as `write_catalog` loads it: every product's stock, no discount used yet."""
        document = demo_catalog()
        products = {product.sku: product for product in document.products}
        return cls(
            settings=document.settings,
            definitions=products,
            discount_codes={discount.code: discount for discount in document.discounts},
            inventory=Counter({sku: product.inventory for sku, product in products.items()}),
        )

    # ------------------------------------------------------------ catalog
    @property
    def products(self) -> dict[str, Product]:
        """The products as the catalog reads them: definitions with today's stock."""
        return {
            sku: product.model_copy(update={"inventory": self.inventory[sku]})
            for sku, product in self.definitions.items()
        }

    def catalog(self) -> "MemoryCatalog":
        return MemoryCatalog(self)

    def stock(self, sku: str) -> tuple[int, int]:
        """(inventory, reserved) of a product."""
        return self.inventory[sku], self.reserved[sku]

    def add_discount(self, discount: Discount, uses: int = 0) -> None:
        self.discount_codes[discount.code] = discount
        self.uses[discount.code] = uses

    def discount_records(self, codes: Iterable[str]) -> dict[str, DiscountRecord]:
        return {
            code: DiscountRecord(definition=self.discount_codes[code], uses=self.uses[code])
            for code in sorted(set(codes))
            if code in self.discount_codes
        }

    # ------------------------------------------------------------ orders table
    def ledger_keys(self, order_id: str) -> list[str]:
        return sorted(self.ledger.get(order_id, {}))

    def events_of(self, order_id: str) -> list[OutboxEvent]:
        return sorted(self.events.get(order_id, {}).values(), key=lambda event: event.event_id)

    def event_types(self, order_id: str) -> list[str]:
        return [event.event_type for event in self.events_of(order_id)]

    def return_stock(self, units: Mapping[str, int]) -> None:
        """`ADD inventory :q, reserved -:q` for each sku (an update creates what it does not find)."""
        for sku, count in units.items():
            self.inventory[sku] += count
            self.reserved[sku] -= count


class MemoryCatalog:
    """CatalogReader over a shop's products with their live stock (the demo catalog by default): what DynamoCatalog
    reads once its cache has expired."""

    def __init__(self, shop: Shop | None = None) -> None:
        self.shop = shop or Shop.demo()

    def view(self, skus: Iterable[str]) -> CatalogView:
        wanted = set(skus)
        products = {sku: product for sku, product in self.shop.products.items() if sku in wanted}
        return CatalogView(settings=self.shop.settings, products=products)


def _copy[Model: (StoredCart, Order)](value: Model | None) -> Model | None:
    return value.model_copy(deep=True) if value is not None else None


# ---------------------------------------------------------------- checkout


class MemoryCheckoutStore:
    """CartStore and CheckoutStore (checkout/carts.py) over a shop, under DynamoCheckoutStore's contract."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        # The first runs (and is dropped) just before the next create_order checks its conditions: another request
        # getting there first.
        self.before_create_order: list[Callable[[], None]] = []

    # ------------------------------------------------------------ reads
    def get_cart(self, cart_id: str) -> StoredCart | None:
        return _copy(self.shop.carts.get(cart_id))

    def discounts(self, codes: Iterable[str]) -> dict[str, DiscountRecord]:
        return self.shop.discount_records(codes)

    def cart_with_discounts(
        self, cart_id: str | None, codes: Iterable[str]
    ) -> tuple[StoredCart | None, dict[str, DiscountRecord]]:
        return (self.get_cart(cart_id) if cart_id is not None else None), self.discounts(codes)

    def get_order(self, order_id: str) -> Order | None:
        return _copy(self.shop.orders.get(order_id))

    def snapshot(self, cart_id: str, order_id: str, codes: Iterable[str]) -> CheckoutSnapshot:
        return CheckoutSnapshot(
            cart=self.get_cart(cart_id), order=self.get_order(order_id), discounts=self.discounts(codes)
        )

    # ------------------------------------------------------------ writes
    def create_cart(self, cart: StoredCart) -> None:
        """attribute_not_exists(pk); our own retried write (the same item) succeeds."""
        stored = self.shop.carts.get(cart.cart_id)
        if stored is not None:
            if stored == cart:
                return
            raise DependencyUnavailable("cart id already taken")
        self.shop.carts[cart.cart_id] = cart.model_copy(deep=True)
        self.shop.writes += 1

    def replace_cart(self, cart: StoredCart, expected_version: int) -> None:
        """version = expected AND status = open; our own retried write succeeds; anything else is CartConflict."""
        stored = self.shop.carts.get(cart.cart_id)
        if stored is None or stored.version != expected_version or stored.status != "open":
            if stored == cart:
                return
            raise CartConflict(cart.cart_id)
        self.shop.carts[cart.cart_id] = cart.model_copy(deep=True)
        self.shop.writes += 1

    def create_order(
        self,
        order: Order,
        event: OutboxEvent,
        discount_limits: Mapping[str, int | None],
        shards: ShardCounts = ShardCounts(),  # noqa: B008 - one shard per counter in memory
    ) -> None:
        """One transaction: the order (not there yet), the cart (still open) closed, each line's stock reserved
        (inventory >= quantity), each discount use counted (below its limit), the event (not there yet). The first
        failed condition, in that order, is the exception; nothing is written then. The memory shop keeps each
        counter in one item, so `shards` changes nothing here (DynamoCheckoutStore's tests cover shards)."""
        if self.before_create_order:
            self.before_create_order.pop(0)()
        shop = self.shop
        if order.order_id in shop.orders:
            raise OrderExists(order.order_id)
        cart = shop.carts.get(order.cart_id)
        if cart is None or cart.status != "open":
            raise OrderExists(order.order_id)
        for line in order.lines:
            if line.sku not in shop.inventory or shop.inventory[line.sku] < line.quantity:
                raise OutOfStock(line.sku)
        for discount in order.discounts:
            limit = discount_limits.get(discount.code)
            if limit is not None and shop.uses[discount.code] >= limit:
                raise DiscountExhausted(discount.code)
        if event.event_id in shop.events.get(order.order_id, {}):
            raise OrderExists(order.order_id)

        shop.orders[order.order_id] = order.model_copy(deep=True)
        shop.carts[order.cart_id] = cart.model_copy(update={"status": "ordered", "order_id": order.order_id})
        for line in order.lines:
            shop.inventory[line.sku] -= line.quantity
            shop.reserved[line.sku] += line.quantity
        for discount in order.discounts:
            shop.uses[discount.code] += 1
        shop.events.setdefault(order.order_id, {})[event.event_id] = event
        shop.writes += 1


# ---------------------------------------------------------------- payments and the back office


class MemoryTransactionStore:
    """TransactionStore (payments/webhook.py), OrderAdminStore (backoffice/operations.py) and the consumers'
    OrderReader over a shop, under DynamoTransactionStore's contract."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        # The first runs (and is dropped) just before the next apply_transition checks its conditions: another writer
        # getting there first (a webhook during an operation, a second container), one per write attempt.
        self.before_apply: list[Callable[[], None]] = []
        self.applied: list[Transition] = []  # the transitions that committed, in order
        # Attention items that are not orders: webhooks waiting for their order, back-office answers not applied.
        self.attention_items: dict[str, AttentionItem] = {}

    def get_order(self, order_id: str) -> Order | None:
        return _copy(self.shop.orders.get(order_id))

    def cart_exists(self, cart_id: str) -> bool:
        return cart_id in self.shop.carts

    def order_id_for_reference(self, reference: str) -> str | None:
        return self.shop.references.get(reference)

    def ledger(self, order_id: str) -> list[LedgerRecord]:
        return list(self.shop.ledger.get(order_id, {}).values())

    def apply_transition(
        self,
        before: Order,
        transition: Transition,
        restock: Mapping[str, int] | None = None,
        done: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """The order only if it is still at before.version and no ledger entry exists yet (else StaleOrder, nothing
        written); its ledger entries, outbox events, the payment-reference index the first time the order has one,
        the stock it holds and its discount uses given back when the transition releases the order, `restock` put
        back, and the attention items `done` settles deleted."""
        if self.before_apply:
            self.before_apply.pop(0)()
        shop = self.shop
        order = transition.order
        stored = shop.orders.get(order.order_id)
        if stored is None or stored.version != before.version:
            raise StaleOrder(order.order_id)
        ledger = shop.ledger.setdefault(order.order_id, {})
        if any(entry.key in ledger for entry in transition.ledger):
            raise StaleOrder(order.order_id)

        shop.orders[order.order_id] = order.model_copy(deep=True)
        for entry in transition.ledger:
            ledger[entry.key] = LedgerRecord(
                key=entry.key,
                hook_type=entry.hook_type,
                transaction_id=entry.transaction_id or None,
                amount=entry.amount,
                applied=entry.applied,
                note=entry.note,
                recorded_at=order.updated_at.isoformat(),
                source=entry.source,
            )
        for event in transition.events:
            shop.events.setdefault(order.order_id, {})[event.event_id] = event
        if order.bolt_transaction_reference and before.bolt_transaction_reference is None:
            shop.references[order.bolt_transaction_reference] = order.order_id
        if transition.release_inventory:
            shop.return_stock(before.units_reserved())
            for discount in order.discounts:
                shop.uses[discount.code] -= 1
        shop.return_stock(restock or {})
        for key in done:
            self.attention_items.pop(_key_name(key), None)
        shop.writes += 1
        self.applied.append(transition)

    # ------------------------------------------------------------ recovery and attention
    def stock(self, skus: Sequence[str]) -> dict[str, dict[int, int]]:
        return {sku: {0: self.shop.inventory[sku]} for sku in set(skus) if sku in self.shop.definitions}

    def create_recovered(
        self,
        order: Order,
        taken_from: Mapping[str, Mapping[int, int]],
        events: Sequence[OutboxEvent],
        cart_stored: bool,
    ) -> None:
        """The recovered order, its stock taken (each only if still there), its discount uses, its cart closed."""
        taken = {sku: sum(shards.values()) for sku, shards in taken_from.items()}
        shop = self.shop
        if order.order_id in shop.orders or any(shop.inventory[sku] < units for sku, units in taken.items()):
            raise StaleOrder(order.order_id)
        shop.orders[order.order_id] = order.model_copy(deep=True)
        for event in events:
            shop.events.setdefault(order.order_id, {})[event.event_id] = event
        if order.bolt_transaction_reference:
            shop.references[order.bolt_transaction_reference] = order.order_id
        for sku, units in taken.items():
            shop.inventory[sku] -= units
            shop.reserved[sku] += units
        for discount in order.discounts:
            shop.uses[discount.code] += 1
        if cart_stored and order.cart_id in shop.carts:
            cart = shop.carts[order.cart_id]
            shop.carts[order.cart_id] = cart.model_copy(update={"status": "ordered", "order_id": order.order_id})
        shop.writes += 1

    def waiting_since(self, event: TransactionEvent, order_id: str | None, now: datetime) -> datetime:
        name = f"WAITING#{order_id or event.payment_reference}"
        first = self.attention_items.setdefault(
            name,
            AttentionItem("waiting", now, order_id, [], {"pk": {"S": name}}, event.payment_reference, event),
        )
        return first.due

    def record_pending_answer(self, order_id: str, operation_key: str, event: TransactionEvent, now: datetime) -> None:
        name = f"ORDER#{order_id}/PENDING#{operation_key}"
        key = {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": f"PENDING#{operation_key}"}}
        reasons = ["unrecorded_backoffice_answer"]
        self.attention_items[name] = AttentionItem("pending_answer", now, order_id, reasons, key, None, event)

    def pending_answers(self, order_id: str) -> list[AttentionItem]:
        return [i for i in self.attention_items.values() if i.kind == "pending_answer" and i.order_id == order_id]

    def forget(self, key: Mapping[str, Any]) -> None:
        self.attention_items.pop(_key_name(key), None)

    def postpone(self, key: Mapping[str, Any], now: datetime) -> None:
        name = _key_name(key)
        if name in self.attention_items:
            self.attention_items[name] = replace(self.attention_items[name], due=now + RECONCILE_AFTER)

    def attention(
        self, limit: int, cursor: str | None = None, due_before: datetime | None = None, newest_first: bool = True
    ) -> AttentionPage:
        """Markers and pending answers kept here, and every order the index would hold (attention_due)."""
        items = list(self.attention_items.values())
        for order in self.shop.orders.values():
            due = attention_due(order, RECONCILE_AFTER)
            if due is not None:
                key = {"pk": {"S": f"ORDER#{order.order_id}"}, "sk": {"S": "ORDER"}}
                items.append(AttentionItem("order", due, order.order_id, order.hold_reasons, key))
        items = [item for item in items if due_before is None or item.due <= due_before]
        items.sort(key=lambda item: item.due, reverse=newest_first)
        start = int(cursor or 0)
        following = start + limit
        return AttentionPage(items[start:following], str(following) if following < len(items) else None)


def _key_name(key: Mapping[str, Any]) -> str:
    """The name an attention item is kept under here: its table key."""
    pk, sk = key["pk"]["S"], key.get("sk", {}).get("S")
    return f"{pk}/{sk}" if pk.startswith("ORDER#") else pk


# ---------------------------------------------------------------- Bolt's Transactions API


_ids = itertools.count(1)


def _money(cents: int, currency: str) -> dict[str, Any]:
    return {"amount": cents, "currency": currency, "currency_symbol": "$" if currency == "USD" else ""}


@dataclass
class BoltPayment:
    """One cc_payment transaction as Bolt keeps it."""

    id: str
    reference: str
    amount: int
    currency: str
    status: str = "authorized"  # authorized -> completed (fully captured, or voided after a capture) | cancelled
    captures: list[dict[str, Any]] = field(default_factory=list)
    credits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def captured(self) -> int:
        return sum(int(c["amount"]) for c in self.captures)

    @property
    def refunded(self) -> int:
        return sum(int(c["amount"]["amount"]) for c in self.credits)

    def view(self) -> dict[str, Any]:
        captures = [{**c, "amount": _money(int(c["amount"]), self.currency)} for c in self.captures]
        return {
            "id": self.id,
            "type": "cc_payment",
            "reference": self.reference,
            "status": self.status,
            "amount": _money(self.amount, self.currency),
            "captures": captures,
        }

    def details(self) -> dict[str, Any]:
        """GET /v1/merchant/transactions/{reference}: the payment and its refunds."""
        return {**self.view(), "refund_transactions": list(self.credits)}


@dataclass
class BoltCall:
    action: str  # capture | credit | void | track_shipment
    reference: str
    idempotency_key: str
    amount: int | None = None
    currency: str | None = None
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> tuple[Any, ...]:
        return (self.action, self.reference, self.amount, self.currency, repr(sorted(self.body.items())))


class FakeBoltTransactions:
    """BoltTransactions answering like Bolt (as devstack/fake_bolt.py does over HTTP), with the errors BoltApiClient
    raises: a capture never exceeds what is left of the authorisation and gets a new capture id in the answer's
    captures; a credit never exceeds what was captured and not refunded and answers the new cc_credit transaction; a
    void cancels the payment (or, after a capture, completes it). An Idempotency-Key replays its first answer (or
    refusal) for the same request and is refused for another. `then(action, answer)` answers that action's next call
    with a body or an error instead, as a fault: nothing is done and nothing is remembered under the key."""

    def __init__(self) -> None:
        self.payments: dict[str, BoltPayment] = {}
        self.calls: list[BoltCall] = []
        self.script: dict[str, list[dict[str, Any] | Exception]] = {}
        self._keys: dict[str, tuple[tuple[Any, ...], dict[str, Any] | BoltApiError]] = {}

    # ------------------------------------------------------------ arranging
    def authorize(self, amount: int, currency: str = "USD", reference: str | None = None) -> BoltPayment:
        number = next(_ids)
        payment = BoltPayment(
            id=f"TA{number:09d}", reference=reference or f"REF-{number:04d}-BOLT", amount=amount, currency=currency
        )
        self.payments[payment.reference] = payment
        return payment

    def then(self, action: str, answer: dict[str, Any] | Exception) -> "FakeBoltTransactions":
        self.script.setdefault(action, []).append(answer)
        return self

    def count(self, action: str) -> int:
        return sum(1 for call in self.calls if call.action == action)

    # ------------------------------------------------------------ the port
    def capture(
        self, reference: str, amount: int, currency: str, idempotency_key: str, merchant_event_id: str | None = None
    ) -> dict[str, Any]:
        return self._keyed(BoltCall("capture", reference, idempotency_key, amount, currency), self._capture)

    def credit(
        self, reference: str, amount: int, currency: str, idempotency_key: str, merchant_event_id: str | None = None
    ) -> dict[str, Any]:
        return self._keyed(BoltCall("credit", reference, idempotency_key, amount, currency), self._credit)

    def void(self, reference: str, idempotency_key: str, merchant_event_id: str | None = None) -> dict[str, Any]:
        return self._keyed(BoltCall("void", reference, idempotency_key), self._void)

    def track_shipment(
        self, reference: str, carrier: str, tracking_number: str, items: list[dict[str, Any]], idempotency_key: str
    ) -> dict[str, Any]:
        body = {"carrier": carrier, "tracking_number": tracking_number, "items": items}
        return self._keyed(BoltCall("track_shipment", reference, idempotency_key, body=body), self._track)

    def review(self, reference: str, decision: str, idempotency_key: str) -> dict[str, Any]:
        return self._keyed(BoltCall("review", reference, idempotency_key, body={"decision": decision}), self._review)

    def transaction(self, reference: str) -> dict[str, Any]:
        self.calls.append(BoltCall("transaction", reference, ""))
        return self._payment(reference).details()

    # ------------------------------------------------------------ Bolt's rules
    def _keyed(self, call: BoltCall, act: Callable[[BoltCall], dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(call)
        scripted = self.script.get(call.action)
        if scripted:
            answer = scripted.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return dict(answer)
        known = self._keys.get(call.idempotency_key)
        if known is not None:
            fingerprint, remembered = known
            if fingerprint != call.fingerprint:
                raise BoltRefused(422, 26, "Idempotency-Key was already used for a different request")
            if isinstance(remembered, BoltApiError):
                raise remembered
            return dict(remembered)
        try:
            result = act(call)
        except BoltApiError as exc:
            self._keys[call.idempotency_key] = (call.fingerprint, exc)
            raise
        self._keys[call.idempotency_key] = (call.fingerprint, result)
        return dict(result)

    def _payment(self, reference: str) -> BoltPayment:
        payment = self.payments.get(reference)
        if payment is None:
            raise BoltNotFound(404, 26, "Transaction not found.")
        return payment

    def _checked_amount(self, call: BoltCall, payment: BoltPayment) -> int:
        if call.amount is None or call.amount <= 0:
            raise BoltRefused(422, 2, "A valid amount is required.")
        if call.currency != payment.currency:
            raise BoltRefused(422, 6, "A valid currency code must be provided.")
        return call.amount

    def _capture(self, call: BoltCall) -> dict[str, Any]:
        payment = self._payment(call.reference)
        amount = self._checked_amount(call, payment)
        if payment.status != "authorized":
            raise BoltRefused(422, 18, f"A {payment.status} transaction cannot be captured.")
        if amount > payment.amount - payment.captured:
            raise BoltRefused(422, 22, "The provided amount is higher than required.")
        payment.captures.append({"id": f"CA{next(_ids):09d}", "status": "succeeded", "amount": amount})
        if payment.captured >= payment.amount:
            payment.status = "completed"
        return payment.view()

    def _credit(self, call: BoltCall) -> dict[str, Any]:
        payment = self._payment(call.reference)
        amount = self._checked_amount(call, payment)
        if amount > payment.captured - payment.refunded:
            raise BoltRefused(422, 22, "The provided amount is higher than required.")
        number = next(_ids)
        credit = {
            "id": f"TC{number:09d}",
            "type": "cc_credit",
            "reference": f"CRD-{number:04d}-BOLT",
            "status": "completed",
            "amount": _money(amount, payment.currency),
            "credit": {"status": "succeeded"},
            "source_transaction": {"id": payment.id, "reference": payment.reference},
        }
        payment.credits.append(credit)
        return credit

    def _void(self, call: BoltCall) -> dict[str, Any]:
        payment = self._payment(call.reference)
        if payment.status != "authorized":
            raise BoltRefused(422, 18, f"A {payment.status} transaction cannot be voided.")
        payment.status = "completed" if payment.captures else "cancelled"
        return {**payment.view(), "void": {"status": "succeeded"}}

    def _review(self, call: BoltCall) -> dict[str, Any]:
        payment = self._payment(call.reference)
        if payment.status != "rejected_reversible":
            raise BoltRefused(422, 18, f"A {payment.status} transaction cannot be reviewed.")
        payment.status = "authorized" if call.body["decision"] == "approve" else "rejected_irreversible"
        return payment.details()

    def _track(self, call: BoltCall) -> dict[str, Any]:
        payment = self._payment(call.reference)
        return {"transaction_reference": payment.reference, "tracking_number": call.body["tracking_number"]}


def busy() -> BoltBusy:
    """What BoltApiClient raises while Bolt still runs another request with the same Idempotency-Key."""
    return BoltBusy(409, 409, "Concurrent idempotent requests")


# ---------------------------------------------------------------- the fan-out's side effects


@dataclass
class RecordingMailer:
    """Mailer: every email accepted, by address; `failures` are raised (once each) before anything is sent."""

    sent: list[tuple[str, EmailMessage]] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)

    def send(self, to: str, message: EmailMessage) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((to, message))


@dataclass
class MemoryOms:
    """OrderManagement: every submission and cancellation it received, by order id, and the keys they came with."""

    submitted: Counter[str] = field(default_factory=Counter)
    cancelled: Counter[str] = field(default_factory=Counter)
    keys: list[str] = field(default_factory=list)
    bodies: list[Mapping[str, Any]] = field(default_factory=list)

    def submit(self, order: Mapping[str, Any], idempotency_key: str) -> None:
        self.keys.append(idempotency_key)
        self.bodies.append(order)
        self.submitted[str(order["order_id"])] += 1

    def cancel(self, cancellation: Mapping[str, Any], idempotency_key: str) -> None:
        self.keys.append(idempotency_key)
        self.bodies.append(cancellation)
        self.cancelled[str(cancellation["order_id"])] += 1


# ---------------------------------------------------------------- arranging: carts, placed orders, webhooks

NOW = datetime(2026, 1, 1, tzinfo=UTC)
STANDARD_SHIPPING = ShippingChoice(reference="standard", service="Standard shipping", cost=599)


def open_cart(
    shop: Shop,
    cart_id: str,
    items: Sequence[tuple[str, int]],
    *,
    discount_codes: Sequence[str] = (),
    now: datetime = NOW,
    expires_at: datetime | None = None,
) -> StoredCart:
    """An open cart as POST /storefront/carts stores it, priced from the shop's catalog."""
    products = shop.products
    cart = StoredCart(
        cart_id=cart_id,
        currency=shop.settings.currency,
        lines=[line_of(products[sku], quantity) for sku, quantity in items],
        discount_codes=list(discount_codes),
        created_at=now,
        expires_at=expires_at or now + timedelta(days=7),
    )
    MemoryCheckoutStore(shop).create_cart(cart)
    return cart


def place_order(
    shop: Shop,
    cart_id: str = "c_placed0001",
    items: Sequence[tuple[str, int]] = (("TOTE-BLUE", 2), ("MUG-12OZ", 1)),
    *,
    shipping: ShippingChoice | None = STANDARD_SHIPPING,
    discounts: Sequence[AppliedDiscount] = (),
    tax: int = 0,
    contact_email: str | None = None,
) -> Order:
    """What order.create leaves behind: the cart closed, the order pending payment, its stock reserved and its
    discount uses counted (through MemoryCheckoutStore.create_order, as order.create writes them)."""
    cart = open_cart(shop, cart_id, items, discount_codes=[d.code for d in discounts])
    subtotal = cart.subtotal
    discount = sum(d.amount for d in discounts)
    cost = shipping.cost if shipping else 0
    order = Order(
        order_id=order_id_for(cart_id),
        cart_id=cart_id,
        status="pending_payment",
        currency=cart.currency,
        lines=cart.lines,
        discounts=list(discounts),
        shipping=shipping,
        totals=OrderTotals(
            subtotal=subtotal, discount=discount, shipping=cost, tax=tax, total=subtotal - discount + cost + tax
        ),
        contact_email=contact_email,
        created_at=NOW,
        updated_at=NOW,
    )
    event = OutboxEvent(
        event_id=f"{order.order_id}:order.created", event_type="order.created", order_id=order.order_id, occurred_at=NOW
    )
    limits = {d.code: shop.discount_codes[d.code].max_uses for d in discounts if d.code in shop.discount_codes}
    MemoryCheckoutStore(shop).create_order(order, event, limits)
    return order


PAYMENT_ID = "TAdemo0000001"
PAYMENT_REFERENCE = "DEMO-PAYM-REF1"


def webhook(
    hook_type: str,
    order: Order | None = None,
    *,
    amount: int | None = None,
    captures: Sequence[tuple[str, int]] = (),
    transaction_id: str | None = None,
    reference: str | None = PAYMENT_REFERENCE,
    currency: str | None = "USD",
    order_reference: str | None = None,
    display_id: str | None = None,
    source_reference: str | None = None,
) -> TransactionEvent:
    """A transaction webhook as payments/webhook.py normalises it, for `order`'s payment (id PAYMENT_ID, reference
    PAYMENT_REFERENCE): the amount is the order's total unless given; a credit is its own transaction
    (`transaction_id` is the credit's id) pointing at the payment through its source reference."""
    is_credit = hook_type == "credit"
    return TransactionEvent(
        hook_type=hook_type,
        transaction_id=transaction_id or (None if is_credit else PAYMENT_ID),
        reference=f"{transaction_id}-REF" if is_credit and transaction_id else reference,
        amount=amount if amount is not None or order is None else order.totals.total,
        currency=currency,
        order_reference=order_reference if order_reference is not None else (order.cart_id if order else None),
        display_id=display_id,
        source_reference=source_reference or (PAYMENT_REFERENCE if is_credit else None),
        captures=tuple(CaptureInfo(capture_id, cents) for capture_id, cents in captures),
    )
