"""Our own catalog as the hooks read it: products, and the store's currency, shipping and tax settings."""

from typing import Annotated, Literal

from pydantic import Field

from bolt_merchant.models.common import Cents, CurrencyCode, OwnModel, Reference

Coordinates = tuple[float, float]


class Product(OwnModel):
    sku: Reference
    name: str
    unit_price: Cents
    inventory: Annotated[int, Field(ge=0)]
    taxable: bool
    type: Literal["physical", "digital"]
    weight_g: Annotated[int, Field(ge=0)] = 0

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
