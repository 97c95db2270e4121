"""A read-only view of the catalog for one request, and the ports the domain reads it through."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from bolt_merchant.domain.errors import BoltCode, HookError
from bolt_merchant.models.cart_line import CartLine
from bolt_merchant.models.catalog import Product, StoreSettings


@dataclass(frozen=True)
class CatalogView:
    settings: StoreSettings
    products: Mapping[str, Product]


class CatalogReader(Protocol):
    def view(self, skus: Iterable[str]) -> CatalogView:
        """Settings plus the named products (missing SKUs are simply absent)."""
        ...


def price_items(items: Iterable[tuple[str, int]], products: Mapping[str, Product]) -> list[CartLine]:
    """Price (sku, quantity) pairs from the catalog. An unknown SKU is a cart we cannot serve."""
    lines = []
    for sku, quantity in items:
        product = products.get(sku)
        if product is None:
            raise HookError(BoltCode.ADDRESS_OR_CART_INVALID, f"Item {sku} is not sold here")
        lines.append(line_of(product, quantity))
    return lines


def line_of(product: Product, quantity: int) -> CartLine:
    """A cart line at the catalog's price."""
    return CartLine(
        sku=product.sku,
        name=product.name,
        quantity=quantity,
        unit_price=product.unit_price,
        taxable=product.taxable,
        needs_shipping=product.needs_shipping,
    )


def subtotal(lines: Iterable[CartLine]) -> int:
    return sum(line.total for line in lines)
