"""Bolt's cart priced from our catalog, and the delivery or pickup option a shopper chose, priced with its tax.

Every hook that quotes money (shipping, tax, discounts, order.create) prices the same way from here.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from bolt_merchant.domain.catalog import CatalogReader, CatalogView, price_items
from bolt_merchant.domain.errors import BoltCode, HookError
from bolt_merchant.domain.shipping import DeliveryQuote, PickupQuote, choose, quote_shipping
from bolt_merchant.domain.tax import TaxBreakdown, compute_tax, region_key
from bolt_merchant.models.bolt import Address, Cart, CartItem
from bolt_merchant.models.cart_line import CartLine


def _bolt_cart_skus(items: Iterable[CartItem]) -> list[tuple[str, int]]:
    pairs = []
    for item in items:
        sku = item.catalog_sku
        if sku is None:
            raise HookError(BoltCode.ADDRESS_OR_CART_INVALID, "Every cart item needs a sku or reference")
        pairs.append((sku, item.quantity))
    return pairs


def priced_cart(cart: Cart, catalog: CatalogReader) -> tuple[CatalogView, list[CartLine]]:
    pairs = _bolt_cart_skus(cart.items)
    view = catalog.view(sku for sku, _ in pairs)
    if cart.currency is not None and cart.currency != view.settings.currency:
        raise HookError(BoltCode.ADDRESS_OR_CART_INVALID, f"Carts in {cart.currency} are not supported")
    return view, price_items(pairs, view.products)


@dataclass(frozen=True)
class PricedChoice:
    """The delivery or pickup option a shopper chose, priced by us, with the tax it brings."""

    reference: str
    service: str
    cost: int
    tax: TaxBreakdown
    pickup: PickupQuote | None = None


def price_choice(lines: list[CartLine], view: CatalogView, reference: str, address: Address | None) -> PricedChoice:
    """Pickup is taxed where the store is; delivery where the parcel goes."""
    tax_settings = view.settings.tax
    stores = {store.reference: store for store in view.settings.shipping.pickup_stores}
    store = stores.get(reference)
    if store is not None:
        region = region_key(store.address.country_code, store.address.region, tax_settings)
        return PricedChoice(
            reference=reference,
            service=store.store_name,
            cost=store.cost,
            tax=compute_tax(lines, store.cost, region, tax_settings),
            pickup=PickupQuote(store=store, distance_miles=0.0),
        )
    if address is None:
        raise HookError(BoltCode.ADDRESS_OR_CART_INVALID, "A shipping address is needed for delivery")
    option = choose(quote_shipping(lines, address, view.settings.shipping), reference)
    region = region_key(address.country, address.region, tax_settings)
    return PricedChoice(
        reference=reference,
        service=option.service if isinstance(option, DeliveryQuote) else option.store.store_name,
        cost=option.cost,
        tax=compute_tax(lines, option.cost, region, tax_settings),
    )
