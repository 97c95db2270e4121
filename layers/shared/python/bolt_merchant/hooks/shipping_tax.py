"""order.shipping, order.tax and order.shipping_and_tax: priced from the catalog, nothing stored."""

from bolt_merchant.domain import shipping_tax
from bolt_merchant.http.bolt_hooks import Hook
from bolt_merchant.models.shipping_tax import ShippingRequest, TaxRequest
from bolt_merchant.wiring.catalog import catalog

SHIPPING = Hook("order.shipping", ShippingRequest, lambda r: shipping_tax.shipping_options(r, catalog()))
TAX = Hook("order.tax", TaxRequest, lambda r: shipping_tax.tax(r, catalog()))
SHIPPING_AND_TAX = Hook(
    "order.shipping_and_tax", ShippingRequest, lambda r: shipping_tax.shipping_and_tax(r, catalog())
)
