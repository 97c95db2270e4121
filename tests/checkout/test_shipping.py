"""Delivery and pickup options (checkout/pricing.py quote_shipping and choose, checkout/shipping.py shipping_options)
over the demo catalog."""

import math
from typing import Any

import pytest
from bolt_merchant.bolt.cart import Address
from bolt_merchant.catalog.models import ShippingMethod
from bolt_merchant.checkout import shipping as order_shipping
from bolt_merchant.checkout.pricing import NO_SHIPPING_REFERENCE, choose, distance_miles, price_items, quote_shipping
from bolt_merchant.checkout.shipping import ShippingRequest
from bolt_merchant.core.errors import BoltCode, answer_for
from bolt_merchant.core.errors import Invalid as HookError
from bolt_merchant.core.models import CartLine

from tests.fakes import MemoryCatalog
from tests.support import demo_catalog, demo_products

SETTINGS = demo_catalog().shipping
METHODS = {method.reference: method for method in SETTINGS.options}
STORES = {store.reference: store for store in SETTINGS.pickup_stores}
STANDARD = METHODS["standard"]
assert STANDARD.free_over_subtotal is not None
FREE_OVER = STANDARD.free_over_subtotal


def address(country: str = "US", postal_code: str | None = "94108", region: str | None = "California") -> Address:
    return Address(country_code=country, postal_code=postal_code, region=region)


def lines(*skus: tuple[str, int]) -> list[CartLine]:
    return price_items(skus, demo_products())


def line_worth(cents: int, needs_shipping: bool = True) -> list[CartLine]:
    """One line of exactly `cents` (the catalog's prices cannot add up to every boundary)."""
    return [
        CartLine(
            sku="BOUNDARY", name="Boundary", quantity=1, unit_price=cents, taxable=True, needs_shipping=needs_shipping
        )
    ]


def offered_in(country: str) -> list[ShippingMethod]:
    return [m for m in SETTINGS.options if m.countries is None or country in m.countries]


def references(quote: Any) -> list[str]:
    return [d.reference for d in quote.deliveries]


class TestDeliveries:
    def test_us_gets_every_method_at_catalog_prices_under_the_threshold(self) -> None:
        quote = quote_shipping(lines(("TOTE-BLUE", 1)), address(), SETTINGS)

        assert [(d.reference, d.service, d.cost) for d in quote.deliveries] == [
            (m.reference, m.service, m.cost) for m in offered_in("US")
        ]
        assert "overnight" in references(quote)

    def test_overnight_is_us_only_so_canada_gets_standard_and_express(self) -> None:
        quote = quote_shipping(lines(("TOTE-BLUE", 1)), address("CA", "M5V 3L9", "Ontario"), SETTINGS)

        assert references(quote) == ["standard", "express"]
        assert references(quote) == [m.reference for m in offered_in("CA")]

    @pytest.mark.parametrize(
        ("subtotal", "standard_cost"),
        [(FREE_OVER - 1, STANDARD.cost), (FREE_OVER, 0), (FREE_OVER + 1, 0)],
        ids=["just-under", "at-threshold", "over"],
    )
    def test_standard_is_free_from_the_threshold_on(self, subtotal: int, standard_cost: int) -> None:
        quote = quote_shipping(line_worth(subtotal), address(), SETTINGS)
        costs = {d.reference: d.cost for d in quote.deliveries}

        assert costs["standard"] == standard_cost
        assert costs["express"] == METHODS["express"].cost  # no threshold on the others

    def test_threshold_counts_the_whole_merchandise_subtotal(self) -> None:
        products = demo_products()
        cart = lines(("HOODIE-M", 1), ("TOTE-BLUE", 1))
        assert products["HOODIE-M"].unit_price + products["TOTE-BLUE"].unit_price >= FREE_OVER

        quote = quote_shipping(cart, address(), SETTINGS)

        assert {d.reference: d.cost for d in quote.deliveries}["standard"] == 0

    @pytest.mark.parametrize("country", ["FR", "GB", "MX"])
    def test_a_country_we_do_not_serve_is_refused_with_6103(self, country: str) -> None:
        with pytest.raises(HookError) as caught:
            quote_shipping(lines(("TOTE-BLUE", 1)), address(country, None, None), SETTINGS)

        assert caught.value.code == BoltCode.ADDRESS_OR_CART_INVALID == 6103
        assert answer_for(caught.value).status == 422

    def test_lower_case_country_codes_are_served(self) -> None:
        assert references(quote_shipping(lines(("TOTE-BLUE", 1)), address("ca", None, None), SETTINGS)) == [
            "standard",
            "express",
        ]

    @pytest.mark.parametrize("country", ["US", "FR"])
    def test_a_digital_only_cart_gets_the_single_no_shipping_option(self, country: str) -> None:
        quote = quote_shipping(lines(("GIFT-25", 2)), address(country), SETTINGS)

        assert [(d.reference, d.cost) for d in quote.deliveries] == [(NO_SHIPPING_REFERENCE, 0)]
        assert quote.pickups == []

    def test_a_mixed_cart_needs_shipping(self) -> None:
        quote = quote_shipping(lines(("GIFT-25", 1), ("MUG-12OZ", 1)), address(), SETTINGS)

        assert references(quote) == [m.reference for m in offered_in("US")]

    def test_an_empty_cart_is_refused(self) -> None:
        with pytest.raises(HookError) as caught:
            quote_shipping([], address(), SETTINGS)

        assert caught.value.code == BoltCode.ADDRESS_OR_CART_INVALID


class TestPickup:
    def test_94102_gets_the_union_square_store_with_its_distance(self) -> None:
        origin = SETTINGS.postal_code_locations["94102"]
        store = STORES["store-sf"]
        expected_distance = round(distance_miles(origin, (store.latitude, store.longitude)), 1)

        quote = quote_shipping(lines(("TOTE-BLUE", 1)), address(postal_code="94102"), SETTINGS)

        assert [(p.reference, p.cost, p.distance_miles) for p in quote.pickups] == [
            ("store-sf", store.cost, expected_distance)
        ]
        assert 0 < expected_distance <= SETTINGS.pickup_radius_miles

    def test_zip_plus_four_finds_the_same_store(self) -> None:
        quote = quote_shipping(lines(("TOTE-BLUE", 1)), address(postal_code="94102-3300"), SETTINGS)

        assert [p.reference for p in quote.pickups] == ["store-sf"]

    def test_livermore_94550_is_outside_the_radius(self) -> None:
        origin = SETTINGS.postal_code_locations["94550"]
        store = STORES["store-sf"]
        assert distance_miles(origin, (store.latitude, store.longitude)) > SETTINGS.pickup_radius_miles

        quote = quote_shipping(lines(("TOTE-BLUE", 1)), address(postal_code="94550"), SETTINGS)

        assert quote.pickups == []
        assert references(quote) == [m.reference for m in offered_in("US")]

    def test_new_york_gets_the_soho_store(self) -> None:
        quote = quote_shipping(lines(("TOTE-BLUE", 1)), address(postal_code="10044", region="NY"), SETTINGS)

        assert [p.reference for p in quote.pickups] == ["store-nyc"]

    def test_unknown_postal_code_or_none_gets_no_pickup(self) -> None:
        for postal_code in ("99999", None, ""):
            quote = quote_shipping(lines(("TOTE-BLUE", 1)), address(postal_code=postal_code), SETTINGS)
            assert quote.pickups == []

    def test_stores_in_another_country_are_not_offered(self) -> None:
        # a Canadian address that happens to share a US postal prefix must not get a US store
        quote = quote_shipping(lines(("TOTE-BLUE", 1)), address("CA", "94102", "Ontario"), SETTINGS)

        assert quote.pickups == []

    def test_distance_is_the_great_circle_distance(self) -> None:
        # independent check with the spherical law of cosines, and a known figure: SF to NYC is about 2,565 miles
        sf, nyc = STORES["store-sf"], STORES["store-nyc"]
        a, b = (sf.latitude, sf.longitude), (nyc.latitude, nyc.longitude)
        lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
        cosines = 3958.8 * math.acos(
            math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
        )

        assert distance_miles(a, b) == pytest.approx(cosines, rel=1e-9)
        assert distance_miles(a, b) == pytest.approx(2565, abs=5)
        assert distance_miles(a, a) == 0


class TestChoose:
    def test_a_delivery_or_a_pickup_by_reference(self) -> None:
        quote = quote_shipping(lines(("TOTE-BLUE", 1)), address(postal_code="94102"), SETTINGS)

        assert choose(quote, "express").cost == METHODS["express"].cost
        assert choose(quote, "store-sf").reference == "store-sf"

    @pytest.mark.parametrize("reference", ["teleport", "overnight"])
    def test_an_option_not_offered_for_this_address_is_refused(self, reference: str) -> None:
        quote = quote_shipping(lines(("TOTE-BLUE", 1)), address("CA", None, "Ontario"), SETTINGS)

        with pytest.raises(HookError) as caught:
            choose(quote, reference)

        assert caught.value.code == BoltCode.ADDRESS_OR_CART_INVALID


class TestShippingOptionsHook:
    """order_shipping.shipping_options: the order.shipping answer, priced from the catalog, not from the request."""

    def request(self, *items: dict[str, Any], postal_code: str = "94102", currency: str = "USD") -> ShippingRequest:
        return ShippingRequest.model_validate(
            {
                "cart": {"currency": currency, "items": list(items)},
                "shipping_address": {"country_code": "US", "region": "CA", "postal_code": postal_code},
            }
        )

    def test_prices_come_from_the_catalog_not_the_request(self) -> None:
        # the request claims a $1 hoodie; the catalog price decides the free-shipping threshold
        hoodie = demo_products()["HOODIE-M"]
        request = self.request({"sku": "HOODIE-M", "quantity": 2, "unit_price": 100})
        assert 2 * hoodie.unit_price >= FREE_OVER

        data = order_shipping.shipping_options(request, MemoryCatalog())

        assert {o.reference: o.cost for o in data.shipping_options}["standard"] == 0

    def test_answer_has_deliveries_without_tax_and_pickups(self) -> None:
        data = order_shipping.shipping_options(
            self.request({"sku": "TOTE-BLUE", "quantity": 1, "unit_price": 2400}), MemoryCatalog()
        )

        assert [(o.reference, o.tax_amount) for o in data.shipping_options] == [
            (m.reference, 0) for m in offered_in("US")
        ]
        assert [p.reference for p in data.in_store_pickup_options] == ["store-sf"]
        assert data.in_store_pickup_options[0].address.model_dump() == STORES["store-sf"].address.model_dump()

    def test_an_item_we_do_not_sell_is_refused(self) -> None:
        with pytest.raises(HookError) as caught:
            order_shipping.shipping_options(
                self.request({"sku": "NOT-SOLD", "quantity": 1, "unit_price": 1}), MemoryCatalog()
            )

        assert caught.value.code == BoltCode.ADDRESS_OR_CART_INVALID

    def test_an_item_without_sku_or_reference_is_refused(self) -> None:
        with pytest.raises(HookError):
            order_shipping.shipping_options(self.request({"quantity": 1, "unit_price": 1}), MemoryCatalog())

    def test_another_currency_is_refused(self) -> None:
        with pytest.raises(HookError) as caught:
            order_shipping.shipping_options(
                self.request({"sku": "TOTE-BLUE", "quantity": 1, "unit_price": 2400}, currency="EUR"), MemoryCatalog()
            )

        assert caught.value.code == BoltCode.ADDRESS_OR_CART_INVALID
