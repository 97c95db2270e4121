"""What Bolt sends in Merchant Callback hooks (reference §3). Tolerant of both amount shapes and of nulls."""

from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field

from bolt_merchant.models.common import (
    Cents,
    CurrencyCode,
    InboundModel,
    NullableList,
    Quantity,
    Reference,
)

ShortText = Annotated[str, Field(max_length=256)]


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


class ShippingOptionChoice(InboundModel):
    """The option the shopper picked, echoed back to us by order.tax."""

    reference: ShortText
    service: ShortText | None = None
    cost: Cents | None = None


class ShippingRequest(InboundModel):
    """order.shipping and order.shipping_and_tax."""

    cart: Cart
    shipping_address: Address


class TaxRequest(InboundModel):
    """order.tax: called once the shopper has chosen a delivery or pickup option."""

    cart: Cart
    shipping_address: Address | None = None
    shipping_option: ShippingOptionChoice | None = None
    ship_to_store_option: ShippingOptionChoice | None = Field(
        default=None, validation_alias=AliasChoices("ship_to_store_option", "in_store_pickup_option", "pickup_option")
    )


class DiscountApplyRequest(InboundModel):
    """discounts.code.apply: the code may come top-level or inside the cart (both seen in Bolt material)."""

    discount_code: ShortText | None = None
    cart: Cart

    @property
    def code(self) -> str | None:
        return self.discount_code or self.cart.discount_code


class BoltOrder(InboundModel):
    token: ShortText | None = None
    cart: Cart


class OrderCreateRequest(InboundModel):
    """order.create (pre-authorisation): Bolt's order token and the cart the shopper is paying for."""

    order: BoltOrder
    currency: CurrencyCode | None = None


class CartUpdateItem(InboundModel):
    product_id: Reference
    quantity: Quantity


class CartUpdateRequest(InboundModel):
    cart: Cart
    add_items: NullableList[CartUpdateItem] = []
    remove_items: NullableList[CartUpdateItem] = []
    discount_codes_to_add: NullableList[ShortText] = []
    discount_codes_to_remove: NullableList[ShortText] = []
