"""Expected hook answers, computed from data/demo-catalog.json rather than written as magic numbers."""

from collections.abc import Callable, Iterable
from typing import Any

from bolt_merchant.checkout.pricing import distance_miles
from bolt_merchant.core.models import basis_points_of

from tests.support import demo_catalog, demo_products

SHIPPING = demo_catalog().shipping
TAX = demo_catalog().tax
METHODS = {method.reference: method for method in SHIPPING.options}
STORES = {store.reference: store for store in SHIPPING.pickup_stores}

SIGNATURE_REJECTED = {"status": "failure", "error": {"code": 6001, "message": "Invalid or missing request signature"}}
UNAVAILABLE = {"status": "failure", "error": {"code": 6001, "message": "Temporarily unavailable, retry later"}}
TOO_LARGE = {"status": "failure", "error": {"code": 6009, "message": "Request body too large"}}
BAD_BASE64 = {"status": "failure", "error": {"code": 6009, "message": "Request body is not valid base64"}}


def malformed(reason: str) -> dict[str, Any]:
    return {"status": "failure", "error": {"code": 6009, "message": f"Malformed request: {reason}"}}


def failure(event: str | None, code: int, message: str) -> dict[str, Any]:
    body: dict[str, Any] = {"status": "failure", "error": {"code": code, "message": message}}
    return {"event": event, **body} if event else body


def success(event: str, data: dict[str, Any], universal: bool = True) -> dict[str, Any]:
    if universal:
        return {"event": event, "status": "success", "data": data}
    return {"status": "success", **data}


def rate(region: str) -> int:
    return TAX.rates_basis_points.get(region, TAX.default_basis_points)


def subtotal(items: Iterable[dict[str, Any]]) -> int:
    """Merchandise subtotal of Bolt cart items, priced from the catalog."""
    products = demo_products()
    return sum(products[item["sku"]].unit_price * item["quantity"] for item in items)


def items_tax(items: Iterable[dict[str, Any]], region: str) -> int:
    """Tax on the items, half up per line."""
    products = demo_products()
    return sum(
        basis_points_of(products[item["sku"]].unit_price * item["quantity"], rate(region))
        for item in items
        if products[item["sku"]].taxable
    )


def shipping_tax(cost: int, region: str) -> int:
    return basis_points_of(cost, rate(region)) if region in TAX.shipping_taxable_regions else 0


def delivery_cost(reference: str, merchandise: int) -> int:
    method = METHODS[reference]
    free = method.free_over_subtotal is not None and merchandise >= method.free_over_subtotal
    return 0 if free else method.cost


def delivery_options(
    country: str, merchandise: int, tax: Callable[[int], int] = lambda cost: 0
) -> list[dict[str, Any]]:
    """Every method offered in `country`, in catalog order; tax(cost) gives each option's tax_amount."""
    options = []
    for method in SHIPPING.options:
        if method.countries is not None and country not in method.countries:
            continue
        cost = delivery_cost(method.reference, merchandise)
        options.append(
            {"service": method.service, "reference": method.reference, "cost": cost, "tax_amount": tax(cost)}
        )
    return options


def pickup_option(reference: str, postal_code: str | None, tax_amount: int = 0) -> dict[str, Any]:
    """A store as order.shipping/order.tax shows it; postal_code=None means no distance was computed (0.0)."""
    store = STORES[reference]
    distance = 0.0
    if postal_code is not None:
        origin = SHIPPING.postal_code_locations[postal_code]
        distance = round(distance_miles(origin, (store.latitude, store.longitude)), 1)
    return {
        "reference": store.reference,
        "store_name": store.store_name,
        "cost": store.cost,
        "tax_amount": tax_amount,
        "address": store.address.model_dump(),
        "distance": distance,
        "distance_unit": "mile",
    }
