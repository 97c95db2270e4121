"""Pricing rules every hook that quotes money shares (shipping, tax, discounts, order.create): Bolt's cart
priced from our catalog, delivery and in-store pickup options for an address, and sales tax by region, rounded half
up per line."""

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bolt_merchant.bolt.cart import Address, Cart, CartItem
from bolt_merchant.catalog.models import (
    CatalogReader,
    CatalogView,
    PickupStore,
    Product,
    ShippingSettings,
    TaxSettings,
    line_of,
    subtotal,
)
from bolt_merchant.core.errors import BoltCode, Invalid
from bolt_merchant.core.models import CartLine, basis_points_of


@dataclass(frozen=True)
class TaxBreakdown:
    line_taxes: list[int]
    shipping_tax: int

    @property
    def items_tax(self) -> int:
        return sum(self.line_taxes)

    @property
    def total(self) -> int:
        return self.items_tax + self.shipping_tax


def region_key(country_code: str, region: str | None, settings: TaxSettings) -> str:
    """'US' + 'California' or 'CA' -> 'US-CA'."""
    name = (region or "").strip()
    code = settings.region_aliases.get(name, name).upper()
    return f"{country_code.upper()}-{code}"


def compute_tax(
    lines: Sequence[CartLine],
    shipping_cost: int,
    region: str,
    settings: TaxSettings,
) -> TaxBreakdown:
    """Tax each taxable line on its price; shipping only where the region taxes it.

    The base is the pre-discount price: Bolt may call order.tax before or after discounts.code.apply, and a tax
    that does not depend on that order is one order.create can always reproduce to the cent.
    """
    rate = settings.rates_basis_points.get(region, settings.default_basis_points)
    line_taxes = [basis_points_of(line.total, rate) if line.taxable else 0 for line in lines]
    shipping_tax = basis_points_of(shipping_cost, rate) if region in settings.shipping_taxable_regions else 0
    return TaxBreakdown(line_taxes=line_taxes, shipping_tax=shipping_tax)


NO_SHIPPING_REFERENCE = "noshipping"


_EARTH_RADIUS_MILES = 3958.8


@dataclass(frozen=True)
class DeliveryQuote:
    reference: str
    service: str
    cost: int


@dataclass(frozen=True)
class PickupQuote:
    store: PickupStore
    distance_miles: float

    @property
    def reference(self) -> str:
        return self.store.reference

    @property
    def cost(self) -> int:
        return self.store.cost


@dataclass(frozen=True)
class ShippingQuote:
    deliveries: list[DeliveryQuote]
    pickups: list[PickupQuote]


def distance_miles(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle (haversine) distance between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * _EARTH_RADIUS_MILES * math.asin(math.sqrt(h))


def _nearby_stores(address: Address, settings: ShippingSettings) -> list[PickupQuote]:
    origin = settings.postal_code_locations.get(address.postal_prefix)
    if origin is None:
        return []
    quotes = [
        PickupQuote(store=store, distance_miles=round(distance_miles(origin, (store.latitude, store.longitude)), 1))
        for store in settings.pickup_stores
        if store.address.country_code == address.country
    ]
    return sorted(
        (q for q in quotes if q.distance_miles <= settings.pickup_radius_miles), key=lambda q: q.distance_miles
    )


def quote_shipping(lines: list[CartLine], address: Address, settings: ShippingSettings) -> ShippingQuote:
    """Options Bolt shows the shopper. Digital-only carts need no delivery; unserved countries are refused."""
    if not lines:
        raise Invalid("The cart is empty", BoltCode.ADDRESS_OR_CART_INVALID)
    if not any(line.needs_shipping for line in lines):
        return ShippingQuote(
            deliveries=[DeliveryQuote(reference=NO_SHIPPING_REFERENCE, service="No Shipping Required", cost=0)],
            pickups=[],
        )
    country = address.country
    if country not in settings.countries:
        raise Invalid(f"We do not ship to {country}", BoltCode.ADDRESS_OR_CART_INVALID)
    merchandise = subtotal(lines)
    deliveries = [
        DeliveryQuote(
            reference=method.reference,
            service=method.service,
            cost=0
            if method.free_over_subtotal is not None and merchandise >= method.free_over_subtotal
            else method.cost,
        )
        for method in settings.options
        if method.countries is None or country in method.countries
    ]
    pickups = _nearby_stores(address, settings)
    if not deliveries and not pickups:
        raise Invalid("No shipping option is available for this address", BoltCode.ADDRESS_OR_CART_INVALID)
    return ShippingQuote(deliveries=deliveries, pickups=pickups)


def choose(quote: ShippingQuote, reference: str) -> DeliveryQuote | PickupQuote:
    """The option with this reference, as we price it now; gone or never offered is the shopper's cart changing."""
    options: list[DeliveryQuote | PickupQuote] = [*quote.deliveries, *quote.pickups]
    for option in options:
        if option.reference == reference:
            return option
    raise Invalid(f"Shipping option {reference} is not available", BoltCode.ADDRESS_OR_CART_INVALID)


def _bolt_cart_skus(items: Iterable[CartItem]) -> list[tuple[str, int]]:
    pairs = []
    for item in items:
        sku = item.catalog_sku
        if sku is None:
            raise Invalid("Every cart item needs a sku or reference", BoltCode.ADDRESS_OR_CART_INVALID)
        pairs.append((sku, item.quantity))
    return pairs


def priced_cart(cart: Cart, catalog: CatalogReader) -> tuple[CatalogView, list[CartLine]]:
    pairs = _bolt_cart_skus(cart.items)
    view = catalog.view(sku for sku, _ in pairs)
    if cart.currency is not None and cart.currency != view.settings.currency:
        raise Invalid(f"Carts in {cart.currency} are not supported", BoltCode.ADDRESS_OR_CART_INVALID)
    return view, price_items(pairs, view.products)


@dataclass(frozen=True)
class PricedChoice:
    """The delivery or pickup option a shopper chose, priced by us, with the tax it brings."""

    reference: str
    service: str
    cost: int
    tax: TaxBreakdown
    pickup: PickupQuote | None = None


def price_choice(lines: list[CartLine], view: CatalogView, reference: str, address: Address | None) -> PricedChoice:
    """Pickup is taxed where the store is; delivery where the parcel goes."""
    tax_settings = view.settings.tax
    stores = {store.reference: store for store in view.settings.shipping.pickup_stores}
    store = stores.get(reference)
    if store is not None:
        region = region_key(store.address.country_code, store.address.region, tax_settings)
        return PricedChoice(
            reference=reference,
            service=store.store_name,
            cost=store.cost,
            tax=compute_tax(lines, store.cost, region, tax_settings),
            pickup=PickupQuote(store=store, distance_miles=0.0),
        )
    if address is None:
        raise Invalid("A shipping address is needed for delivery", BoltCode.ADDRESS_OR_CART_INVALID)
    option = choose(quote_shipping(lines, address, view.settings.shipping), reference)
    region = region_key(address.country, address.region, tax_settings)
    return PricedChoice(
        reference=reference,
        service=option.service if isinstance(option, DeliveryQuote) else option.store.store_name,
        cost=option.cost,
        tax=compute_tax(lines, option.cost, region, tax_settings),
    )


def price_items(items: Iterable[tuple[str, int]], products: Mapping[str, Product]) -> list[CartLine]:
    """Price (sku, quantity) pairs from the catalog. An unknown SKU is a cart we cannot serve."""
    lines = []
    for sku, quantity in items:
        product = products.get(sku)
        if product is None:
            raise Invalid(f"Item {sku} is not sold here", BoltCode.ADDRESS_OR_CART_INVALID)
        lines.append(line_of(product, quantity))
    return lines
