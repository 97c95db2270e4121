"""cart.update (reference §3.7): items and discount codes to add or remove, and the cart we answer with."""

from typing import Any

from bolt_merchant.models.bolt import Cart
from bolt_merchant.models.common import InboundModel, NullableList, OwnModel, Quantity, Reference, ShortText


class CartUpdateItem(InboundModel):
    product_id: Reference
    quantity: Quantity


class CartUpdateRequest(InboundModel):
    cart: Cart
    add_items: NullableList[CartUpdateItem] = []
    remove_items: NullableList[CartUpdateItem] = []
    discount_codes_to_add: NullableList[ShortText] = []
    discount_codes_to_remove: NullableList[ShortText] = []


class CartUpdateData(OwnModel):
    order_create: dict[str, Any]
