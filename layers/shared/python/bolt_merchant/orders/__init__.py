"""Orders: the order and its outbox events (models.py) and how they are stored (table.py).

The orders table's keys are here, so that other features' stores (carts, the payment ledger) address its items
without loading the order models.
"""

from datetime import datetime
from typing import Any


def cart_key(cart_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"CART#{cart_id}"}, "sk": {"S": "CART"}}


def order_key(order_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}}


def epoch(moment: datetime) -> dict[str, str]:
    """A DynamoDB number attribute of whole seconds (what TTL reads)."""
    return {"N": str(int(moment.timestamp()))}
