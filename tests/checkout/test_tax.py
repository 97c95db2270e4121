"""Sales tax (checkout/pricing.py compute_tax, region_key) and the order.tax / order.shipping_and_tax answers
(checkout/tax.py, checkout/shipping_and_tax.py), over the demo catalog."""

from typing import Any

import pytest
from bolt_merchant.checkout import shipping_and_tax
from bolt_merchant.checkout import tax as order_tax
from bolt_merchant.checkout.pricing import compute_tax, price_items, region_key
from bolt_merchant.checkout.shipping import ShippingRequest
from bolt_merchant.checkout.tax import TaxRequest
from bolt_merchant.core.errors import BoltCode
from bolt_merchant.core.errors import Invalid as HookError
from bolt_merchant.core.models import CartLine, basis_points_of

from tests.fakes import MemoryCatalog
from tests.support import demo_catalog, demo_products

TAX = demo_catalog().tax
SHIPPING = demo_catalog().shipping
METHODS = {method.reference: method for method in SHIPPING.options}
STORES = {store.reference: store for store in SHIPPING.pickup_stores}
CA_RATE = TAX.rates_basis_points["US-CA"]
NY_RATE = TAX.rates_basis_points["US-NY"]


def lines(*skus: tuple[str, int]) -> list[CartLine]:
    return price_items(skus, demo_products())


def line_of(total: int, taxable: bool = True) -> CartLine:
    return CartLine(sku="L", name="Line", quantity=1, unit_price=total, taxable=taxable, needs_shipping=True)


def expected_items_tax(cart: list[CartLine], rate: int) -> int:
    return sum(basis_points_of(line.unit_price * line.quantity, rate) for line in cart if line.taxable)


class TestRegionKey:
    @pytest.mark.parametrize(
        ("country", "region", "key"),
        [
            ("US", "California", "US-CA"),
            ("US", "CA", "US-CA"),
            ("us", " ca ", "US-CA"),
            ("US", "New York", "US-NY"),
            ("CA", "Ontario", "CA-ON"),
            ("US", "Nowhere", "US-NOWHERE"),
            ("US", None, "US-"),
        ],
    )
    def test_aliases_and_codes_map_to_country_region(self, country: str, region: str | None, key: str) -> None:
        assert region_key(country, region, TAX) == key


class TestComputeTax:
    def test_each_taxable_line_at_the_region_rate(self) -> None:
        cart = lines(("TOTE-BLUE", 2), ("MUG-12OZ", 1), ("GIFT-25", 1))

        tax = compute_tax(cart, 0, "US-CA", TAX)

        assert tax.line_taxes == [basis_points_of(4800, CA_RATE), basis_points_of(1600, CA_RATE), 0]
        assert tax.items_tax == expected_items_tax(cart, CA_RATE)
        assert tax.total == tax.items_tax

    def test_rounds_half_up_per_line_not_on_the_cart_total(self) -> None:
        # a line total whose tax is exactly k.5 cents: per line it rounds up twice, on the sum only once
        half = next(t for t in range(1, 10_000) if (t * CA_RATE) % 10_000 == 5_000)
        cart = [line_of(half), line_of(half)]
        per_line = 2 * ((half * CA_RATE) // 10_000 + 1)

        tax = compute_tax(cart, 0, "US-CA", TAX)

        assert tax.items_tax == per_line
        assert tax.items_tax == basis_points_of(2 * half, CA_RATE) + 1

    @pytest.mark.parametrize("region", sorted(TAX.rates_basis_points))
    def test_shipping_is_taxed_only_where_the_region_taxes_it(self, region: str) -> None:
        cost = METHODS["express"].cost
        rate = TAX.rates_basis_points[region]
        expected = basis_points_of(cost, rate) if region in TAX.shipping_taxable_regions else 0

        assert compute_tax(lines(("MUG-12OZ", 1)), cost, region, TAX).shipping_tax == expected

    def test_california_does_not_tax_shipping_but_new_york_does(self) -> None:
        cost = METHODS["express"].cost
        assert "US-CA" not in TAX.shipping_taxable_regions
        assert "US-NY" in TAX.shipping_taxable_regions

        assert compute_tax([], cost, "US-CA", TAX).shipping_tax == 0
        assert compute_tax([], cost, "US-NY", TAX).shipping_tax == basis_points_of(cost, NY_RATE) > 0

    def test_non_taxable_lines_pay_nothing(self) -> None:
        assert compute_tax(lines(("GIFT-25", 4)), 0, "US-NY", TAX).total == 0

    @pytest.mark.parametrize("region", ["US-NOWHERE", "US-", "FR-IDF"])
    def test_an_unknown_region_uses_the_default_rate(self, region: str) -> None:
        cart = lines(("HOODIE-M", 1))
        assert TAX.default_basis_points == 0
        assert compute_tax(cart, 0, region, TAX).total == 0

        with_default = TAX.model_copy(update={"default_basis_points": 500})
        assert compute_tax(cart, 0, region, with_default).items_tax == expected_items_tax(cart, 500)

    def test_a_zero_rate_region_is_not_the_default(self) -> None:
        with_default = TAX.model_copy(update={"default_basis_points": 500})

        assert compute_tax(lines(("HOODIE-M", 1)), 0, "US-OR", with_default).total == 0


def cart(*items: tuple[str, int]) -> dict[str, Any]:
    products = demo_products()
    return {
        "currency": "USD",
        "items": [{"sku": sku, "quantity": q, "unit_price": products[sku].unit_price} for sku, q in items],
    }


SF = {"country_code": "US", "region": "California", "postal_code": "94102"}
NYC = {"country_code": "US", "region": "New York", "postal_code": "10044"}


class TestTaxHook:
    def test_delivery_in_california(self) -> None:
        request = TaxRequest.model_validate(
            {
                "cart": cart(("TOTE-BLUE", 2), ("MUG-12OZ", 1)),
                "shipping_address": SF,
                "shipping_option": {"reference": "standard"},
            }
        )

        data = order_tax.tax(request, MemoryCatalog())

        standard = METHODS["standard"]
        assert data.model_dump(exclude_none=True) == {
            "tax_result": {"subtotal_amount": expected_items_tax(lines(("TOTE-BLUE", 2), ("MUG-12OZ", 1)), CA_RATE)},
            "shipping_option": {
                "service": standard.service,
                "reference": "standard",
                "cost": standard.cost,
                "tax_amount": 0,
            },
        }

    def test_delivery_in_new_york_taxes_the_shipping(self) -> None:
        request = TaxRequest.model_validate(
            {"cart": cart(("MUG-12OZ", 1)), "shipping_address": NYC, "shipping_option": {"reference": "express"}}
        )

        data = order_tax.tax(request, MemoryCatalog())

        assert data.shipping_option is not None
        assert data.shipping_option.tax_amount == basis_points_of(METHODS["express"].cost, NY_RATE)
        assert data.tax_result.subtotal_amount == expected_items_tax(lines(("MUG-12OZ", 1)), NY_RATE)

    def test_the_cost_bolt_echoes_back_is_ignored(self) -> None:
        request = TaxRequest.model_validate(
            {
                "cart": cart(("MUG-12OZ", 1)),
                "shipping_address": NYC,
                "shipping_option": {"reference": "express", "service": "Cheap", "cost": 1},
            }
        )

        data = order_tax.tax(request, MemoryCatalog())

        assert data.shipping_option is not None
        assert (data.shipping_option.service, data.shipping_option.cost) == (
            METHODS["express"].service,
            METHODS["express"].cost,
        )

    def test_free_standard_shipping_carries_no_shipping_tax(self) -> None:
        request = TaxRequest.model_validate(
            {"cart": cart(("HOODIE-M", 2)), "shipping_address": NYC, "shipping_option": {"reference": "standard"}}
        )

        data = order_tax.tax(request, MemoryCatalog())

        assert data.shipping_option is not None
        assert (data.shipping_option.cost, data.shipping_option.tax_amount) == (0, 0)

    def test_pickup_is_taxed_where_the_store_is(self) -> None:
        # a New York shopper picking up in San Francisco pays California tax
        store = STORES["store-sf"]
        request = TaxRequest.model_validate(
            {"cart": cart(("HOODIE-M", 1)), "shipping_address": NYC, "ship_to_store_option": {"reference": "store-sf"}}
        )

        data = order_tax.tax(request, MemoryCatalog())

        assert data.shipping_option is None
        assert data.in_store_pickup_option is not None
        assert data.in_store_pickup_option.reference == "store-sf"
        assert data.in_store_pickup_option.cost == store.cost
        assert data.tax_result.subtotal_amount == expected_items_tax(lines(("HOODIE-M", 1)), CA_RATE)

    def test_pickup_needs_no_shipping_address(self) -> None:
        request = TaxRequest.model_validate(
            {"cart": cart(("HOODIE-M", 1)), "ship_to_store_option": {"reference": "store-nyc"}}
        )

        data = order_tax.tax(request, MemoryCatalog())

        assert data.tax_result.subtotal_amount == expected_items_tax(lines(("HOODIE-M", 1)), NY_RATE)

    @pytest.mark.parametrize(
        "payload",
        [
            {"shipping_address": SF, "shipping_option": {"reference": "teleport"}},
            {"shipping_option": {"reference": "standard"}},
            {"shipping_address": SF},
            {
                "shipping_address": {"country_code": "CA", "region": "Ontario"},
                "shipping_option": {"reference": "overnight"},
            },
        ],
        ids=["unknown-option", "delivery-without-address", "no-option", "overnight-to-canada"],
    )
    def test_refusals_are_6103(self, payload: dict[str, Any]) -> None:
        request = TaxRequest.model_validate({"cart": cart(("MUG-12OZ", 1)), **payload})

        with pytest.raises(HookError) as caught:
            order_tax.tax(request, MemoryCatalog())

        assert caught.value.code == BoltCode.ADDRESS_OR_CART_INVALID


class TestShippingAndTaxHook:
    def test_each_option_carries_the_whole_tax_if_chosen(self) -> None:
        items = (("TOTE-BLUE", 1), ("MUG-12OZ", 1))
        request = ShippingRequest.model_validate({"cart": cart(*items), "shipping_address": NYC})
        items_tax = expected_items_tax(lines(*items), NY_RATE)

        data = shipping_and_tax.shipping_and_tax(request, MemoryCatalog())

        assert data.model_dump() == {
            "shipping_options": [
                {
                    "service": m.service,
                    "reference": m.reference,
                    "cost": m.cost,
                    "tax_amount": items_tax + basis_points_of(m.cost, NY_RATE),
                }
                for m in SHIPPING.options
            ],
            "tax_result": {"amount": 0},
        }

    def test_pickup_stores_are_not_offered_by_the_combined_hook(self) -> None:
        request = ShippingRequest.model_validate({"cart": cart(("MUG-12OZ", 1)), "shipping_address": SF})

        data = shipping_and_tax.shipping_and_tax(request, MemoryCatalog())

        assert "store-sf" not in [o.reference for o in data.shipping_options]
