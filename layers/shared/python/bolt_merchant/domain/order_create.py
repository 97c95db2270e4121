"""order.create (pre-authorisation): Bolt's cart checked against ours to the cent, then the order created."""

from collections import Counter
from collections.abc import Callable
from datetime import datetime

from bolt_merchant.domain.catalog import CatalogReader, CatalogView
from bolt_merchant.domain.discounts import DiscountRecord, PricingContext, evaluate_all, normalise_code
from bolt_merchant.domain.errors import BoltCode, HookError
from bolt_merchant.domain.order_ids import order_id_for
from bolt_merchant.domain.ports import CheckoutStore, DiscountExhausted, OrderExists, OutOfStock
from bolt_merchant.domain.pricing import PricedChoice, price_choice, priced_cart
from bolt_merchant.domain.tax import compute_tax, region_key
from bolt_merchant.models.applied_discount import AppliedDiscount
from bolt_merchant.models.bolt import Cart
from bolt_merchant.models.cart_line import CartLine
from bolt_merchant.models.carts import StoredCart
from bolt_merchant.models.order_create import OrderCreatedData, OrderCreateRequest
from bolt_merchant.models.orders import Order, OrderTotals, OutboxEvent, ShippingChoice

TOTAL_TOLERANCE_CENTS = 1  # Bolt and the plugins allow one cent of rounding difference


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
        raise HookError(BoltCode.ORDER_CART_EXPIRED, "The cart has no order_reference")
    order_id = order_id_for(bolt.order_reference)
    codes = list(dict.fromkeys(normalise_code(d.code or d.reference or "") for d in bolt.discounts))
    if "" in codes:
        raise HookError(BoltCode.ORDER_DISCOUNT_NOT_FOUND, "A discount without a code cannot be verified")
    snapshot = store.snapshot(bolt.order_reference, order_id, codes)
    if snapshot.order is not None:
        return _existing(snapshot.order, bolt, order_received_url)
    cart = snapshot.cart
    if cart is None or cart.expires_at <= now:
        raise HookError(BoltCode.ORDER_CART_EXPIRED, "Your session timed out; please refresh your cart")
    if request.currency is not None and request.currency != cart.currency:
        raise HookError(BoltCode.ORDER_ITEM_PRICE_UPDATED, f"The cart is priced in {cart.currency}")
    if cart.status != "open":
        raise HookError(BoltCode.ORDER_ALREADY_EXISTS, "An order already exists for this cart")

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
        raise HookError(BoltCode.ORDER_ITEM_PRICE_UPDATED, "The tax for your cart has changed; please try again")
    if bolt.total_amount is None or abs(bolt.total_amount - totals.total) > TOTAL_TOLERANCE_CENTS:
        raise HookError(BoltCode.ORDER_ITEM_PRICE_UPDATED, "Your cart total has changed; please try again")

    order = Order(
        order_id=order_id,
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
        contact_email=_contact_email(bolt),
        created_at=now,
        updated_at=now,
    )
    event = OutboxEvent(
        event_id=f"{order_id}:order.created",
        event_type="order.created",
        order_id=order_id,
        occurred_at=now,
        detail={"status": order.status, "total": totals.total},
    )
    limits = {code: record.definition.max_uses for code, record in snapshot.discounts.items()}
    try:
        store.create_order(order, event, limits)
    except OrderExists:
        existing = store.get_order(order_id)
        if existing is None:
            raise HookError(BoltCode.ORDER_ALREADY_EXISTS, "An order already exists for this cart") from None
        return _existing(existing, bolt, order_received_url)
    except OutOfStock as exc:
        raise HookError(BoltCode.ORDER_OUT_OF_INVENTORY, f"Item {exc.sku} is no longer available") from exc
    except DiscountExhausted as exc:
        raise HookError(
            BoltCode.ORDER_DISCOUNT_CANNOT_APPLY, f"The coupon code {exc.code} can no longer be used"
        ) from exc
    return OrderCreatedData(display_id=order_id, order_received_url=order_received_url(order_id), total=totals.total)


def _contact_email(bolt: Cart) -> str | None:
    """Where the confirmation goes: the billing email, else the shipping one."""
    addresses = [bolt.billing_address, *(s.shipping_address for s in bolt.shipments)]
    return next((a.email for a in addresses if a is not None and a.email), None)


def _existing(order: Order, bolt: Cart, order_received_url: Callable[[str], str]) -> OrderCreatedData:
    if order.status == "cancelled":
        raise HookError(BoltCode.ORDER_REJECTED, "This order was cancelled after a declined payment")
    if bolt.total_amount is None or abs(bolt.total_amount - order.totals.total) > TOTAL_TOLERANCE_CENTS:
        raise HookError(BoltCode.ORDER_ALREADY_EXISTS, "An order with a different total exists for this cart")
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
        raise HookError(BoltCode.ORDER_ITEM_PRICE_UPDATED, "Item details were out of date; please try again")
    prices = {line.sku: line.unit_price for line in current}
    for item in bolt.items:
        if item.unit_price != prices[item.catalog_sku or ""]:
            raise HookError(BoltCode.ORDER_ITEM_PRICE_UPDATED, "Item details were out of date; please try again")
    for line in cart.lines:
        if line.unit_price != prices[line.sku]:
            raise HookError(BoltCode.ORDER_ITEM_PRICE_UPDATED, "Item details were out of date; please try again")
    return cart.lines


def _verified_shipping(lines: list[CartLine], bolt: Cart, view: CatalogView) -> PricedChoice | None:
    """The chosen option priced as order.tax priced it. Digital-only carts may come without one."""
    shipment = bolt.shipments[0] if bolt.shipments else None
    if shipment is None or not shipment.reference:
        if not any(line.needs_shipping for line in lines):
            return None
        raise HookError(BoltCode.ORDER_SHIPPING_PRICE_UPDATED, "No shipping option was chosen")
    try:
        choice = price_choice(lines, view, shipment.reference, shipment.shipping_address)
    except HookError as exc:
        raise HookError(BoltCode.ORDER_SHIPPING_PRICE_UPDATED, exc.message) from exc
    if shipment.cost is not None and shipment.cost != choice.cost:
        raise HookError(BoltCode.ORDER_SHIPPING_PRICE_UPDATED, "The shipping amount for your cart has changed")
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
    except HookError as exc:
        code = (
            BoltCode.ORDER_DISCOUNT_NOT_FOUND
            if exc.code == BoltCode.DISCOUNT_CODE_INVALID
            else BoltCode.ORDER_DISCOUNT_CANNOT_APPLY
        )
        raise HookError(code, exc.message) from exc
    claimed = {normalise_code(d.code or d.reference or ""): d.amount for d in bolt.discounts}
    for discount in applied:
        amount = claimed.get(discount.code)
        if amount is not None and abs(amount - discount.amount) > TOTAL_TOLERANCE_CENTS:
            raise HookError(BoltCode.ORDER_DISCOUNT_CANNOT_APPLY, f"The coupon code {discount.code} no longer applies")
    return applied
