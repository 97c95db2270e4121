"""Operator catalog operations: one product, its stock, one discount code, the store settings; each change
conditional on what was read (a stale `If-Match` is refused, concurrent checkouts never lost) and audited with the
caller's IAM ARN. Rules only: the store (admin_store.py) applies each change in one transaction.

Stock levels and discount uses are never set by a definition change: a product's stock moves only through
`change_stock` (and order.create, releases, restocks); a code's uses only through order.create and releases.
Changing `stock_shards` (`usage_shards`) spreads what the shards hold over the new count, in the same transaction.
"""

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal, Protocol, Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError, model_validator

from bolt_merchant.catalog.inventory import MAX_SHARDS, added, rebalanced, slots_for, take_plan
from bolt_merchant.catalog.models import DISCOUNT_CODE, Discount, Product, StoreSettings
from bolt_merchant.core.errors import AdminCode, Conflict, DependencyUnavailable, Invalid, NotFound, PreconditionFailed
from bolt_merchant.core.models import Cents, is_reference

_ATTEMPTS = 5  # reads and conditional writes again while checkouts keep moving the stock


class OperatorRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, frozen=True, defer_build=True)


class ProductChange(OperatorRequest):
    """PUT /catalog/products/{sku}: the whole definition (stock is changed through .../stock)."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    unit_price: Cents
    taxable: StrictBool
    type: Literal["physical", "digital"]
    weight_g: Annotated[StrictInt, Field(ge=0, le=1_000_000)] = 0
    active: StrictBool = True
    stock_shards: Annotated[StrictInt, Field(ge=1, le=MAX_SHARDS)] = 1


class StockChange(OperatorRequest):
    """POST /catalog/products/{sku}/stock: `{"adjust": n, "reason": "..."}` or `{"set": n, "expected": m}`."""

    adjust: Annotated[StrictInt, Field(ge=-1_000_000, le=1_000_000)] | None = None
    reason: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    set: Annotated[StrictInt, Field(ge=0, le=10_000_000)] | None = None
    expected: Annotated[StrictInt, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _one_change(self) -> Self:
        if (self.adjust is None) == (self.set is None):
            raise ValueError("send either adjust (with reason) or set (with expected)")
        if self.adjust is not None and (self.reason is None or self.expected is not None):
            raise ValueError("adjust needs a reason and takes no expected")
        if self.set is not None and self.expected is None:
            raise ValueError("set needs the level it expects to replace")
        return self


class DiscountChange(OperatorRequest):
    """PUT /catalog/discounts/{code}: the whole definition; its uses are kept."""

    type: Literal["fixed_amount", "percentage", "free_shipping"]
    description: Annotated[str, Field(min_length=1, max_length=500)]
    amount: Cents | None = None
    percent: Annotated[StrictInt, Field(ge=1, le=100)] | None = None
    min_subtotal: Cents = 0
    max_uses: Annotated[StrictInt, Field(ge=0)] | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    active: StrictBool = True
    usage_shards: Annotated[StrictInt, Field(ge=1, le=MAX_SHARDS)] = 1


@dataclass(frozen=True)
class Shard:
    shard: int
    available: int  # units (stock) or uses counted (discounts)
    reserved: int = 0


@dataclass(frozen=True)
class StoredProduct:
    product: Product  # inventory: the units available over every shard
    revision: int
    shards: tuple[Shard, ...]

    @property
    def reserved(self) -> int:
        return sum(shard.reserved for shard in self.shards)

    @property
    def active_shards(self) -> int:
        return self.product.stock_shards

    def levels(self) -> dict[int, int]:
        return {shard.shard: shard.available for shard in self.shards}


@dataclass(frozen=True)
class StoredDiscount:
    discount: Discount
    revision: int
    shards: tuple[Shard, ...]  # available: the uses each usage shard counted

    @property
    def uses(self) -> int:
        return sum(shard.available for shard in self.shards)

    @property
    def active_shards(self) -> int:
        return self.discount.usage_shards


@dataclass(frozen=True)
class StoredSettings:
    settings: StoreSettings
    revision: int


@dataclass(frozen=True)
class ShardWrite:
    """One shard's counter moved by `delta`, on a condition: exactly `seen` there before, or at least `at_least`."""

    shard: int
    delta: int
    seen: int | None = None
    at_least: int | None = None


@dataclass(frozen=True)
class Audit:
    """One audit trail item: who (IAM ARN) changed what, when, and the change itself."""

    target: str
    action: str
    operator: str
    at: datetime
    change: Mapping[str, Any]


class Moved(Exception):
    """A condition failed: the item changed since it was read (another operator, or a checkout moving stock)."""


class CatalogAdminStore(Protocol):
    def product(self, sku: str) -> StoredProduct | None: ...

    def put_product(
        self, product: Product, revision: int, slots: int, writes: Sequence[ShardWrite], audit: Audit
    ) -> None:
        """The definition (stock untouched but for `writes`) if the stored revision is still `revision` (0: no
        product yet), and the audit item, in one transaction. Raises Moved."""
        ...

    def write_stock(self, sku: str, writes: Sequence[ShardWrite], audit: Audit) -> None:
        """The stock shards' `inventory` moved as `writes` say, and the audit item, in one transaction. Raises Moved."""
        ...

    def discount(self, code: str) -> StoredDiscount | None: ...

    def put_discount(
        self, discount: Discount, revision: int, slots: int, writes: Sequence[ShardWrite], audit: Audit
    ) -> None:
        """As put_product, for a code; `writes` move its usage shards' `uses`. Raises Moved."""
        ...

    def settings(self) -> StoredSettings | None: ...

    def put_settings(self, settings: StoreSettings, revision: int, audit: Audit) -> None:
        """The settings if the stored revision is still `revision` (0: none yet), and the audit item. Raises Moved."""
        ...


# ---------------------------------------------------------------- identities and versions


def checked_sku(sku: str) -> str:
    """Path parameters end up in DynamoDB keys: anything that cannot be a sku is simply not found."""
    if not is_reference(sku):
        raise NotFound("Product not found", AdminCode.CATALOG_ITEM_NOT_FOUND)
    return sku


def checked_code(code: str) -> str:
    if not re.fullmatch(DISCOUNT_CODE, code):
        raise NotFound("Discount code not found", AdminCode.CATALOG_ITEM_NOT_FOUND)
    return code


def etag(revision: int) -> str:
    return f'"{revision}"'


class _Stored(Protocol):
    @property
    def revision(self) -> int: ...


def _matches(if_match: str | None, current: _Stored | None) -> None:
    """A stale (or malformed) If-Match is refused before anything is written (`current`: None when nothing is
    stored yet)."""
    if if_match is None:
        return
    tags = {tag.strip() for tag in if_match.split(",")}
    if "*" in tags and current is not None:
        return
    if current is None or etag(current.revision) not in tags:
        raise PreconditionFailed("If-Match does not name the current version: read it again", None)


def _found[Stored](found: Stored | None, message: str) -> Stored:
    if found is None:
        raise NotFound(message, AdminCode.CATALOG_ITEM_NOT_FOUND)
    return found


def _replaced(
    before: BaseModel | None,
    after: BaseModel,
    mode: Literal["python", "json"] = "python",
    exclude: set[str] | None = None,
) -> dict[str, Any]:
    """The audited change of a definition replaced whole: what it was (None: new) and what it is now."""
    return {
        "before": before.model_dump(mode=mode, exclude=exclude) if before else None,
        "after": after.model_dump(mode=mode, exclude=exclude),
    }


def _written(attempt: Callable[[], None], what: str) -> None:
    """A conditional write, read and tried again while checkouts (or another operator) move the item under it."""
    for _ in range(_ATTEMPTS):
        try:
            attempt()
        except Moved:
            continue
        return
    raise DependencyUnavailable(f"{what} kept changing while it was written")


# ---------------------------------------------------------------- products and stock


def get_product(store: CatalogAdminStore, sku: str) -> StoredProduct:
    return _found(store.product(checked_sku(sku)), "Product not found")


def put_product(
    store: CatalogAdminStore, sku: str, change: ProductChange, *, if_match: str | None, operator: str, now: datetime
) -> StoredProduct:
    checked_sku(sku)

    audit = partial(Audit, f"product:{sku}", "put_product", operator, now)

    def attempt() -> None:
        current = store.product(sku)
        _matches(if_match, current)
        product = Product(sku=sku, inventory=current.product.inventory if current else 0, **change.model_dump())
        before = current.product if current else None
        _put_sharded(
            store.put_product, current, before, product, shards=change.stock_shards, audit=audit, exclude={"inventory"}
        )

    _written(attempt, "the product")
    return get_product(store, sku)


def _moves(levels: Mapping[int, int], target: Mapping[int, int]) -> list[ShardWrite]:
    """Shard writes from `levels` to `target`, each conditional on the level read."""
    return [
        ShardWrite(shard, target[shard] - levels.get(shard, 0), seen=levels.get(shard, 0))
        for shard in sorted(target)
        if target[shard] != levels.get(shard, 0)
    ]


class _Sharded(Protocol):
    @property
    def shards(self) -> tuple[Shard, ...]: ...

    @property
    def active_shards(self) -> int: ...


def _resharding(current: _Sharded | None, wanted: int) -> tuple[int, list[ShardWrite]]:
    """The shard slots of a definition (a product's stock, a code's uses) that asks for `wanted` active shards, and
    the writes that spread what its shards count over them (none while the number stays the same)."""
    if current is None:
        return wanted, []
    slots = len(slots_for(wanted, len(current.shards)))
    if wanted == current.active_shards:
        return slots, []
    levels = {shard.shard: shard.available for shard in current.shards}
    return slots, _moves(levels, rebalanced(levels, wanted))


class _ShardedStored(_Sharded, _Stored, Protocol): ...


def _put_sharded[Definition: BaseModel](
    put: Callable[[Definition, int, int, Sequence[ShardWrite], Audit], None],
    current: _ShardedStored | None,
    before: Definition | None,
    after: Definition,
    *,
    shards: int,
    audit: Callable[[Mapping[str, Any]], Audit],
    **dump: Any,
) -> None:
    """A product's or a code's definition replaced whole at the revision read (0: none yet), its shards spread over
    `shards`, what it was and is audited (`dump`: how the audit dumps them). Raises Moved."""
    slots, writes = _resharding(current, shards)
    revision = current.revision if current else 0
    put(after, revision, slots, writes, audit(_replaced(before, after, **dump)))


def change_stock(
    store: CatalogAdminStore, sku: str, change: StockChange, *, operator: str, now: datetime
) -> StoredProduct:
    """Adjust (a signed number of units, with a reason) or set (when the level is still `expected`) the units
    available. Never below zero: 409 instead. Concurrent checkouts are never lost: every write is conditional."""

    def attempt() -> None:
        current = get_product(store, sku)
        levels = current.levels()
        available = sum(levels.values())
        active = current.active_shards
        if change.set is not None:
            if available != change.expected:
                raise Conflict(
                    f"The stock level is {available}, not {change.expected}: read it again",
                    AdminCode.STOCK_CONFLICT,
                    {"available": available, "reserved": current.reserved},
                )
            writes = _moves(levels, rebalanced(levels, active, total=change.set))
        elif change.adjust is not None and change.adjust >= 0:
            writes = [ShardWrite(shard, units) for shard, units in added(levels, change.adjust, active).items()]
        else:
            units = -(change.adjust or 0)
            plan = take_plan(levels, units, sorted(levels))
            if plan is None:
                raise Conflict(
                    f"Only {available} unit(s) are available: the stock cannot go below zero",
                    AdminCode.STOCK_CONFLICT,
                    {"available": available, "reserved": current.reserved},
                )
            writes = [ShardWrite(shard, -taken, at_least=taken) for shard, taken in plan.items()]
        audit = Audit(
            f"product:{sku}",
            "change_stock",
            operator,
            now,
            {**change.model_dump(exclude_none=True), "available_before": available},
        )
        store.write_stock(sku, writes, audit)

    _written(attempt, "the stock")
    return get_product(store, sku)


# ---------------------------------------------------------------- discount codes


def get_discount(store: CatalogAdminStore, code: str) -> StoredDiscount:
    return _found(store.discount(checked_code(code)), "Discount code not found")


def put_discount(
    store: CatalogAdminStore, code: str, change: DiscountChange, *, if_match: str | None, operator: str, now: datetime
) -> StoredDiscount:
    checked_code(code)
    try:
        discount = Discount(code=code, **change.model_dump())
    except ValidationError as exc:  # the definition's own consistency (an amount for fixed_amount, ends after starts)
        reasons = "; ".join(str(error["msg"]).removeprefix("Value error, ") for error in exc.errors())
        raise Invalid(f"Invalid discount: {reasons}") from None

    audit = partial(Audit, f"discount:{code}", "put_discount", operator, now)

    def attempt() -> None:
        current = store.discount(code)
        _matches(if_match, current)
        before = current.discount if current else None
        _put_sharded(
            store.put_discount, current, before, discount, shards=change.usage_shards, audit=audit, mode="json"
        )

    _written(attempt, "the discount code")
    return get_discount(store, code)


# ---------------------------------------------------------------- store settings


def get_settings(store: CatalogAdminStore) -> StoredSettings:
    return _found(store.settings(), "The store settings were never loaded")


def put_settings(
    store: CatalogAdminStore, settings: StoreSettings, *, if_match: str | None, operator: str, now: datetime
) -> StoredSettings:
    """Shipping rates, pickup stores and tax rates, replaced as a whole (validated whole by the model)."""
    current = store.settings()
    _matches(if_match, current)
    replaced = _replaced(current.settings if current else None, settings, mode="json")
    audit = Audit("settings", "put_settings", operator, now, replaced)
    try:
        store.put_settings(settings, current.revision if current else 0, audit)
    except Moved:
        raise PreconditionFailed("The settings changed meanwhile: read them again", None) from None
    return get_settings(store)
