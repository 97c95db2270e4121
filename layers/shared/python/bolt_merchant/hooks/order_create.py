"""order.create."""

from bolt_merchant import wiring
from bolt_merchant.domain import order_create
from bolt_merchant.domain.errors import BoltCode
from bolt_merchant.http.bolt_hooks import Hook
from bolt_merchant.models.order_create import OrderCreateRequest
from bolt_merchant.wiring.catalog import catalog
from bolt_merchant.wiring.checkout_store import checkout_store

ORDER_CREATE = Hook(
    "order.create",
    OrderCreateRequest,
    lambda r: order_create.create_order(r, catalog(), checkout_store(), wiring.now(), wiring.order_received_url),
    invalid_code=BoltCode.ORDER_GENERAL_ERROR,
)
