"""Answers to discounts.code.apply, order.create and cart.update (reference §3.3, §3.6, §3.7)."""

from typing import Any

from bolt_merchant.models.common import OwnModel


class DiscountData(OwnModel):
    discount_code: str
    discount_amount: int
    discount_description: str
    discount_type: str
    discount_category: str = "coupon"


class OrderCreatedData(OwnModel):
    display_id: str
    order_received_url: str
    total: int


class CartUpdateData(OwnModel):
    order_create: dict[str, Any]
