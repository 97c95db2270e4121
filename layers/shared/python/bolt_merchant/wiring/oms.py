"""The stage's order management system, if it has one (fulfilment hand-offs)."""

from typing import TYPE_CHECKING

from bolt_merchant.adapters.settings import settings
from bolt_merchant.wiring import per_container

if TYPE_CHECKING:
    from bolt_merchant.adapters.oms_client import OmsClient


@per_container
def order_management() -> "OmsClient | None":
    """None when the stage has no OMS configured."""
    url = settings().oms_endpoint_url
    if not url:
        return None
    # Imported only for a stage with an OMS: the client needs requests, which a stage without one never loads.
    from bolt_merchant.adapters.oms_client import OmsClient

    return OmsClient(url)
