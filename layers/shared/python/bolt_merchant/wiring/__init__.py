"""Composition root: the adapters a function uses, built once per container on first use, from its settings.

One module per adapter, or per group of adapters the same functions use: a function imports only what it wires.
"""

import functools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from bolt_merchant.adapters.aws import dynamodb
from bolt_merchant.adapters.settings import settings

_cache_clears: list[Callable[[], None]] = [settings.cache_clear, dynamodb.cache_clear]


def per_container[Adapter](factory: Callable[[], Adapter]) -> Callable[[], Adapter]:
    """Build on the first call, then reuse: Lambda keeps a container, and its clients and caches, between requests."""
    cached = functools.cache(factory)
    _cache_clears.append(cached.cache_clear)
    return cached


def reset() -> None:
    """Forget every adapter and setting (tests and the local stack change the environment between runs)."""
    for cache_clear in _cache_clears:
        cache_clear()


def now() -> datetime:
    return datetime.now(UTC)


def new_cart_id() -> str:
    return f"c_{uuid.uuid4().hex}"


def order_received_url(order_id: str) -> str:
    return settings().order_received_url.format(order_id=order_id)


def max_body_bytes() -> int:
    return settings().max_body_bytes
