"""order.tax."""

from bolt_merchant.domain import order_tax
from bolt_merchant.http.bolt_hooks import Hook
from bolt_merchant.models.order_tax import TaxRequest
from bolt_merchant.wiring.catalog import catalog

TAX = Hook("order.tax", TaxRequest, lambda r: order_tax.tax(r, catalog()))
