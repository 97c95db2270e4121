"""The catalog's definitions, as the hooks read them: products, discount codes, and the store's currency,
shipping and tax settings; and the read-only view of them one request prices from."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal, Protocol

from pydantic import Field, model_validator

from bolt_merchant.catalog.inventory import MAX_SHARDS
from bolt_merchant.core.models import CartLine, Cents, CurrencyCode, OwnModel, Reference

Coordinates = tuple[float, float]
Shards = Annotated[int, Field(ge=1, le=MAX_SHARDS)]


class Product(OwnModel):
    """A product as the hooks price it. `inventory` is the units available (over all stock shards, as last read:
    the hooks may see it up to CATALOG_CACHE_SECONDS late; order.create's conditional writes are the truth).
    A retired product (`active: false`) is kept, and sold no more: the hooks do not see it."""

    sku: Reference
    name: Annotated[str, Field(min_length=1, max_length=200)]
    unit_price: Cents
    inventory: Annotated[int, Field(ge=0)]
    taxable: bool
    type: Literal["physical", "digital"]
    weight_g: Annotated[int, Field(ge=0)] = 0
    active: bool = True
    stock_shards: Shards = 1

    @property
    def needs_shipping(self) -> bool:
        return self.type == "physical"


class ShippingMethod(OwnModel):
    reference: Reference
    service: str
    cost: Cents
    free_over_subtotal: Cents | None = None
    countries: list[str] | None = None


class StoreAddress(OwnModel):
    street_address1: str
    locality: str
    region: str
    postal_code: str
    country_code: str


class PickupStore(OwnModel):
    reference: Reference
    store_name: str
    cost: Cents
    latitude: float
    longitude: float
    address: StoreAddress


class ShippingSettings(OwnModel):
    countries: list[str]
    options: list[ShippingMethod]
    pickup_stores: list[PickupStore] = []
    pickup_radius_miles: Annotated[float, Field(ge=0)] = 0
    postal_code_locations: dict[str, Coordinates] = {}


class TaxSettings(OwnModel):
    rates_basis_points: dict[str, Annotated[int, Field(ge=0, le=10_000)]]
    default_basis_points: Annotated[int, Field(ge=0, le=10_000)] = 0
    shipping_taxable_regions: list[str] = []
    rounding: Literal["half_up_per_line"] = "half_up_per_line"
    region_aliases: dict[str, str] = {}


class StoreSettings(OwnModel):
    """Everything but products and discounts: one item, read once and cached."""

    currency: CurrencyCode
    shipping: ShippingSettings
    tax: TaxSettings


DISCOUNT_CODE = r"^[A-Z0-9_\-]{1,64}$"


class Discount(OwnModel):
    """A discount code. A deactivated one (`active: false`) is refused like one not yet started; its uses are
    counted across `usage_shards` items (catalog/__init__.py)."""

    code: Annotated[str, Field(pattern=DISCOUNT_CODE)]
    type: Literal["fixed_amount", "percentage", "free_shipping"]
    description: Annotated[str, Field(max_length=500)]
    amount: Cents | None = None
    percent: Annotated[int, Field(ge=1, le=100)] | None = None
    min_subtotal: Cents = 0
    max_uses: Annotated[int, Field(ge=0)] | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    active: bool = True
    usage_shards: Shards = 1

    @model_validator(mode="after")
    def _consistent(self) -> "Discount":
        if self.type == "fixed_amount" and self.amount is None:
            raise ValueError("a fixed_amount discount needs an amount")
        if self.type == "percentage" and self.percent is None:
            raise ValueError("a percentage discount needs a percent")
        if self.starts_at is not None and self.ends_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


@dataclass(frozen=True)
class CatalogView:
    settings: StoreSettings
    products: Mapping[str, Product]


class CatalogReader(Protocol):
    def view(self, skus: Iterable[str]) -> CatalogView:
        """Settings plus the named products (missing SKUs are simply absent)."""
        ...


def line_of(product: Product, quantity: int) -> CartLine:
    """A cart line at the catalog's price."""
    return CartLine(
        sku=product.sku,
        name=product.name,
        quantity=quantity,
        unit_price=product.unit_price,
        taxable=product.taxable,
        needs_shipping=product.needs_shipping,
    )


def subtotal(lines: Iterable[CartLine]) -> int:
    return sum(line.total for line in lines)
