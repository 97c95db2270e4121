"""Carts we priced and stored, and the discount codes on them: the stored cart, its lines priced from the
catalog, the open cart a request names, what each code takes off, our cart in Bolt's shape, and the ports the
checkout stores implement (checkout/store.py)."""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol

from pydantic import Field

from bolt_merchant.catalog.models import CatalogView, Discount, line_of
from bolt_merchant.core.errors import BoltCode, Conflict, Invalid, NotFound
from bolt_merchant.core.models import (
    AppliedDiscount,
    CartLine,
    CurrencyCode,
    OwnModel,
    Reference,
    basis_points_of,
    is_reference,
)

if TYPE_CHECKING:
    from bolt_merchant.orders.models import Order, OutboxEvent


class StoredCart(OwnModel):
    cart_id: Reference
    currency: CurrencyCode
    lines: list[CartLine]
    discount_codes: list[str] = []
    status: Literal["open", "ordered"] = "open"
    version: Annotated[int, Field(ge=1)] = 1
    order_id: str | None = None
    bolt_order_token: str | None = None
    bolt_order_token_version: int | None = None
    created_at: datetime
    expires_at: datetime

    @property
    def subtotal(self) -> int:
        return sum(line.total for line in self.lines)


@dataclass(frozen=True)
class DiscountRecord:
    """A discount definition with its current usage counter (never cached: limits depend on it)."""

    definition: Discount
    uses: int

    @property
    def exhausted(self) -> bool:
        limit = self.definition.max_uses
        return limit is not None and self.uses >= limit


@dataclass(frozen=True)
class PricingContext:
    """What a discount is measured against: merchandise subtotal, chosen shipping and tax, all in cents."""

    subtotal: int
    shipping: int
    tax: int

    @property
    def ceiling(self) -> int:
        """Bolt refuses a discount above items + shipping + tax."""
        return self.subtotal + self.shipping + self.tax


def normalise_code(code: str) -> str:
    return code.strip().upper()


def evaluate(code: str, record: DiscountRecord | None, context: PricingContext, now: datetime) -> AppliedDiscount:
    """The discount this code gives for this cart now, or Invalid with Bolt's 62xx code."""
    if record is None:
        raise Invalid(f"The coupon code {code} is not found", BoltCode.DISCOUNT_CODE_INVALID)
    discount = record.definition
    if not discount.active:
        raise Invalid(f"The coupon code {code} is no longer available", BoltCode.DISCOUNT_CODE_NOT_AVAILABLE)
    if discount.starts_at is not None and now < discount.starts_at:
        raise Invalid(f"The coupon code {code} is not active yet", BoltCode.DISCOUNT_CODE_NOT_AVAILABLE)
    if discount.ends_at is not None and now >= discount.ends_at:
        raise Invalid(f"The coupon code {code} has expired", BoltCode.DISCOUNT_CODE_EXPIRED)
    if record.exhausted:
        raise Invalid(f"The coupon code {code} has reached its usage limit", BoltCode.DISCOUNT_LIMIT_REACHED)
    if context.subtotal < discount.min_subtotal:
        raise Invalid(
            f"The coupon code {code} needs a subtotal of at least {discount.min_subtotal} cents",
            BoltCode.DISCOUNT_MINIMUM_NOT_MET,
        )
    if discount.type == "fixed_amount":
        amount = discount.amount or 0
    elif discount.type == "percentage":
        amount = basis_points_of(context.subtotal, (discount.percent or 0) * 100)
    else:
        amount = context.shipping
    return AppliedDiscount(
        code=discount.code,
        type=discount.type,
        amount=min(amount, context.ceiling),
        description=discount.description,
    )


def evaluate_all(
    codes: list[str], records: dict[str, DiscountRecord], context: PricingContext, now: datetime
) -> list[AppliedDiscount]:
    """Several codes on one cart: each is evaluated alone, and together they never exceed the ceiling."""
    applied = []
    remaining = context.ceiling
    for code in codes:
        discount = evaluate(code, records.get(code), context, now)
        granted = min(discount.amount, remaining)
        remaining -= granted
        applied.append(discount.model_copy(update={"amount": granted}))
    return applied


@dataclass(frozen=True)
class CheckoutSnapshot:
    """Everything order.create reads, fetched together."""

    cart: StoredCart | None
    order: "Order | None"
    discounts: dict[str, DiscountRecord]


class OrderExists(Exception):
    """The order for this cart was written by someone else first (a retried or concurrent order.create)."""


class OutOfStock(Exception):
    def __init__(self, sku: str) -> None:
        super().__init__(sku)
        self.sku = sku


class DiscountExhausted(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class CartConflict(Exception):
    """The cart changed (or became an order) since it was read."""


class CartStore(Protocol):
    def get_cart(self, cart_id: str) -> StoredCart | None: ...

    def cart_with_discounts(
        self, cart_id: str | None, codes: Iterable[str]
    ) -> tuple[StoredCart | None, dict[str, DiscountRecord]]:
        """The cart (None when cart_id is None or unknown) and the codes found, in one read."""
        ...

    def create_cart(self, cart: StoredCart) -> None: ...

    def replace_cart(self, cart: StoredCart, expected_version: int) -> None:
        """Raises CartConflict when the stored version is not expected_version or the cart is no longer open."""
        ...

    def discounts(self, codes: Iterable[str]) -> dict[str, DiscountRecord]: ...


@dataclass(frozen=True)
class ShardCounts:
    """How the counters order.create writes are split (catalog/inventory.py): active stock shards per sku, usage
    shards per discount code; one (the item itself) when absent."""

    stock: Mapping[str, int] = field(default_factory=dict)
    usage: Mapping[str, int] = field(default_factory=dict)


class CheckoutStore(CartStore, Protocol):
    def get_order(self, order_id: str) -> "Order | None": ...

    def snapshot(self, cart_id: str, order_id: str, codes: Iterable[str]) -> CheckoutSnapshot: ...

    def create_order(
        self,
        order: "Order",
        event: "OutboxEvent",
        discount_limits: Mapping[str, int | None],
        shards: ShardCounts = ShardCounts(),
    ) -> None:
        """Atomically: write the order, reserve every line's stock (from shards with enough, recorded on the
        order), count each discount use (below its limit), close the cart, and record the event. Raises
        OrderExists, OutOfStock or DiscountExhausted and writes nothing then."""
        ...


class BoltOrderTokens(Protocol):
    def create_order_token(self, order_request: dict[str, Any]) -> str: ...


def priced_lines(quantities: Counter[str], view: CatalogView) -> list[CartLine]:
    """Lines priced from the catalog; unknown SKUs and quantities above stock are refused."""
    lines = []
    for sku, quantity in quantities.items():
        product = view.products.get(sku)
        if product is None:
            raise Invalid(f"Item {sku} is not sold here", BoltCode.CART_PRODUCT_NOT_FOUND)
        if quantity > product.inventory:
            raise Invalid(f"Only {product.inventory} of {sku} left in stock", BoltCode.CART_ITEM_OUT_OF_STOCK)
        lines.append(line_of(product, quantity))
    return lines


def cart_discounts(cart: StoredCart, store: CartStore, now: datetime) -> list[AppliedDiscount]:
    if not cart.discount_codes:
        return []
    records = store.discounts(cart.discount_codes)
    return evaluate_all(cart.discount_codes, records, PricingContext(cart.subtotal, 0, 0), now)


def open_cart(cart_id: str, store: CartStore, now: datetime) -> StoredCart:
    cart = store.get_cart(cart_id) if is_reference(cart_id) else None
    if cart is None or cart.expires_at <= now:
        raise NotFound("Cart not found or expired", BoltCode.ORDER_CART_EXPIRED)
    if cart.status != "open":
        raise Conflict("This cart has already become an order", BoltCode.ORDER_ALREADY_EXISTS)
    return cart


def bolt_cart(cart: StoredCart, discounts: list[AppliedDiscount]) -> dict[str, Any]:
    """Every cent accounted for: total = items - discounts (shipping and tax come later, from the hooks)."""
    discount_total = sum(d.amount for d in discounts)
    return {
        "order_reference": cart.cart_id,
        "display_id": "",
        "currency": cart.currency,
        "total_amount": cart.subtotal - discount_total,
        "tax_amount": 0,
        "items": [
            {
                "reference": line.sku,
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "total_amount": line.total,
                "type": "physical" if line.needs_shipping else "digital",
                "taxable": line.taxable,
            }
            for line in cart.lines
        ],
        "discounts": [
            {
                "amount": d.amount,
                "code": d.code,
                "reference": d.code,
                "description": d.description,
                "type": d.type,
                "discount_category": "coupon",
            }
            for d in discounts
        ],
        "shipments": [],
        "metadata": {"cart_version": str(cart.version)},
    }
