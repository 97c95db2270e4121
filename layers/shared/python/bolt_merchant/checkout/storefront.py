"""The storefront API (our own, not Bolt's): create a cart priced by us, ask Bolt for an order token for it.
Answers are JSON; failures are {"status": "failure", "error": {code, message}} with Bolt's codes."""

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from pydantic import Field

from bolt_merchant.catalog.models import CatalogReader
from bolt_merchant.catalog.store import catalog
from bolt_merchant.checkout.carts import (
    BoltOrderTokens,
    CartConflict,
    CartStore,
    StoredCart,
    bolt_cart,
    cart_discounts,
    normalise_code,
    open_cart,
    priced_lines,
)
from bolt_merchant.checkout.store import cart_store
from bolt_merchant.core.api import Codes, json_api, json_body, json_response, validated
from bolt_merchant.core.errors import BoltApiError, BoltCode, Conflict, Invalid, UpstreamFailed
from bolt_merchant.core.models import CurrencyCode, InboundModel, OwnModel, Quantity, Reference
from bolt_merchant.core.settings import max_body_bytes, new_cart_id, now


class StorefrontItem(InboundModel):
    """Prices a browser sends are ignored: the cart is priced from the catalog."""

    sku: Reference
    quantity: Quantity


class CreateCartRequest(InboundModel):
    currency: CurrencyCode
    items: Annotated[list[StorefrontItem], Field(min_length=1, max_length=100)]
    discount_codes: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=5)] = []


class CartLineView(OwnModel):
    sku: str
    name: str
    quantity: int
    unit_price: int
    total: int


class CartView(OwnModel):
    cart_id: str
    currency: str
    status: str
    version: int
    items: list[CartLineView]
    subtotal: int
    discount_codes: list[str]

    @classmethod
    def of(cls, cart: StoredCart) -> "CartView":
        return cls(
            cart_id=cart.cart_id,
            currency=cart.currency,
            status=cart.status,
            version=cart.version,
            items=[
                CartLineView(
                    sku=line.sku, name=line.name, quantity=line.quantity, unit_price=line.unit_price, total=line.total
                )
                for line in cart.lines
            ],
            subtotal=cart.subtotal,
            discount_codes=cart.discount_codes,
        )


class CreatedCart(OwnModel):
    cart_id: str
    cart: CartView


class OrderToken(OwnModel):
    cart_id: str
    order_token: str


CART_LIFETIME = timedelta(days=7)


def create_cart(
    request: CreateCartRequest,
    catalog: CatalogReader,
    store: CartStore,
    now: datetime,
    new_cart_id: Callable[[], str],
) -> CreatedCart:
    quantities: Counter[str] = Counter()
    for item in request.items:
        quantities[item.sku] += item.quantity
    view = catalog.view(quantities)
    if request.currency != view.settings.currency:
        raise Invalid(f"Carts in {request.currency} are not supported", BoltCode.ADDRESS_OR_CART_INVALID)
    cart = StoredCart(
        cart_id=new_cart_id(),
        currency=request.currency,
        lines=priced_lines(quantities, view),
        discount_codes=list(dict.fromkeys(normalise_code(c) for c in request.discount_codes)),
        created_at=now,
        expires_at=now + CART_LIFETIME,
    )
    cart_discounts(cart, store, now)  # refuses a code that cannot apply before the cart is stored
    store.create_cart(cart)
    return CreatedCart(cart_id=cart.cart_id, cart=CartView.of(cart))


def order_token(
    cart_id: str, catalog: CatalogReader, store: CartStore, bolt: BoltOrderTokens, now: datetime
) -> OrderToken:
    """A Bolt order token for the cart as priced now. The same cart version reuses its token."""
    cart = open_cart(cart_id, store, now)
    if cart.bolt_order_token and cart.bolt_order_token_version == cart.version:
        return OrderToken(cart_id=cart_id, order_token=cart.bolt_order_token)
    view = catalog.view(line.sku for line in cart.lines)
    repriced = priced_lines(Counter({line.sku: line.quantity for line in cart.lines}), view)
    current = (
        cart if repriced == cart.lines else cart.model_copy(update={"lines": repriced, "version": cart.version + 1})
    )
    try:
        token = bolt.create_order_token(
            {"channel": "browser", "cart": bolt_cart(current, cart_discounts(current, store, now))}
        )
    except BoltApiError as exc:
        raise UpstreamFailed("Bolt could not create an order token for this cart", BoltCode.SERVICE_ERROR) from exc
    try:
        store.replace_cart(
            current.model_copy(update={"bolt_order_token": token, "bolt_order_token_version": current.version}),
            expected_version=cart.version,
        )
    except CartConflict as exc:
        raise Conflict("The cart changed meanwhile, ask again", BoltCode.ORDER_CART_EXPIRED) from exc
    return OrderToken(cart_id=cart_id, order_token=token)


def storefront_app() -> APIGatewayRestResolver:
    app = json_api(Codes.BOLT)

    @app.post("/storefront/carts")
    def post_cart() -> Response[Any]:
        request = validated(CreateCartRequest, json_body(app.current_event, max_body_bytes()))
        created = create_cart(request, catalog(), cart_store(), now(), new_cart_id)
        return json_response(HTTPStatus.CREATED, created.model_dump(mode="json"))

    @app.post("/storefront/carts/<cart_id>/bolt-order-token")
    def post_order_token(cart_id: str) -> Response[Any]:
        # Imported on first use: only this route calls Bolt, and the client loads requests.
        from bolt_merchant.bolt.api import bolt_api

        token = order_token(cart_id, catalog(), cart_store(), bolt_api(), now())
        return json_response(HTTPStatus.OK, token.model_dump(mode="json"))

    return app
