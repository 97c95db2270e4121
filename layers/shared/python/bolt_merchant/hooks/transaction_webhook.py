"""Transaction webhooks, applied to their order; an order Bolt authorised but order.create never recorded is
created from the cart the webhook carries."""

from bolt_merchant import wiring
from bolt_merchant.domain import webhooks
from bolt_merchant.domain.errors import BoltCode, HookError
from bolt_merchant.domain.transactions import TransactionEvent
from bolt_merchant.http.transaction_webhook import TransactionWebhookEndpoint
from bolt_merchant.wiring.bolt import signed_reader
from bolt_merchant.wiring.transaction_store import transaction_store


def _recover_order(event: TransactionEvent) -> None:
    """Create the order a pending/payment webhook refers to from the cart Bolt sent, as order.create would."""
    # Imported on first use: only recovering a dropped order needs order.create's pricing, the catalog, the checkout
    # store and their models, and most containers never recover one.
    from bolt_merchant.domain import order_create
    from bolt_merchant.models.order_create import BoltOrder, OrderCreateRequest
    from bolt_merchant.wiring.catalog import catalog
    from bolt_merchant.wiring.checkout_store import checkout_store

    assert event.cart is not None
    request = OrderCreateRequest(order=BoltOrder(token=event.order_token, cart=event.cart), currency=event.currency)
    try:
        order_create.create_order(request, catalog(), checkout_store(), wiring.now(), wiring.order_received_url)
    except HookError as exc:
        if exc.code != BoltCode.ORDER_ALREADY_EXISTS:
            raise


def transaction_webhook_endpoint() -> TransactionWebhookEndpoint:
    return TransactionWebhookEndpoint(
        signed_reader(),
        lambda event: webhooks.handle_transaction(event, transaction_store(), _recover_order, wiring.now()),
    )
