"""Recovering an order Bolt holds or took money for, that order.create never recorded (a timeout, a 5xx, an
authorisation Bolt made anyway): the order is built from the webhook's cart as close to order.create as the data
allows, and held, with the reasons, wherever it cannot be: an unknown or expired cart, prices or totals that
differ, stock short of what was bought (what exists is reserved, never below zero, and the shortfall recorded).

Imported on first use by the webhook and by reconciliation: most containers never recover an order.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bolt_merchant.bolt.cart import Cart, CartItem
from bolt_merchant.catalog.inventory import take_plan
from bolt_merchant.catalog.models import CatalogReader, Product
from bolt_merchant.catalog.store import catalog
from bolt_merchant.checkout.carts import CheckoutSnapshot, StoredCart, normalise_code
from bolt_merchant.checkout.order_create import (
    BoltOrder,
    OrderCreateRequest,
    addresses,
    checkout_store,
    contact_email,
    created_event,
    discount_codes,
    validated_order,
)
from bolt_merchant.core.errors import BoltCode, DependencyUnavailable, Invalid
from bolt_merchant.core.models import AppliedDiscount, CartLine, is_reference
from bolt_merchant.core.observability import count
from bolt_merchant.core.settings import now
from bolt_merchant.orders.models import Hold, Order, OrderTotals, OutboxEvent, order_id_for
from bolt_merchant.payments.store import transaction_store, waiting_key
from bolt_merchant.payments.transactions import StaleOrder, TransactionEvent

_ATTEMPTS = 5
_REASONS: dict[int, str] = {
    BoltCode.ORDER_ITEM_PRICE_UPDATED: "recovered_price_changed",
    BoltCode.ORDER_SHIPPING_PRICE_UPDATED: "recovered_shipping_changed",
    BoltCode.ORDER_DISCOUNT_NOT_FOUND: "recovered_discount_not_applicable",
    BoltCode.ORDER_DISCOUNT_CANNOT_APPLY: "recovered_discount_not_applicable",
    BoltCode.ORDER_ALREADY_EXISTS: "recovered_cart_already_ordered",
    BoltCode.ADDRESS_OR_CART_INVALID: "recovered_cart_invalid",
}


@dataclass(frozen=True)
class Recovered:
    order: Order
    taken: dict[str, dict[int, int]]  # units to reserve now, per sku and stock shard (never more than a shard holds)
    events: list[OutboxEvent]


def recovery_cart_id(event: TransactionEvent) -> str | None:
    """Our cart id for the payment: the cart Bolt sends (either location), else the legacy order reference."""
    if event.cart is not None and event.cart.order_reference:
        return event.cart.order_reference
    return event.order_reference


def recover(
    event: TransactionEvent,
    snapshot: CheckoutSnapshot,
    catalog: CatalogReader,
    stock: Mapping[str, Mapping[int, int]],
    now: datetime,
) -> Recovered:
    """The order for a payment Bolt reports, from what we know of its cart. `snapshot` is what order.create would
    have read (our stored cart and the discount codes Bolt's cart claims); `stock` the units available per sku and
    stock shard: what exists is taken, fullest shards first, and each shard it came from recorded on the order."""
    cart_id = recovery_cart_id(event)
    assert cart_id is not None
    holds: dict[str, str] = {}
    order = _validated(event, snapshot, catalog, now, holds)
    if order is None:
        order = _from_bolt_cart(event, cart_id, snapshot.cart, catalog, now=now, holds=holds)
    wanted = {line.sku: line.quantity for line in order.lines}
    taken_from: dict[str, dict[int, int]] = {}
    for sku, units in wanted.items():
        levels = stock.get(sku, {})
        available = sum(max(level, 0) for level in levels.values())
        taken_from[sku] = take_plan(levels, min(units, available), sorted(levels)) or {}
    taken = {sku: sum(taken_from[sku].values()) for sku in wanted}
    for sku, units in sorted(wanted.items()):
        if taken[sku] < units:
            short = units - taken[sku]
            holds[f"recovered_short_of_stock:{sku}:{short}"] = f"{short} unit(s) of {sku} were not in stock"
    order = order.model_copy(
        update={
            "holds": [Hold(reason=reason, detail=detail, since=now) for reason, detail in sorted(holds.items())],
            "reserved": taken if taken != wanted else None,
            "reserved_from": {sku: shards for sku, shards in taken_from.items() if set(shards) != {0}},
            "bolt_transaction_reference": event.payment_reference,
            "bolt_order_token": order.bolt_order_token or event.order_token,
        }
    )
    events = [created_event(order, now)]
    return Recovered(order=order, taken={sku: shards for sku, shards in taken_from.items() if shards}, events=events)


def _validated(
    event: TransactionEvent, snapshot: CheckoutSnapshot, catalog: CatalogReader, now: datetime, holds: dict[str, str]
) -> Order | None:
    """order.create's own validation when Bolt's cart came with the webhook; None (and why, in holds) if not."""
    if event.cart is None:
        holds["recovered_without_bolt_cart"] = "the webhook carried no cart: lines and totals are unverified"
        if snapshot.cart is None:
            holds["recovered_unknown_cart"] = "no stored cart matches this payment"
        return None
    request = OrderCreateRequest(
        order=BoltOrder(token=event.order_token, cart=event.cart), currency=_currency_code(event.currency)
    )
    try:
        return validated_order(request, snapshot, catalog, now)
    except Invalid as exc:
        if exc.code == BoltCode.ORDER_CART_EXPIRED:
            if snapshot.cart is None:
                holds["recovered_unknown_cart"] = "no stored cart matches this payment"
            else:
                holds["recovered_expired_cart"] = "the stored cart had expired"
        else:
            holds[
                _REASONS.get(BoltCode(exc.code) if exc.code else BoltCode.ORDER_GENERAL_ERROR, "recovered_unverified")
            ] = exc.message
        return None


def _from_bolt_cart(
    event: TransactionEvent,
    cart_id: str,
    stored: StoredCart | None,
    catalog: CatalogReader,
    *,
    now: datetime,
    holds: dict[str, str],
) -> Order:
    """As Bolt charged it: Bolt's cart (lines at Bolt's prices, Bolt's totals), else our stored cart's lines, else
    no lines; the total is what Bolt's cart or payment says."""
    bolt = event.cart
    if bolt is not None:
        lines = _lines(bolt.items, catalog, holds)
    elif stored is not None:
        lines = list(stored.lines)
    else:
        lines = []
    subtotal = sum(line.total for line in lines)
    shipping = _shipping(bolt)
    tax = bolt.tax_amount if bolt is not None and bolt.tax_amount is not None else 0
    discounts = _discounts(bolt)
    discount = sum(d.amount for d in discounts)
    total = next(
        (amount for amount in (bolt.total_amount if bolt else None, event.amount) if amount is not None),
        subtotal - discount + shipping + tax,
    )
    billing, shipping_addresses = addresses(bolt) if bolt is not None else (None, [])
    currency = (
        (bolt.currency if bolt else None) or _currency_code(event.currency) or (stored.currency if stored else None)
    )
    return Order(
        order_id=order_id_for(cart_id),
        cart_id=cart_id,
        status="pending_payment",
        currency=(currency or catalog.view([]).settings.currency).upper(),
        lines=lines,
        discounts=discounts,
        totals=OrderTotals(subtotal=subtotal, discount=discount, shipping=shipping, tax=tax, total=total),
        bolt_order_token=event.order_token,
        contact_email=contact_email(bolt) if bolt is not None else None,
        billing_address=billing,
        shipping_addresses=shipping_addresses,
        created_at=now,
        updated_at=now,
    )


def _lines(items: list[CartItem], catalog: CatalogReader, holds: dict[str, str]) -> list[CartLine]:
    skus = [item.catalog_sku for item in items if item.catalog_sku]
    products: Mapping[str, Product] = catalog.view(skus).products if skus else {}
    lines: dict[str, CartLine] = {}
    for item in items:
        sku = item.catalog_sku
        if sku is None or not is_reference(sku):
            holds["recovered_item_without_sku"] = "an item of Bolt's cart has no sku we can record"
            continue
        product = products.get(sku)
        if product is None:
            holds[f"recovered_unknown_item:{sku}"] = f"{sku} is not in the catalog"
        elif product.unit_price != item.unit_price:
            holds["recovered_price_changed"] = (
                f"Bolt charged {item.unit_price} for {sku}; the catalog says {product.unit_price}"
            )
        quantity = item.quantity + (lines[sku].quantity if sku in lines else 0)
        lines[sku] = CartLine(
            sku=sku,
            name=item.name or (product.name if product else sku),
            quantity=quantity,
            unit_price=item.unit_price,
            taxable=item.taxable if item.taxable is not None else bool(product and product.taxable),
            needs_shipping=product.needs_shipping if product else item.type != "digital",
        )
    return list(lines.values())


def _currency_code(currency: str | None) -> str | None:
    """The payment's currency as a code an order can carry (Bolt's, upper-cased), else None: the state machine then
    compares the payment's currency with the order's and holds the order when they differ."""
    code = (currency or "").upper()
    return code if len(code) == 3 and code.isascii() and code.isalpha() else None


def _shipping(bolt: Cart | None) -> int:
    if bolt is None:
        return 0
    if bolt.shipping_amount is not None:
        return bolt.shipping_amount
    return sum(shipment.cost or 0 for shipment in bolt.shipments)


def _discounts(bolt: Cart | None) -> list[AppliedDiscount]:
    """Bolt's discounts as it applied them; only codes we can key are counted as uses."""
    if bolt is None:
        return []
    applied: dict[str, AppliedDiscount] = {}
    for discount in bolt.discounts:
        code = normalise_code(discount.code or discount.reference or "")
        if code and is_reference(code) and code not in applied:
            applied[code] = AppliedDiscount(
                code=code,
                type=discount.type or "fixed_amount",
                amount=discount.amount or 0,
                description=discount.description or code,
            )
    return list(applied.values())


def recover_order(event: TransactionEvent, order_id: str) -> None:
    """Create the order of a payment Bolt reports, from what the webhook (or Bolt's transaction) says and what we
    stored: read, recovered, written in one transaction; read again if stock or the order moved meanwhile."""
    cart_id = recovery_cart_id(event) or order_id
    codes = [code for code in discount_codes(event.cart) if code] if event.cart is not None else []
    store = transaction_store()
    for _ in range(_ATTEMPTS):
        snapshot = checkout_store().snapshot(cart_id, order_id, codes)
        if snapshot.order is not None:
            return
        skus = [line.sku for line in snapshot.cart.lines] if snapshot.cart else []
        skus += [item.catalog_sku for item in event.cart.items if item.catalog_sku] if event.cart else []
        recovered = recover(event, snapshot, catalog(), store.stock(skus), now())
        try:
            store.create_recovered(recovered.order, recovered.taken, recovered.events, snapshot.cart is not None)
        except StaleOrder:
            continue  # stock moved, or order.create won the race: read again
        store.forget(waiting_key(order_id))
        count("OrderRecovered")
        return
    raise DependencyUnavailable("stock kept changing while recovering an order")
