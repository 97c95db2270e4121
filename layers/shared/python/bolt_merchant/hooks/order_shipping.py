"""order.shipping."""

from bolt_merchant.domain import order_shipping
from bolt_merchant.http.bolt_hooks import Hook
from bolt_merchant.models.order_shipping import ShippingRequest
from bolt_merchant.wiring.catalog import catalog

SHIPPING = Hook("order.shipping", ShippingRequest, lambda r: order_shipping.shipping_options(r, catalog()))
