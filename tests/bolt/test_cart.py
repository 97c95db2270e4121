"""What Bolt sends (bolt/cart.py, on the hooks' request models, with core/models.py's amounts and references): both
amount shapes, nulls, aliases, strict types (T29, T32, T35), and validation errors that never carry the input."""

from typing import Any

import pytest
from bolt_merchant.bolt.cart import Address, Cart, CartItem
from bolt_merchant.checkout.shipping import ShippingOptionOut, ShippingRequest
from bolt_merchant.checkout.tax import TaxRequest
from bolt_merchant.core.models import MAX_CENTS
from pydantic import ValidationError

from tests.support import CANARY

ADDRESS = {"country_code": "US", "region": "California", "postal_code": "94102"}


def item(**overrides: Any) -> dict[str, Any]:
    return {"sku": "TOTE-BLUE", "quantity": 1, "unit_price": 2400, **overrides}


class TestAmounts:
    @pytest.mark.parametrize(
        "unit_price",
        [2400, {"amount": 2400, "currency": "USD", "currency_symbol": "$"}, {"amount": 2400}],
        ids=["integer", "object", "object-without-currency"],
    )
    def test_both_amount_shapes_give_integer_cents(self, unit_price: Any) -> None:
        assert CartItem.model_validate(item(unit_price=unit_price)).unit_price == 2400

    def test_every_amount_field_accepts_both_shapes(self) -> None:
        cart = Cart.model_validate(
            {
                "total_amount": {"amount": 7400, "currency": "USD"},
                "tax_amount": 0,
                "shipping_amount": {"amount": 500},
                "discount_amount": None,
                "subtotal_amount": None,
            }
        )

        assert (cart.total_amount, cart.tax_amount, cart.shipping_amount, cart.discount_amount) == (7400, 0, 500, None)

    @pytest.mark.parametrize(
        "unit_price",
        [
            True,
            False,
            24.0,
            2400.0,
            "2400",
            "24.00",
            None,
            {"amount": "2400"},
            {"amount": True},
            {"amount": 24.5},
            {"amount": None},
            {},
            [2400],
            -1,
            MAX_CENTS + 1,
            10**26,
        ],
        ids=repr,
    )
    def test_anything_but_non_negative_integer_cents_is_rejected(self, unit_price: Any) -> None:
        with pytest.raises(ValidationError) as caught:
            CartItem.model_validate(item(unit_price=unit_price))

        assert [error["loc"] for error in caught.value.errors()] == [("unit_price",)]

    @pytest.mark.parametrize("quantity", [0, -1, 10_001, 1.0, "1", True, None])
    def test_quantity_is_a_strict_bounded_integer(self, quantity: Any) -> None:
        with pytest.raises(ValidationError):
            CartItem.model_validate(item(quantity=quantity))

    @pytest.mark.parametrize(
        ("currency", "expected"), [("USD", "USD"), ({"currency": "USD", "currency_symbol": "$"}, "USD")]
    )
    def test_currency_in_both_shapes(self, currency: Any, expected: str) -> None:
        assert Cart.model_validate({"currency": currency}).currency == expected

    @pytest.mark.parametrize("currency", ["usd", "US", "USDX", 840, {"currency": "usd"}, {"code": "USD"}])
    def test_currency_must_be_three_capital_letters(self, currency: Any) -> None:
        with pytest.raises(ValidationError):
            Cart.model_validate({"currency": currency})


class TestNullsAndUnknownFields:
    def test_null_lists_mean_empty(self) -> None:
        cart = Cart.model_validate({"items": None, "shipments": None, "discounts": None, "metadata": None})

        assert (cart.items, cart.shipments, cart.discounts, cart.metadata) == ([], [], [], None)

    def test_missing_lists_mean_empty(self) -> None:
        cart = Cart.model_validate({})

        assert (cart.items, cart.shipments, cart.discounts) == ([], [], [])

    def test_empty_references_mean_absent(self) -> None:
        line = CartItem.model_validate(item(sku="", reference="TOTE-BLUE"))

        assert line.sku is None
        assert line.catalog_sku == "TOTE-BLUE"
        assert Cart.model_validate({"order_reference": ""}).order_reference is None

    def test_unknown_fields_from_bolt_are_ignored(self) -> None:
        # T32: Bolt adds fields; a validly signed payload with extra nested objects is still processed
        request = ShippingRequest.model_validate(
            {
                "cart": {"items": [item(properties=[{"name": "x"}], new_field={"a": [1]})], "is_shopify": False},
                "shipping_address": {**ADDRESS, "geo": {"lat": 1}},
                "request_source": "checkout",
            }
        )

        assert request.cart.items[0].unit_price == 2400

    def test_our_own_models_forbid_unknown_fields(self) -> None:
        with pytest.raises(ValidationError):
            ShippingOptionOut.model_validate({"service": "s", "reference": "r", "cost": 1, "surprise": True})

    def test_inbound_models_are_immutable(self) -> None:
        line = CartItem.model_validate(item())

        with pytest.raises(ValidationError):
            line.quantity = 5  # type: ignore[misc]


class TestAddress:
    @pytest.mark.parametrize(
        ("payload", "email", "phone"),
        [
            ({"email": "a@example.com", "phone": "1"}, "a@example.com", "1"),
            ({"email_address": "a@example.com", "phone_number": "1"}, "a@example.com", "1"),
            ({}, None, None),
        ],
        ids=["email/phone", "email_address/phone_number", "neither"],
    )
    def test_email_and_phone_under_either_name(self, payload: dict[str, Any], email: str, phone: str) -> None:
        address = Address.model_validate({**ADDRESS, **payload})

        assert (address.email, address.phone) == (email, phone)

    @pytest.mark.parametrize("country_code", ["USA", "U", "1A", "", None, "U\u0405"])
    def test_country_code_is_two_letters(self, country_code: Any) -> None:
        with pytest.raises(ValidationError):
            Address.model_validate({**ADDRESS, "country_code": country_code})

    def test_country_is_upper_cased(self) -> None:
        assert Address.model_validate({**ADDRESS, "country_code": "us"}).country == "US"

    @pytest.mark.parametrize(
        ("postal_code", "prefix"), [("94102", "94102"), ("94102-1234", "94102"), (" m5v 3l9 ", "M5V3L9"), (None, "")]
    )
    def test_postal_prefix(self, postal_code: str | None, prefix: str) -> None:
        assert Address.model_validate({**ADDRESS, "postal_code": postal_code}).postal_prefix == prefix


class TestReferences:
    """T35: references end up in DynamoDB keys, so only an allow-list gets through."""

    @pytest.mark.parametrize("reference", ["TOTE-BLUE", "c_demo0001", "a.b:c-d_e", "7", "A" * 128])
    def test_accepted(self, reference: str) -> None:
        assert CartItem.model_validate(item(sku=reference)).sku == reference

    @pytest.mark.parametrize(
        "reference",
        [
            "A#TX#B",
            "#",
            "../",
            "a/b",
            "\u0000",
            "A\u0000",
            " 123 ",
            "123 ",
            "tote blue",
            "-leading-dash",
            "_leading",
            "\u0422OTE",  # Cyrillic capital Te, a homoglyph of T
            "caf\u00e9",
            "A" * 129,
            "A" * 3000,
            "line\nbreak",
            123,
        ],
        ids=repr,
    )
    def test_rejected(self, reference: Any) -> None:
        with pytest.raises(ValidationError):
            CartItem.model_validate(item(sku=reference))
        with pytest.raises(ValidationError):
            Cart.model_validate({"order_reference": reference})


class TestBounds:
    def test_cart_size_is_bounded(self) -> None:
        with pytest.raises(ValidationError):
            Cart.model_validate({"items": [item()] * 501})
        assert len(Cart.model_validate({"items": [item()] * 500}).items) == 500


class TestErrorsNeverCarryTheInput:
    """T29/T49: a ValidationError's text (what ends up in logs) names fields, never the values sent."""

    @pytest.mark.parametrize(
        ("model", "payload"),
        [
            (CartItem, item(sku=f"{CANARY}#TX#1")),
            (CartItem, item(unit_price=f"{CANARY}")),
            (CartItem, item(unit_price={"amount": f"{CANARY}"})),
            (CartItem, item(quantity=f"{CANARY}")),
            (CartItem, item(name=CANARY * 50)),
            (Address, {**ADDRESS, "country_code": CANARY}),
            (Address, {**ADDRESS, "email": f"{CANARY}@example.com" * 20}),
            (Address, {**ADDRESS, "postal_code": f"{CANARY}-94102"}),
            (Cart, {"currency": CANARY}),
            (Cart, {"metadata": {"note": CANARY * 30}}),
            (TaxRequest, {"cart": {}, "shipping_option": {"reference": CANARY * 30}}),
        ],
    )
    def test_canary_absent_from_the_error_text(self, model: type, payload: dict[str, Any]) -> None:
        with pytest.raises(ValidationError) as caught:
            model.model_validate(payload)

        assert CANARY not in str(caught.value)
        assert CANARY not in repr(caught.value)
