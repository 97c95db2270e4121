"""Composition root: builds each adapter once per container, on first use, from the function's settings."""

import functools
import uuid
from datetime import UTC, datetime

from bolt_merchant.adapters.aws import dynamodb
from bolt_merchant.adapters.bolt_api import BoltApiClient
from bolt_merchant.adapters.catalog_repository import DynamoCatalog
from bolt_merchant.adapters.checkout_store import DynamoCheckoutStore
from bolt_merchant.adapters.secrets import SecretsProvider
from bolt_merchant.adapters.settings import settings
from bolt_merchant.adapters.transaction_store import DynamoTransactionStore
from bolt_merchant.domain.errors import ConfigurationError


@functools.cache
def secrets() -> SecretsProvider:
    return SecretsProvider(settings())


@functools.cache
def catalog() -> DynamoCatalog:
    config = settings()
    return DynamoCatalog(dynamodb(), config.require("catalog_table"), config.catalog_cache_seconds)


@functools.cache
def checkout_store() -> DynamoCheckoutStore:
    config = settings()
    return DynamoCheckoutStore(dynamodb(), config.require("catalog_table"), config.require("orders_table"))


@functools.cache
def transaction_store() -> DynamoTransactionStore:
    config = settings()
    return DynamoTransactionStore(dynamodb(), config.require("catalog_table"), config.require("orders_table"))


def _api_key() -> str:
    key = secrets().get().api_key
    if not key:
        raise ConfigurationError("the Bolt secret has no api_key")
    return key


@functools.cache
def bolt_api() -> BoltApiClient:
    return BoltApiClient(settings().bolt_api_base_url, api_key=_api_key)


def now() -> datetime:
    return datetime.now(UTC)


def new_cart_id() -> str:
    return f"c_{uuid.uuid4().hex}"


def order_received_url(order_id: str) -> str:
    return settings().order_received_url.format(order_id=order_id)


def max_body_bytes() -> int:
    return settings().max_body_bytes


def reset() -> None:
    """Forget every adapter and setting (tests and the local stack change the environment between runs)."""
    for factory in (secrets, catalog, checkout_store, transaction_store, bolt_api, settings, dynamodb):
        factory.cache_clear()
