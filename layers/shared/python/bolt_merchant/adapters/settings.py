"""Function settings, read once per container from the environment the template sets."""

import functools
import os
from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from bolt_merchant.domain.errors import ConfigurationError


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    environment: Annotated[str, Field(alias="ENVIRONMENT")] = "dev"
    catalog_table: Annotated[str | None, Field(alias="CATALOG_TABLE_NAME")] = None
    orders_table: Annotated[str | None, Field(alias="ORDERS_TABLE_NAME")] = None
    bolt_secret_name: Annotated[str | None, Field(alias="BOLT_SECRET_NAME")] = None
    bolt_api_base_url: Annotated[str, Field(alias="BOLT_API_BASE_URL")] = "https://api-sandbox.bolt.com"
    secrets_max_age_seconds: Annotated[int, Field(alias="SECRETS_MAX_AGE_SECONDS", ge=0)] = 300
    catalog_cache_seconds: Annotated[int, Field(alias="CATALOG_CACHE_SECONDS", ge=0)] = 60
    max_body_bytes: Annotated[int, Field(alias="MAX_BODY_BYTES", ge=1024)] = 256 * 1024
    order_received_url: Annotated[str, Field(alias="ORDER_RECEIVED_URL", pattern=r"\{order_id\}")] = (
        "https://shop.example.com/checkout/success?order={order_id}"
    )
    # Only honoured when ENVIRONMENT=local and no BOLT_SECRET_NAME is set (sam local invoke without AWS).
    local_signing_secret: Annotated[str | None, Field(alias="BOLT_SIGNING_SECRET")] = None
    local_signing_secret_pending: Annotated[str | None, Field(alias="BOLT_SIGNING_SECRET_PENDING")] = None
    local_api_key: Annotated[str | None, Field(alias="BOLT_API_KEY")] = None
    # Outbox fan-out: the consumer queues the publisher feeds, and what the consumers need.
    confirmation_queue_url: Annotated[str | None, Field(alias="CONFIRMATION_QUEUE_URL")] = None
    fulfilment_queue_url: Annotated[str | None, Field(alias="FULFILMENT_QUEUE_URL")] = None
    idempotency_table: Annotated[str | None, Field(alias="IDEMPOTENCY_TABLE_NAME")] = None
    confirmation_sender: Annotated[str | None, Field(alias="CONFIRMATION_SENDER")] = None
    # Empty means this stage has no order management system: fulfilment hand-offs are skipped and counted.
    oms_endpoint_url: Annotated[str, Field(alias="OMS_ENDPOINT_URL")] = ""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "Settings":
        return cls.model_validate(dict(environ))

    @property
    def is_local(self) -> bool:
        return self.environment == "local"

    def require(self, name: str) -> str:
        value = getattr(self, name)
        if not value:
            raise ConfigurationError(f"setting {name} is not configured for this function")
        return str(value)


@functools.cache
def settings() -> Settings:
    return Settings.from_environ(os.environ)
