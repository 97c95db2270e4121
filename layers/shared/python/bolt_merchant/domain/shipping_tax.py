"""The shipping and tax hooks: order.shipping, order.tax, order.shipping_and_tax."""

from bolt_merchant.domain.catalog import CatalogReader, CatalogView, PricedLine, bolt_cart_skus, price_items
from bolt_merchant.domain.errors import BoltCode, HookError
from bolt_merchant.domain.shipping import DeliveryQuote, PickupQuote, ShippingQuote, choose, quote_shipping
from bolt_merchant.domain.tax import compute_tax, region_key
from bolt_merchant.models.bolt import Address, Cart, ShippingRequest, TaxRequest
from bolt_merchant.models.responses import (
    PickupAddressOut,
    PickupOptionOut,
    ShippingAndTaxData,
    ShippingData,
    ShippingOptionOut,
    TaxAmountOut,
    TaxData,
    TaxResultOut,
)


def _priced(cart: Cart, catalog: CatalogReader) -> tuple[CatalogView, list[PricedLine]]:
    pairs = bolt_cart_skus(cart.items)
    view = catalog.view(sku for sku, _ in pairs)
    if cart.currency is not None and cart.currency != view.settings.currency:
        raise HookError(BoltCode.ADDRESS_OR_CART_INVALID, f"Carts in {cart.currency} are not supported")
    return view, price_items(pairs, view.products)


def _pickup_out(quote: PickupQuote, tax_amount: int = 0) -> PickupOptionOut:
    store = quote.store
    return PickupOptionOut(
        reference=store.reference,
        store_name=store.store_name,
        cost=store.cost,
        tax_amount=tax_amount,
        address=PickupAddressOut(**store.address.model_dump()),
        distance=quote.distance_miles,
    )


def _delivery_out(quote: DeliveryQuote, tax_amount: int = 0) -> ShippingOptionOut:
    return ShippingOptionOut(service=quote.service, reference=quote.reference, cost=quote.cost, tax_amount=tax_amount)


def _quote(
    request_cart: Cart, address: Address, catalog: CatalogReader
) -> tuple[CatalogView, list[PricedLine], ShippingQuote]:
    view, lines = _priced(request_cart, catalog)
    return view, lines, quote_shipping(lines, address, view.settings.shipping)


def shipping_options(request: ShippingRequest, catalog: CatalogReader) -> ShippingData:
    _, _, quote = _quote(request.cart, request.shipping_address, catalog)
    return ShippingData(
        shipping_options=[_delivery_out(d) for d in quote.deliveries],
        in_store_pickup_options=[_pickup_out(p) for p in quote.pickups],
    )


def tax(request: TaxRequest, catalog: CatalogReader) -> TaxData:
    """Tax for the chosen option. Pickup is taxed where the store is; delivery where the parcel goes."""
    choice = request.shipping_option or request.ship_to_store_option
    if choice is None:
        raise HookError(BoltCode.ADDRESS_OR_CART_INVALID, "No shipping option was chosen")
    view, lines = _priced(request.cart, catalog)
    tax_settings = view.settings.tax
    stores = {store.reference: store for store in view.settings.shipping.pickup_stores}
    store = stores.get(choice.reference)
    if store is not None:
        region = region_key(store.address.country_code, store.address.region, tax_settings)
        breakdown = compute_tax(lines, store.cost, region, tax_settings)
        return TaxData(
            tax_result=TaxResultOut(subtotal_amount=breakdown.items_tax),
            in_store_pickup_option=_pickup_out(PickupQuote(store=store, distance_miles=0.0), breakdown.shipping_tax),
        )
    address = request.shipping_address
    if address is None:
        raise HookError(BoltCode.ADDRESS_OR_CART_INVALID, "A shipping address is needed for delivery")
    option = choose(quote_shipping(lines, address, view.settings.shipping), choice.reference)
    region = region_key(address.country, address.region, tax_settings)
    breakdown = compute_tax(lines, option.cost, region, tax_settings)
    return TaxData(
        tax_result=TaxResultOut(subtotal_amount=breakdown.items_tax),
        shipping_option=ShippingOptionOut(
            service=option.service if isinstance(option, DeliveryQuote) else option.store.store_name,
            reference=option.reference,
            cost=option.cost,
            tax_amount=breakdown.shipping_tax,
        ),
    )


def shipping_and_tax(request: ShippingRequest, catalog: CatalogReader) -> ShippingAndTaxData:
    """Legacy combined hook: delivery options only, each with the cart's total tax if chosen."""
    view, lines, quote = _quote(request.cart, request.shipping_address, catalog)
    address = request.shipping_address
    region = region_key(address.country, address.region, view.settings.tax)
    options = [
        _delivery_out(d, tax_amount=compute_tax(lines, d.cost, region, view.settings.tax).total)
        for d in quote.deliveries
    ]
    return ShippingAndTaxData(shipping_options=options, tax_result=TaxAmountOut(amount=0))
