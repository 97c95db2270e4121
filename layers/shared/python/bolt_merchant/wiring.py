"""Composition root: builds each adapter once per container, on first use, from the function's settings."""

import functools

from bolt_merchant.adapters.aws import dynamodb
from bolt_merchant.adapters.catalog_repository import DynamoCatalog
from bolt_merchant.adapters.secrets import SecretsProvider
from bolt_merchant.adapters.settings import settings


@functools.cache
def secrets() -> SecretsProvider:
    return SecretsProvider(settings())


@functools.cache
def catalog() -> DynamoCatalog:
    config = settings()
    return DynamoCatalog(dynamodb(), config.require("catalog_table"), config.catalog_cache_seconds)


def max_body_bytes() -> int:
    return settings().max_body_bytes


def reset() -> None:
    """Forget every adapter and setting (tests and the local stack change the environment between runs)."""
    for factory in (secrets, catalog, settings, dynamodb):
        factory.cache_clear()
