"""Our cart in the shape Bolt's order-token request and cart.update response expect (reference §5.1)."""

from typing import Any

from bolt_merchant.models.applied_discount import AppliedDiscount
from bolt_merchant.models.carts import StoredCart


def bolt_cart(cart: StoredCart, discounts: list[AppliedDiscount]) -> dict[str, Any]:
    """Every cent accounted for: total = items - discounts (shipping and tax come later, from the hooks)."""
    discount_total = sum(d.amount for d in discounts)
    return {
        "order_reference": cart.cart_id,
        "display_id": "",
        "currency": cart.currency,
        "total_amount": cart.subtotal - discount_total,
        "tax_amount": 0,
        "items": [
            {
                "reference": line.sku,
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "total_amount": line.total,
                "type": "physical" if line.needs_shipping else "digital",
                "taxable": line.taxable,
            }
            for line in cart.lines
        ],
        "discounts": [
            {
                "amount": d.amount,
                "code": d.code,
                "reference": d.code,
                "description": d.description,
                "type": d.type,
                "discount_category": "coupon",
            }
            for d in discounts
        ],
        "shipments": [],
        "metadata": {"cart_version": str(cart.version)},
    }
