"""The Bolt hook catalogue: event name -> request model -> domain call, wired to this container's adapters."""

from bolt_merchant import wiring
from bolt_merchant.domain import cart_update, discount_code, order_create, shipping_tax, webhooks
from bolt_merchant.domain.errors import BoltCode, HookError
from bolt_merchant.domain.transactions import TransactionEvent
from bolt_merchant.http.bolt_hooks import BoltHookEndpoint, Hook, SignedRequestReader
from bolt_merchant.http.webhooks import CreditCardWebhookEndpoint, TransactionWebhookEndpoint
from bolt_merchant.models.cart_update import CartUpdateRequest
from bolt_merchant.models.discount_code import DiscountApplyRequest
from bolt_merchant.models.order_create import BoltOrder, OrderCreateRequest
from bolt_merchant.models.shipping_tax import ShippingRequest, TaxRequest

SHIPPING = Hook("order.shipping", ShippingRequest, lambda r: shipping_tax.shipping_options(r, wiring.catalog()))
TAX = Hook("order.tax", TaxRequest, lambda r: shipping_tax.tax(r, wiring.catalog()))
SHIPPING_AND_TAX = Hook(
    "order.shipping_and_tax", ShippingRequest, lambda r: shipping_tax.shipping_and_tax(r, wiring.catalog())
)
DISCOUNT = Hook(
    "discounts.code.apply",
    DiscountApplyRequest,
    lambda r: discount_code.apply_discount(r, wiring.catalog(), wiring.checkout_store(), wiring.now()),
    invalid_code=BoltCode.DISCOUNT_INSUFFICIENT_INFORMATION,
)
ORDER_CREATE = Hook(
    "order.create",
    OrderCreateRequest,
    lambda r: order_create.create_order(
        r, wiring.catalog(), wiring.checkout_store(), wiring.now(), wiring.order_received_url
    ),
    invalid_code=BoltCode.ORDER_GENERAL_ERROR,
)
CART_UPDATE = Hook(
    "cart.update",
    CartUpdateRequest,
    lambda r: cart_update.update_cart(r, wiring.catalog(), wiring.checkout_store(), wiring.now()),
    errors_list=True,
)
UNIVERSAL = (ORDER_CREATE, SHIPPING, TAX, SHIPPING_AND_TAX, DISCOUNT, CART_UPDATE)


def signed_reader() -> SignedRequestReader:
    return SignedRequestReader(secrets=wiring.secrets, max_body_bytes=wiring.max_body_bytes)


def endpoint(*hooks: Hook) -> BoltHookEndpoint:
    return BoltHookEndpoint(hooks, signed_reader())


def _recover_order(event: TransactionEvent) -> None:
    """Create the order a pending/payment webhook refers to from the cart Bolt sent, as order.create would."""
    assert event.cart is not None
    request = OrderCreateRequest(order=BoltOrder(token=event.order_token, cart=event.cart), currency=event.currency)
    try:
        order_create.create_order(
            request, wiring.catalog(), wiring.transaction_store(), wiring.now(), wiring.order_received_url
        )
    except HookError as exc:
        if exc.code != BoltCode.ORDER_ALREADY_EXISTS:
            raise


def transaction_webhook_endpoint() -> TransactionWebhookEndpoint:
    return TransactionWebhookEndpoint(
        signed_reader(),
        lambda event: webhooks.handle_transaction(event, wiring.transaction_store(), _recover_order, wiring.now()),
    )


def credit_card_webhook_endpoint() -> CreditCardWebhookEndpoint:
    return CreditCardWebhookEndpoint(signed_reader(), lambda t, i: wiring.card_events().record(t, i))
