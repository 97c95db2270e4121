"""The Bolt hook catalogue: event name -> request model -> domain call, wired to this container's adapters."""

from bolt_merchant import wiring
from bolt_merchant.domain import shipping_tax
from bolt_merchant.http.bolt_hooks import BoltHookEndpoint, Hook
from bolt_merchant.models.bolt import ShippingRequest, TaxRequest

SHIPPING = Hook("order.shipping", ShippingRequest, lambda r: shipping_tax.shipping_options(r, wiring.catalog()))
TAX = Hook("order.tax", TaxRequest, lambda r: shipping_tax.tax(r, wiring.catalog()))
SHIPPING_AND_TAX = Hook(
    "order.shipping_and_tax", ShippingRequest, lambda r: shipping_tax.shipping_and_tax(r, wiring.catalog())
)


def endpoint(*hooks: Hook) -> BoltHookEndpoint:
    return BoltHookEndpoint(hooks, secrets=wiring.secrets, max_body_bytes=wiring.max_body_bytes)
