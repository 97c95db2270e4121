"""Pricing rules the hooks share, called directly where test_shipping.py and test_tax.py go through a hook: Bolt's
cart priced from the catalog (checkout/pricing.py priced_cart), the chosen option priced with its tax (price_choice),
and what discount codes take off (checkout/carts.py evaluate, evaluate_all), over the in-memory demo catalog."""

from collections.abc import Iterable
from datetime import UTC, datetime

import pytest
from bolt_merchant.bolt.cart import Address, Cart
from bolt_merchant.catalog.models import CatalogView
from bolt_merchant.checkout.carts import DiscountRecord, PricingContext, evaluate, evaluate_all
from bolt_merchant.checkout.pricing import price_choice, priced_cart
from bolt_merchant.core.errors import BoltCode, Invalid
from bolt_merchant.core.models import basis_points_of

from tests.fakes import NOW, MemoryCatalog, Shop

CA_RATE = 725
NY_RATE = 400


@pytest.fixture
def shop() -> Shop:
    return Shop.demo()


def cart(*items: tuple[str, int], currency: str | None = "USD") -> Cart:
    return Cart.model_validate(
        {
            "currency": currency,
            "items": [{"sku": sku, "quantity": quantity, "unit_price": 1} for sku, quantity in items],
        }
    )


def address(region: str = "California", postal_code: str = "94102", country: str = "US") -> Address:
    return Address(country_code=country, region=region, postal_code=postal_code)


class AskedCatalog(MemoryCatalog):
    """The catalog, remembering which SKUs each view asked for (DynamoCatalog reads exactly those)."""

    def __init__(self, shop: Shop) -> None:
        super().__init__(shop)
        self.asked: list[set[str]] = []

    def view(self, skus: Iterable[str]) -> CatalogView:
        wanted = set(skus)
        self.asked.append(wanted)
        return super().view(wanted)


# ---------------------------------------------------------------- priced_cart


class TestPricedCart:
    def test_lines_carry_the_catalogs_price_not_bolts(self, shop: Shop) -> None:
        view, lines = priced_cart(cart(("TOTE-BLUE", 2), ("GIFT-25", 1)), MemoryCatalog(shop))

        assert [(line.sku, line.quantity, line.unit_price, line.needs_shipping) for line in lines] == [
            ("TOTE-BLUE", 2, 2400, True),
            ("GIFT-25", 1, 2500, False),
        ]
        assert set(view.products) == {"TOTE-BLUE", "GIFT-25"}

    def test_the_catalog_is_asked_once_and_only_for_the_carts_skus(self, shop: Shop) -> None:
        catalog = AskedCatalog(shop)

        priced_cart(cart(("MUG-12OZ", 3), ("TOTE-BLUE", 1)), catalog)

        assert catalog.asked == [{"MUG-12OZ", "TOTE-BLUE"}]

    @pytest.mark.parametrize(
        ("bolt", "message"),
        [
            (cart(("NOT-SOLD", 1)), "Item NOT-SOLD is not sold here"),
            (cart(("TOTE-BLUE", 1), currency="CAD"), "Carts in CAD are not supported"),
            (Cart.model_validate({"items": [{"quantity": 1, "unit_price": 1}]}), "needs a sku or reference"),
        ],
        ids=["unknown-sku", "currency", "no-sku"],
    )
    def test_a_cart_we_cannot_price_is_6103(self, shop: Shop, bolt: Cart, message: str) -> None:
        with pytest.raises(Invalid, match=message) as refused:
            priced_cart(bolt, MemoryCatalog(shop))

        assert refused.value.code == BoltCode.ADDRESS_OR_CART_INVALID

    def test_a_cart_without_currency_is_priced_in_the_stores(self, shop: Shop) -> None:
        _, lines = priced_cart(cart(("TOTE-BLUE", 1), currency=None), MemoryCatalog(shop))

        assert [line.unit_price for line in lines] == [2400]


# ---------------------------------------------------------------- price_choice


class TestPriceChoice:
    def test_a_delivery_is_taxed_where_the_parcel_goes(self, shop: Shop) -> None:
        view, lines = priced_cart(cart(("TOTE-BLUE", 1)), MemoryCatalog(shop))

        california = price_choice(lines, view, "express", address())
        new_york = price_choice(lines, view, "express", address("New York", "10012"))

        assert (california.cost, california.tax.line_taxes, california.tax.shipping_tax) == (
            1599,
            [basis_points_of(2400, CA_RATE)],
            0,
        )
        assert (new_york.tax.line_taxes, new_york.tax.shipping_tax) == (
            [basis_points_of(2400, NY_RATE)],
            basis_points_of(1599, NY_RATE),
        )
        assert california.pickup is None

    def test_standard_is_free_from_the_threshold_on(self, shop: Shop) -> None:
        view, lines = priced_cart(cart(("TOTE-BLUE", 3), ("MUG-12OZ", 1)), MemoryCatalog(shop))  # 8800

        choice = price_choice(lines, view, "standard", address("New York", "10012"))

        assert (choice.cost, choice.tax.shipping_tax) == (0, 0)

    def test_a_pickup_is_taxed_where_the_store_is_whatever_the_address(self, shop: Shop) -> None:
        view, lines = priced_cart(cart(("TOTE-BLUE", 1)), MemoryCatalog(shop))

        choice = price_choice(lines, view, "store-sf", address("New York", "10012"))

        assert (choice.service, choice.cost) == ("Union Square Store", 0)
        assert choice.tax.line_taxes == [basis_points_of(2400, CA_RATE)]
        assert choice.pickup is not None
        assert choice.pickup.store.reference == "store-sf"

    def test_a_pickup_needs_no_address(self, shop: Shop) -> None:
        view, lines = priced_cart(cart(("MUG-12OZ", 1)), MemoryCatalog(shop))

        assert price_choice(lines, view, "store-nyc", None).tax.line_taxes == [basis_points_of(1600, NY_RATE)]

    def test_a_delivery_needs_an_address(self, shop: Shop) -> None:
        view, lines = priced_cart(cart(("MUG-12OZ", 1)), MemoryCatalog(shop))

        with pytest.raises(Invalid, match="shipping address is needed") as refused:
            price_choice(lines, view, "standard", None)
        assert refused.value.code == BoltCode.ADDRESS_OR_CART_INVALID

    def test_an_option_not_offered_where_the_parcel_goes_is_refused(self, shop: Shop) -> None:
        view, lines = priced_cart(cart(("MUG-12OZ", 1)), MemoryCatalog(shop))

        with pytest.raises(Invalid, match="overnight is not available"):
            price_choice(lines, view, "overnight", address("Ontario", "M5V3L9", "CA"))


# ---------------------------------------------------------------- discounts


def record(code: str, shop: Shop, uses: int = 0) -> DiscountRecord:
    return DiscountRecord(definition=shop.discount_codes[code], uses=uses)


class TestDiscounts:
    def test_each_type_takes_off_what_it_says(self, shop: Shop) -> None:
        context = PricingContext(subtotal=12345, shipping=599, tax=900)

        amounts = {
            code: evaluate(code, record(code, shop), context, NOW).amount
            for code in ("WELCOME10", "SAVE15", "FREESHIP")
        }

        assert amounts == {"WELCOME10": 1000, "SAVE15": basis_points_of(12345, 1500), "FREESHIP": 599}

    def test_a_discount_never_exceeds_items_shipping_and_tax(self, shop: Shop) -> None:
        applied = evaluate("WELCOME10", record("WELCOME10", shop), PricingContext(500, 100, 50), NOW)

        assert applied.amount == 650

    def test_several_codes_together_stay_under_the_ceiling_in_the_order_given(self, shop: Shop) -> None:
        records = {code: record(code, shop) for code in ("WELCOME10", "ONEUSE", "FREESHIP")}

        roomy = evaluate_all(["FREESHIP", "WELCOME10"], records, PricingContext(5000, 599, 0), NOW)
        tight = evaluate_all(["WELCOME10", "ONEUSE"], records, PricingContext(1200, 0, 0), NOW)

        assert [(d.code, d.amount) for d in roomy] == [("FREESHIP", 599), ("WELCOME10", 1000)]
        assert [(d.code, d.amount) for d in tight] == [("WELCOME10", 1000), ("ONEUSE", 200)]

    @pytest.mark.parametrize(
        ("code", "uses", "when", "expected"),
        [
            ("NOSUCH", 0, NOW, BoltCode.DISCOUNT_CODE_INVALID),
            ("FUTURE20", 0, NOW, BoltCode.DISCOUNT_CODE_NOT_AVAILABLE),
            ("EXPIRED5", 0, NOW, BoltCode.DISCOUNT_CODE_EXPIRED),
            ("EXPIRED5", 0, datetime(2024, 1, 1, tzinfo=UTC), BoltCode.DISCOUNT_CODE_EXPIRED),  # the end is exclusive
            ("ONEUSE", 1, NOW, BoltCode.DISCOUNT_LIMIT_REACHED),
            ("SAVE15", 0, NOW, BoltCode.DISCOUNT_MINIMUM_NOT_MET),
        ],
    )
    def test_each_refusal_has_its_62xx_code(
        self, shop: Shop, code: str, uses: int, when: datetime, expected: BoltCode
    ) -> None:
        found = record(code, shop, uses) if code in shop.discount_codes else None

        with pytest.raises(Invalid) as refused:
            evaluate(code, found, PricingContext(subtotal=6400, shipping=599, tax=0), when)

        assert refused.value.code == expected

    def test_the_day_before_the_end_a_code_still_applies(self, shop: Shop) -> None:
        applied = evaluate(
            "EXPIRED5", record("EXPIRED5", shop), PricingContext(6400, 0, 0), datetime(2023, 12, 31, tzinfo=UTC)
        )

        assert applied.amount == 500
