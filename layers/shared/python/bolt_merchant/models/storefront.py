"""The storefront API (our own, not Bolt's): create a cart priced by us, ask for a Bolt order token."""

from typing import Annotated

from pydantic import Field

from bolt_merchant.models.carts import StoredCart
from bolt_merchant.models.common import CurrencyCode, InboundModel, OwnModel, Quantity, Reference


class StorefrontItem(InboundModel):
    """Prices a browser sends are ignored: the cart is priced from the catalog."""

    sku: Reference
    quantity: Quantity


class CreateCartRequest(InboundModel):
    currency: CurrencyCode
    items: Annotated[list[StorefrontItem], Field(min_length=1, max_length=100)]
    discount_codes: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=5)] = []


class CartLineView(OwnModel):
    sku: str
    name: str
    quantity: int
    unit_price: int
    total: int


class CartView(OwnModel):
    cart_id: str
    currency: str
    status: str
    version: int
    items: list[CartLineView]
    subtotal: int
    discount_codes: list[str]

    @classmethod
    def of(cls, cart: StoredCart) -> "CartView":
        return cls(
            cart_id=cart.cart_id,
            currency=cart.currency,
            status=cart.status,
            version=cart.version,
            items=[
                CartLineView(
                    sku=line.sku, name=line.name, quantity=line.quantity, unit_price=line.unit_price, total=line.total
                )
                for line in cart.lines
            ],
            subtotal=cart.subtotal,
            discount_codes=cart.discount_codes,
        )


class CreatedCart(OwnModel):
    cart_id: str
    cart: CartView


class OrderToken(OwnModel):
    cart_id: str
    order_token: str
