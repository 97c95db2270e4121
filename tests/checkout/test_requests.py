"""The hooks' request models (checkout/shipping.py, tax.py, discounts.py): the names Bolt may give each field."""

from typing import Any

import pytest
from bolt_merchant.checkout.discounts import DiscountApplyRequest
from bolt_merchant.checkout.shipping import ShippingRequest
from bolt_merchant.checkout.tax import TaxRequest
from pydantic import ValidationError


class TestRequests:
    @pytest.mark.parametrize("key", ["ship_to_store_option", "in_store_pickup_option", "pickup_option"])
    def test_pickup_choice_under_any_of_its_names(self, key: str) -> None:
        request = TaxRequest.model_validate({"cart": {}, key: {"reference": "store-sf"}})

        assert request.ship_to_store_option is not None
        assert request.ship_to_store_option.reference == "store-sf"

    @pytest.mark.parametrize(
        ("payload", "code"),
        [
            ({"discount_code": "SAVE15", "cart": {"discount_code": "OTHER"}}, "SAVE15"),
            ({"cart": {"discount_code": "FREESHIP"}}, "FREESHIP"),
            ({"discount_code": "", "cart": {"discount_code": "FREESHIP"}}, "FREESHIP"),
            ({"cart": {}}, None),
        ],
    )
    def test_discount_code_top_level_or_in_the_cart(self, payload: dict[str, Any], code: str | None) -> None:
        assert DiscountApplyRequest.model_validate(payload).code == code

    def test_shipping_request_needs_an_address(self) -> None:
        with pytest.raises(ValidationError) as caught:
            ShippingRequest.model_validate({"cart": {}})

        assert [error["loc"] for error in caught.value.errors()] == [("shipping_address",)]
