"""The catalog every hook and the storefront price from (cached in memory for CATALOG_CACHE_SECONDS)."""

from bolt_merchant.adapters.aws import dynamodb
from bolt_merchant.adapters.catalog_repository import DynamoCatalog
from bolt_merchant.adapters.settings import settings
from bolt_merchant.wiring import per_container


@per_container
def catalog() -> DynamoCatalog:
    config = settings()
    return DynamoCatalog(dynamodb(), config.require("catalog_table"), config.catalog_cache_seconds)
