"""Order ids: order.create and the webhooks find an order from its cart alone."""

import base64
import hashlib


def order_id_for(cart_id: str) -> str:
    """One cart, one order: the id is derived from the cart, so every retry and every webhook finds the same one."""
    digest = base64.b32encode(hashlib.sha256(cart_id.encode("utf-8")).digest()).decode("ascii")
    return f"BO-{digest[:10]}"
