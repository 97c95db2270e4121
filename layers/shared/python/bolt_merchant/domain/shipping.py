"""Delivery and in-store pickup options for a cart and an address."""

import math
from dataclasses import dataclass

from bolt_merchant.domain.catalog import subtotal
from bolt_merchant.domain.errors import BoltCode, HookError
from bolt_merchant.models.bolt import Address
from bolt_merchant.models.cart_line import CartLine
from bolt_merchant.models.catalog import PickupStore, ShippingSettings

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
        raise HookError(BoltCode.ADDRESS_OR_CART_INVALID, "The cart is empty")
    if not any(line.needs_shipping for line in lines):
        return ShippingQuote(
            deliveries=[DeliveryQuote(reference=NO_SHIPPING_REFERENCE, service="No Shipping Required", cost=0)],
            pickups=[],
        )
    country = address.country
    if country not in settings.countries:
        raise HookError(BoltCode.ADDRESS_OR_CART_INVALID, f"We do not ship to {country}")
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
        raise HookError(BoltCode.ADDRESS_OR_CART_INVALID, "No shipping option is available for this address")
    return ShippingQuote(deliveries=deliveries, pickups=pickups)


def choose(quote: ShippingQuote, reference: str) -> DeliveryQuote | PickupQuote:
    """The option with this reference, as we price it now; gone or never offered is the shopper's cart changing."""
    options: list[DeliveryQuote | PickupQuote] = [*quote.deliveries, *quote.pickups]
    for option in options:
        if option.reference == reference:
            return option
    raise HookError(BoltCode.ADDRESS_OR_CART_INVALID, f"Shipping option {reference} is not available")
