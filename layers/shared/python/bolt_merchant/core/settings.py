"""Function settings, read once per container from the environment the template sets, and the per-container
cache every adapter factory uses (each factory lives beside the adapter it builds)."""

import functools
import os
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from bolt_merchant.core.errors import ConfigurationError


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    catalog_table: Annotated[str | None, Field(alias="CATALOG_TABLE_NAME")] = None
    orders_table: Annotated[str | None, Field(alias="ORDERS_TABLE_NAME")] = None
    bolt_secret_name: Annotated[str | None, Field(alias="BOLT_SECRET_NAME")] = None
    bolt_api_base_url: Annotated[str, Field(alias="BOLT_API_BASE_URL")] = "https://api-sandbox.bolt.com"
    secrets_max_age_seconds: Annotated[int, Field(alias="SECRETS_MAX_AGE_SECONDS", ge=0)] = 300
    catalog_cache_seconds: Annotated[int, Field(alias="CATALOG_CACHE_SECONDS", ge=0)] = 60
    # Reconciliation: how long after its last look an open or held order is due again (doubling up to a day).
    reconcile_after_seconds: Annotated[int, Field(alias="RECONCILE_AFTER_SECONDS", ge=60)] = 3600
    # How long a webhook for a stored cart with no order yet is answered 503 (order.create may still be running)
    # before it recovers the order itself.
    order_wait_seconds: Annotated[int, Field(alias="ORDER_WAIT_SECONDS", ge=0)] = 60
    reconcile_batch_size: Annotated[int, Field(alias="RECONCILE_BATCH_SIZE", ge=1, le=1000)] = 100
    max_body_bytes: Annotated[int, Field(alias="MAX_BODY_BYTES", ge=1024)] = 256 * 1024
    order_received_url: Annotated[str, Field(alias="ORDER_RECEIVED_URL", pattern=r"\{order_id\}")] = (
        "https://shop.example.com/checkout/success?order={order_id}"
    )
    # Outbox fan-out: the consumer queues the publisher feeds, and what the consumers need.
    confirmation_queue_url: Annotated[str | None, Field(alias="CONFIRMATION_QUEUE_URL")] = None
    fulfilment_queue_url: Annotated[str | None, Field(alias="FULFILMENT_QUEUE_URL")] = None
    idempotency_table: Annotated[str | None, Field(alias="IDEMPOTENCY_TABLE_NAME")] = None
    confirmation_sender: Annotated[str | None, Field(alias="CONFIRMATION_SENDER")] = None
    # Empty means this stage has no order management system: fulfilment hand-offs are skipped and counted.
    oms_endpoint_url: Annotated[str, Field(alias="OMS_ENDPOINT_URL")] = ""
    # Secrets Manager secret {"signing_secret": ...} every hand-off to the OMS is signed with (fanout/signing.py).
    oms_signing_secret_name: Annotated[str | None, Field(alias="OMS_SIGNING_SECRET_NAME")] = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "Settings":
        return cls.model_validate(dict(environ))

    def require(self, name: str) -> str:
        value = getattr(self, name)
        if not value:
            raise ConfigurationError(f"setting {name} is not configured for this function")
        return str(value)


@functools.cache
def settings() -> Settings:
    return Settings.from_environ(os.environ)


_cache_clears: list[Callable[[], None]] = [settings.cache_clear]


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
