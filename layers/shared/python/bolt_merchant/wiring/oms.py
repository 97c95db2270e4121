"""The stage's order management system, if it has one (fulfilment hand-offs)."""

from bolt_merchant.adapters.oms_client import OmsClient
from bolt_merchant.adapters.settings import settings
from bolt_merchant.wiring import per_container


@per_container
def order_management() -> OmsClient | None:
    """None when the stage has no OMS configured."""
    url = settings().oms_endpoint_url
    return OmsClient(url) if url else None
