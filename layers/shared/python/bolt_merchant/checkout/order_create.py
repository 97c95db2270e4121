"""order.create (reference §3.3, pre-authorisation): Bolt's cart checked against ours to the cent, then the order
created, stock reserved, discount uses counted and the cart closed in one transaction (DynamoCheckoutStore)."""

import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bolt_merchant.bolt.cart import Address, Cart
from bolt_merchant.bolt.signed import Hook
from bolt_merchant.catalog import stock_key, stock_reservation, uses_change
from bolt_merchant.catalog.inventory import allowances, probe_order, take_plan
from bolt_merchant.catalog.models import CatalogReader, CatalogView
from bolt_merchant.catalog.store import catalog
from bolt_merchant.checkout.carts import (
    CheckoutSnapshot,
    CheckoutStore,
    DiscountExhausted,
    DiscountRecord,
    OrderExists,
    OutOfStock,
    PricingContext,
    ShardCounts,
    StoredCart,
    evaluate_all,
    normalise_code,
)
from bolt_merchant.checkout.pricing import PricedChoice, compute_tax, price_choice, priced_cart, region_key
from bolt_merchant.checkout.store import DynamoCartStore, cart_from_item, discount_keys
from bolt_merchant.core.aws import batch_get, dynamodb, error_code, failure
from bolt_merchant.core.errors import BoltCode, DependencyUnavailable, Invalid, RequestRefused
from bolt_merchant.core.models import AppliedDiscount, CartLine, CurrencyCode, InboundModel, OwnModel, ShortText
from bolt_merchant.core.settings import now, order_received_url, per_container, settings
from bolt_merchant.orders import cart_key, order_key
from bolt_merchant.orders.models import Order, OrderTotals, OutboxEvent, PostalAddress, ShippingChoice, order_id_for
from bolt_merchant.orders.table import event_item, order_from_item, order_item, read_order


class BoltOrder(InboundModel):
    token: ShortText | None = None
    cart: Cart


class OrderCreateRequest(InboundModel):
    """order.create (pre-authorisation): Bolt's order token and the cart the shopper is paying for."""

    order: BoltOrder
    currency: CurrencyCode | None = None


class OrderCreatedData(OwnModel):
    display_id: str
    order_received_url: str
    total: int


TOTAL_TOLERANCE_CENTS = 1  # Bolt and the plugins allow one cent of rounding difference


def discount_codes(bolt: Cart) -> list[str]:
    """The codes Bolt's cart claims, normalised ("" for a discount that names none)."""
    return list(dict.fromkeys(normalise_code(d.code or d.reference or "") for d in bolt.discounts))


def validated_order(
    request: OrderCreateRequest, snapshot: CheckoutSnapshot, catalog: CatalogReader, now: datetime
) -> Order:
    """The order for Bolt's cart, checked against our stored cart and catalog to the cent, or Invalid with the
    2001xxx code that tells Bolt (and the shopper) what changed."""
    bolt = request.order.cart
    assert bolt.order_reference is not None
    codes = discount_codes(bolt)
    if "" in codes:
        raise Invalid("A discount without a code cannot be verified", BoltCode.ORDER_DISCOUNT_NOT_FOUND)
    cart = snapshot.cart
    if cart is None or cart.expires_at <= now:
        raise Invalid("Your session timed out; please refresh your cart", BoltCode.ORDER_CART_EXPIRED)
    if request.currency is not None and request.currency != cart.currency:
        raise Invalid(f"The cart is priced in {cart.currency}", BoltCode.ORDER_ITEM_PRICE_UPDATED)
    if cart.status != "open":
        raise Invalid("An order already exists for this cart", BoltCode.ORDER_ALREADY_EXISTS)

    view, bolt_lines = priced_cart(bolt, catalog)
    lines = _verified_lines(cart, bolt_lines, bolt)
    choice = _verified_shipping(lines, bolt, view)
    tax_total = choice.tax.total if choice else _untaxed_delivery_tax(lines, bolt, view)
    shipping_cost = choice.cost if choice else 0
    subtotal = sum(line.total for line in lines)
    discounts = _verified_discounts(
        codes, snapshot.discounts, bolt, PricingContext(subtotal, shipping_cost, tax_total), now
    )
    discount_total = sum(d.amount for d in discounts)
    totals = OrderTotals(
        subtotal=subtotal,
        discount=discount_total,
        shipping=shipping_cost,
        tax=tax_total,
        total=subtotal - discount_total + shipping_cost + tax_total,
    )
    if bolt.tax_amount is not None and abs(bolt.tax_amount - tax_total) > TOTAL_TOLERANCE_CENTS:
        raise Invalid("The tax for your cart has changed; please try again", BoltCode.ORDER_ITEM_PRICE_UPDATED)
    if bolt.total_amount is None or abs(bolt.total_amount - totals.total) > TOTAL_TOLERANCE_CENTS:
        raise Invalid("Your cart total has changed; please try again", BoltCode.ORDER_ITEM_PRICE_UPDATED)
    billing, shipping_addresses = addresses(bolt)
    return Order(
        order_id=order_id_for(bolt.order_reference),
        cart_id=cart.cart_id,
        status="pending_payment",
        currency=cart.currency,
        lines=lines,
        discounts=discounts,
        shipping=ShippingChoice(reference=choice.reference, service=choice.service, cost=choice.cost)
        if choice
        else None,
        totals=totals,
        bolt_order_token=request.order.token,
        contact_email=contact_email(bolt),
        billing_address=billing,
        shipping_addresses=shipping_addresses,
        created_at=now,
        updated_at=now,
    )


def created_event(order: Order, now: datetime) -> OutboxEvent:
    return OutboxEvent(
        event_id=f"{order.order_id}:order.created",
        event_type="order.created",
        order_id=order.order_id,
        occurred_at=now,
        detail={"status": order.status, "total": order.totals.total},
    )


def create_order(
    request: OrderCreateRequest,
    catalog: CatalogReader,
    store: CheckoutStore,
    now: datetime,
    order_received_url: Callable[[str], str],
) -> OrderCreatedData:
    """Validate Bolt's cart against ours to the cent, then create the order and reserve stock in one transaction.

    Idempotent: a repeat for the same cart with the same total answers the same order, however many arrive at once.
    """
    bolt = request.order.cart
    if bolt.order_reference is None:
        raise Invalid("The cart has no order_reference", BoltCode.ORDER_CART_EXPIRED)
    order_id = order_id_for(bolt.order_reference)
    codes = discount_codes(bolt)
    if "" in codes:
        raise Invalid("A discount without a code cannot be verified", BoltCode.ORDER_DISCOUNT_NOT_FOUND)
    snapshot = store.snapshot(bolt.order_reference, order_id, codes)
    if snapshot.order is not None:
        return _existing(snapshot.order, bolt, order_received_url)
    order = validated_order(request, snapshot, catalog, now)
    limits = {code: record.definition.max_uses for code, record in snapshot.discounts.items()}
    products = catalog.view(line.sku for line in order.lines).products  # cached since validated_order read it
    shards = ShardCounts(
        stock={sku: product.stock_shards for sku, product in products.items()},
        usage={code: record.definition.usage_shards for code, record in snapshot.discounts.items()},
    )
    try:
        store.create_order(order, created_event(order, now), limits, shards)
    except OrderExists:
        existing = store.get_order(order_id)
        if existing is None:
            raise Invalid("An order already exists for this cart", BoltCode.ORDER_ALREADY_EXISTS) from None
        return _existing(existing, bolt, order_received_url)
    except OutOfStock as exc:
        raise Invalid(f"Item {exc.sku} is no longer available", BoltCode.ORDER_OUT_OF_INVENTORY) from exc
    except DiscountExhausted as exc:
        message = f"The coupon code {exc.code} can no longer be used"
        raise Invalid(message, BoltCode.ORDER_DISCOUNT_CANNOT_APPLY) from exc
    return OrderCreatedData(
        display_id=order_id, order_received_url=order_received_url(order_id), total=order.totals.total
    )


def postal_address(address: Address) -> PostalAddress:
    """Bolt's address as the order keeps it: the same fields, the country code in capitals."""
    kept = PostalAddress.model_validate(address, from_attributes=True)
    return kept.model_copy(update={"country_code": address.country})


def addresses(bolt: Cart) -> tuple[PostalAddress | None, list[PostalAddress]]:
    """Billing contact and shipping addresses from Bolt's cart: what fulfilment and review need."""
    billing = postal_address(bolt.billing_address) if bolt.billing_address else None
    shipping = [postal_address(s.shipping_address) for s in bolt.shipments if s.shipping_address is not None]
    return billing, shipping


def contact_email(bolt: Cart) -> str | None:
    """Where the confirmation goes: the billing email, else the shipping one."""
    addresses = [bolt.billing_address, *(s.shipping_address for s in bolt.shipments)]
    return next((a.email for a in addresses if a is not None and a.email), None)


def _existing(order: Order, bolt: Cart, order_received_url: Callable[[str], str]) -> OrderCreatedData:
    if order.status == "cancelled":
        raise Invalid("This order was cancelled after a declined payment", BoltCode.ORDER_REJECTED)
    if bolt.total_amount is None or abs(bolt.total_amount - order.totals.total) > TOTAL_TOLERANCE_CENTS:
        raise Invalid("An order with a different total exists for this cart", BoltCode.ORDER_ALREADY_EXISTS)
    return OrderCreatedData(
        display_id=order.order_id, order_received_url=order_received_url(order.order_id), total=order.totals.total
    )


def _verified_lines(cart: StoredCart, current: list[CartLine], bolt: Cart) -> list[CartLine]:
    """Bolt's items must be our cart's items, at the catalog's current prices."""
    ours = Counter({line.sku: line.quantity for line in cart.lines})
    theirs: Counter[str] = Counter()
    for line in current:
        theirs[line.sku] += line.quantity
    if ours != theirs:
        raise Invalid("Item details were out of date; please try again", BoltCode.ORDER_ITEM_PRICE_UPDATED)
    prices = {line.sku: line.unit_price for line in current}
    for item in bolt.items:
        if item.unit_price != prices[item.catalog_sku or ""]:
            raise Invalid("Item details were out of date; please try again", BoltCode.ORDER_ITEM_PRICE_UPDATED)
    for line in cart.lines:
        if line.unit_price != prices[line.sku]:
            raise Invalid("Item details were out of date; please try again", BoltCode.ORDER_ITEM_PRICE_UPDATED)
    return cart.lines


def _verified_shipping(lines: list[CartLine], bolt: Cart, view: CatalogView) -> PricedChoice | None:
    """The chosen option priced as order.tax priced it. Digital-only carts may come without one."""
    shipment = bolt.shipments[0] if bolt.shipments else None
    if shipment is None or not shipment.reference:
        if not any(line.needs_shipping for line in lines):
            return None
        raise Invalid("No shipping option was chosen", BoltCode.ORDER_SHIPPING_PRICE_UPDATED)
    try:
        choice = price_choice(lines, view, shipment.reference, shipment.shipping_address)
    except Invalid as exc:
        raise Invalid(exc.message, BoltCode.ORDER_SHIPPING_PRICE_UPDATED) from exc
    if shipment.cost is not None and shipment.cost != choice.cost:
        raise Invalid("The shipping amount for your cart has changed", BoltCode.ORDER_SHIPPING_PRICE_UPDATED)
    return choice


def _untaxed_delivery_tax(lines: list[CartLine], bolt: Cart, view: CatalogView) -> int:
    """Digital-only carts without a delivery option: taxed where the buyer is billed."""
    address = bolt.billing_address
    if address is None:
        return 0
    settings = view.settings.tax
    return compute_tax(lines, 0, region_key(address.country, address.region, settings), settings).total


def _verified_discounts(
    codes: list[str], records: dict[str, DiscountRecord], bolt: Cart, context: PricingContext, now: datetime
) -> list[AppliedDiscount]:
    try:
        applied = evaluate_all(codes, records, context, now)
    except Invalid as exc:
        code = (
            BoltCode.ORDER_DISCOUNT_NOT_FOUND
            if exc.code == BoltCode.DISCOUNT_CODE_INVALID
            else BoltCode.ORDER_DISCOUNT_CANNOT_APPLY
        )
        raise Invalid(exc.message, code) from exc
    claimed = {normalise_code(d.code or d.reference or ""): d.amount for d in bolt.discounts}
    for discount in applied:
        amount = claimed.get(discount.code)
        if amount is not None and abs(amount - discount.amount) > TOTAL_TOLERANCE_CENTS:
            raise Invalid(f"The coupon code {discount.code} no longer applies", BoltCode.ORDER_DISCOUNT_CANNOT_APPLY)
    return applied


CONTENTION_ATTEMPTS = 5  # transactions cancelled by contention (TransactionConflict, throttling) before a 503
_CONTENTION = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
_ORDER, _STOCK, _USE = "order", "stock", "use"


@dataclass
class _Reservation:
    """Where one attempt of order.create takes each line's stock and counts each code's use, and where the next
    attempt moves on to: a random first shard, then the next ones (catalog/inventory.py)."""

    order: Order
    stock_probes: dict[str, list[int]]
    use_probes: dict[str, list[int]]
    stock: dict[str, dict[int, int]] = field(default_factory=dict)
    uses: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        quantities = {line.sku: line.quantity for line in self.order.lines}
        self.stock = {sku: {probes[0]: quantities[sku]} for sku, probes in self.stock_probes.items()}
        self.uses = {code: probes[0] for code, probes in self.use_probes.items() if probes}

    def recorded(self) -> Order:
        """The order as this attempt writes it: which shard each unit and each use came from."""
        return self.order.model_copy(
            update={
                "reserved_from": {sku: plan for sku, plan in self.stock.items() if set(plan) != {0}},
                "discount_shards": {code: shard for code, shard in self.uses.items() if shard},
            }
        )

    def next_stock_shard(self, sku: str, failed: int, exhausted: bool) -> bool:
        """Move the line off a shard that failed; False once every shard alone was tried and found short."""
        probes = self.stock_probes[sku]
        if not _moved_off(probes, failed, exhausted):
            return False
        self.stock[sku] = {probes[0]: sum(self.stock[sku].values())}
        return True

    def next_use_shard(self, code: str, failed: int, exhausted: bool) -> bool:
        probes = self.use_probes[code]
        if not _moved_off(probes, failed, exhausted):
            return False
        self.uses[code] = probes[0]
        return True


def _moved_off(probes: list[int], failed: int, exhausted: bool) -> bool:
    """The shards still to try after `failed`: dropped when it is exhausted (short, or used up), else tried last.
    False once none is left."""
    if exhausted:
        probes.remove(failed)
    elif len(probes) > 1:
        probes.append(probes.pop(probes.index(failed)))
    return bool(probes)


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
        return CheckoutSnapshot(cart=cart, order=order, discounts=self._discount_records(found[self._catalog]))

    # ------------------------------------------------------------------ writes
    def create_order(
        self,
        order: Order,
        event: OutboxEvent,
        discount_limits: Mapping[str, int | None],
        shards: ShardCounts = ShardCounts(),  # noqa: B008 - frozen, never mutated
    ) -> None:
        """One transaction, retried on another shard when a shard is short (or a code's shard used up) or busy.
        A line whose every shard alone is short takes from several, as the consistent levels allow."""
        draw = random.Random()  # noqa: S311 - spreading load, not cryptography
        stock_probes = {}
        for line in order.lines:
            count = max(shards.stock.get(line.sku, 1), 1)
            stock_probes[line.sku] = probe_order(count, draw.randrange(count))
        use_probes = {}
        for discount in order.discounts:
            count = max(shards.usage.get(discount.code, 1), 1)
            limit = discount_limits.get(discount.code)
            allowed = allowances(limit, count) if limit is not None else [1] * count
            use_probes[discount.code] = [s for s in probe_order(count, draw.randrange(count)) if allowed[s] > 0]
            if not use_probes[discount.code]:
                raise DiscountExhausted(discount.code)
        plan = _Reservation(order, stock_probes, use_probes)
        multi_shard: set[str] = set()
        contention = 0
        moves = sum(map(len, stock_probes.values())) + sum(map(len, use_probes.values()))
        for _ in range(CONTENTION_ATTEMPTS + moves):
            actions = self._order_actions(plan, event, discount_limits, shards)
            reasons = self._transact([action for action, _ in actions])
            if reasons is None:
                return
            if self._moved_on(plan, [target for _, target in actions], reasons, multi_shard, shards):
                contention += 1
                if contention >= CONTENTION_ATTEMPTS:
                    break
                time.sleep(0.05 * contention * (0.5 + draw.random()))
        raise DependencyUnavailable("order write kept conflicting with other transactions")

    def _moved_on(
        self,
        plan: _Reservation,
        targets: list[tuple[str, str, int]],
        reasons: list[str],
        multi_shard: set[str],
        shards: ShardCounts,
    ) -> bool:
        """The next attempt's plan after a cancelled one: off every shard that was short, used up or busy. True when
        the cancellation was contention (counted towards the 503); raises what a failed condition means."""
        contended = False
        for (kind, name, shard), reason in zip(targets, reasons, strict=False):
            if reason == "ConditionalCheckFailed":
                if kind == _ORDER:
                    raise OrderExists(plan.order.order_id)
                if kind == _USE and not plan.next_use_shard(name, shard, exhausted=True):
                    raise DiscountExhausted(name)
                if kind == _STOCK and not self._replan_stock(plan, name, shard, multi_shard, shards):
                    raise OutOfStock(name)
            elif reason in _CONTENTION:
                contended = True
                if kind == _STOCK and len(plan.stock[name]) == 1:
                    plan.next_stock_shard(name, shard, exhausted=False)
                elif kind == _USE:
                    plan.next_use_shard(name, shard, exhausted=False)
        return contended

    def _replan_stock(
        self, plan: _Reservation, sku: str, failed: int, multi_shard: set[str], shards: ShardCounts
    ) -> bool:
        """After a shard was short for a line: the next shard alone, else units from several shards as their
        consistent levels allow. False when all of them together hold too few."""
        if sku not in multi_shard and plan.next_stock_shard(sku, failed, exhausted=True):
            return True
        multi_shard.add(sku)
        count = max(shards.stock.get(sku, 1), 1)
        levels = self._stock_levels(sku, count)
        quantity = sum(plan.stock[sku].values())
        taken = take_plan(levels, quantity, range(count))
        if taken is None:
            return False
        plan.stock[sku] = taken
        return True

    def _stock_levels(self, sku: str, count: int) -> dict[int, int]:
        keys = [stock_key(sku, shard) for shard in range(count)]
        request = {self._catalog: {"Keys": keys, "ConsistentRead": True, "ProjectionExpression": "pk, inventory"}}
        by_key = {stock_key(sku, shard)["pk"]["S"]: shard for shard in range(count)}
        found = batch_get(self._client, request, "stock read")[self._catalog]
        return {by_key[item["pk"]["S"]]: int(item.get("inventory", {}).get("N", "0")) for item in found}

    def _order_actions(
        self,
        plan: _Reservation,
        event: OutboxEvent,
        discount_limits: Mapping[str, int | None],
        shards: ShardCounts,
    ) -> list[tuple[dict[str, Any], tuple[str, str, int]]]:
        order = plan.recorded()
        whole = (_ORDER, order.order_id, 0)
        actions: list[tuple[dict[str, Any], tuple[str, str, int]]] = [
            (
                {
                    "Put": {
                        "TableName": self._orders,
                        "Item": order_item(order),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                whole,
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
                whole,
            ),
        ]
        for sku, taken in plan.stock.items():
            for shard, units in sorted(taken.items()):
                actions.append((stock_reservation(self._catalog, sku, shard, units), (_STOCK, sku, shard)))
        for code, shard in plan.uses.items():
            use = self._count_use(code, shard, discount_limits.get(code), max(shards.usage.get(code, 1), 1))
            actions.append((use, (_USE, code, shard)))
        actions.append(
            (
                {
                    "Put": {
                        "TableName": self._orders,
                        "Item": event_item(event),
                        "ConditionExpression": "attribute_not_exists(sk)",
                    }
                },
                whole,
            )
        )
        return actions

    def _count_use(self, code: str, shard: int, limit: int | None, count: int) -> dict[str, Any]:
        action = uses_change(self._catalog, code, shard, 1)
        if limit is not None:
            update = action["Update"]
            update["ConditionExpression"] = "attribute_not_exists(uses) OR uses < :limit"
            update["ExpressionAttributeValues"][":limit"] = {"N": str(allowances(limit, count)[shard])}
        return action

    def _transact(self, actions: list[dict[str, Any]]) -> list[str] | None:
        """One all-or-nothing write: None when it went through, else DynamoDB's cancellation reason per action.
        Anything but a cancellation is final (RequestRefused) or retryable by Bolt (DependencyUnavailable)."""
        try:
            self._client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except BotoCoreError as exc:
            raise DependencyUnavailable(f"order write unreachable: {type(exc).__name__}") from exc
        except ClientError as exc:
            outcome = failure("order write", exc)
            if isinstance(outcome, RequestRefused) or error_code(exc) != "TransactionCanceledException":
                raise outcome from exc
            return [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons", [])]
        return None


@per_container
def checkout_store() -> DynamoCheckoutStore:
    config = settings()
    return DynamoCheckoutStore(dynamodb(), config.require("catalog_table"), config.require("orders_table"))


ORDER_CREATE = Hook(
    "order.create",
    OrderCreateRequest,
    lambda r: create_order(r, catalog(), checkout_store(), now(), order_received_url),
    invalid_code=BoltCode.ORDER_GENERAL_ERROR,
)
