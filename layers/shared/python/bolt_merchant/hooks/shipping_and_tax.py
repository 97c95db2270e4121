"""order.shipping_and_tax."""

from bolt_merchant.domain import shipping_and_tax
from bolt_merchant.http.bolt_hooks import Hook
from bolt_merchant.models.order_shipping import ShippingRequest
from bolt_merchant.wiring.catalog import catalog

SHIPPING_AND_TAX = Hook(
    "order.shipping_and_tax", ShippingRequest, lambda r: shipping_and_tax.shipping_and_tax(r, catalog())
)
