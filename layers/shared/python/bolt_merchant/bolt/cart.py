"""The cart Bolt sends with every hook and webhook (reference §3): tolerant of both amount shapes and of nulls.
Each hook's own request model lives with its answer, in the checkout module named after the hook."""

from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field

from bolt_merchant.core.models import Cents, CurrencyCode, InboundModel, NullableList, Quantity, Reference, ShortText


def _empty_as_none(value: Any) -> Any:
    return None if value == "" else value


class Address(InboundModel):
    street_address1: ShortText | None = None
    street_address2: ShortText | None = None
    locality: ShortText | None = None
    region: ShortText | None = None
    postal_code: Annotated[str, Field(max_length=16)] | None = None
    country_code: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]
    first_name: ShortText | None = None
    last_name: ShortText | None = None
    email: ShortText | None = Field(default=None, validation_alias=AliasChoices("email", "email_address"))
    phone: ShortText | None = Field(default=None, validation_alias=AliasChoices("phone", "phone_number"))

    @property
    def country(self) -> str:
        return self.country_code.upper()

    @property
    def postal_prefix(self) -> str:
        """US ZIP+4 and spaced Canadian codes reduce to the part our location table is keyed by."""
        return (self.postal_code or "").strip().upper().split("-")[0].replace(" ", "")


class CartItem(InboundModel):
    reference: Annotated[Reference | None, BeforeValidator(_empty_as_none)] = None
    sku: Annotated[Reference | None, BeforeValidator(_empty_as_none)] = None
    name: ShortText | None = None
    quantity: Quantity
    unit_price: Cents
    total_amount: Cents | None = None
    taxable: bool | None = None
    type: ShortText | None = None

    @property
    def catalog_sku(self) -> str | None:
        """Our carts send the SKU in both fields; other producers may fill only one."""
        return self.sku or self.reference


class CartDiscount(InboundModel):
    code: ShortText | None = None
    reference: ShortText | None = None
    amount: Cents | None = None
    description: ShortText | None = None
    type: ShortText | None = None
    discount_category: ShortText | None = None


class Shipment(InboundModel):
    reference: ShortText | None = None
    service: ShortText | None = None
    cost: Cents | None = None
    tax_amount: Cents | None = None
    shipping_address: Address | None = None


class Cart(InboundModel):
    order_reference: Annotated[Reference | None, BeforeValidator(_empty_as_none)] = None
    display_id: ShortText | None = None
    currency: CurrencyCode | None = None
    total_amount: Cents | None = None
    subtotal_amount: Cents | None = None
    tax_amount: Cents | None = None
    shipping_amount: Cents | None = None
    discount_amount: Cents | None = None
    items: Annotated[NullableList[CartItem], Field(max_length=500)] = []
    discounts: Annotated[NullableList[CartDiscount], Field(max_length=50)] = []
    shipments: Annotated[NullableList[Shipment], Field(max_length=10)] = []
    metadata: dict[str, ShortText] | None = None
    discount_code: ShortText | None = None
    billing_address: Address | None = None
