"""The catalog table: settings, products and discount codes, with a short in-memory cache for the hot hooks.

Prices and settings may be served from the cache; inventory and discount usage never are: they only change through
conditional writes, which are the source of truth.
"""

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from bolt_merchant.catalog import SETTINGS_KEY, product_key
from bolt_merchant.catalog.models import CatalogView, Product, StoreSettings
from bolt_merchant.core.aws import batch_get, dynamodb, from_item
from bolt_merchant.core.errors import DependencyUnavailable
from bolt_merchant.core.settings import per_container, settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


_BATCH_GET_LIMIT = 100


def product_from_item(item: Mapping[str, Any]) -> Product:
    plain = from_item(item)
    return Product.model_validate({field: plain[field] for field in Product.model_fields if field in plain})


class DynamoCatalog:
    def __init__(
        self,
        client: "DynamoDBClient",
        table_name: str,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._table = table_name
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._settings: tuple[float, StoreSettings] | None = None
        self._products: dict[str, tuple[float, Product | None]] = {}

    def _fresh(self, stored_at: float) -> bool:
        return self._clock() - stored_at < self._cache_seconds

    def view(self, skus: Iterable[str]) -> CatalogView:
        wanted = set(skus)
        missing_products = {
            sku for sku in wanted if sku not in self._products or not self._fresh(self._products[sku][0])
        }
        need_settings = self._settings is None or not self._fresh(self._settings[0])
        keys = [product_key(sku) for sku in sorted(missing_products)]
        if need_settings:
            keys.append(SETTINGS_KEY)
        if keys:
            now = self._clock()
            found = {item["pk"]["S"]: item for item in self._batch_get(keys)}
            for sku in missing_products:
                item = found.get(product_key(sku))
                self._products[sku] = (now, product_from_item(item) if item else None)
            if need_settings:
                settings_item_found = found.get(SETTINGS_KEY)
                if settings_item_found is None:
                    raise DependencyUnavailable("catalog settings are missing: load the catalog first")
                self._settings = (now, StoreSettings.model_validate_json(settings_item_found["doc"]["S"]))
        assert self._settings is not None
        products = {sku: product for sku in wanted if (product := self._products[sku][1]) is not None}
        return CatalogView(settings=self._settings[1], products=products)

    def _batch_get(self, keys: list[str]) -> Iterator[dict[str, Any]]:
        for start in range(0, len(keys), _BATCH_GET_LIMIT):
            chunk = [{"pk": {"S": key}} for key in keys[start : start + _BATCH_GET_LIMIT]]
            yield from batch_get(self._client, {self._table: {"Keys": chunk}}, "catalog read")[self._table]


@per_container
def catalog() -> DynamoCatalog:
    config = settings()
    return DynamoCatalog(dynamodb(), config.require("catalog_table"), config.catalog_cache_seconds)
