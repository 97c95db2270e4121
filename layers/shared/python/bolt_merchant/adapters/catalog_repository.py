"""The catalog table: settings, products and discounts, with a short in-memory cache for hot hooks.

Prices and settings may be served from the cache; inventory and discount usage never are: they are only
changed through conditional writes, which are the source of truth.
"""

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from bolt_merchant.adapters.aws import dependency
from bolt_merchant.adapters.catalog_table import SETTINGS_KEY, discount_key, from_item, product_key, to_item
from bolt_merchant.domain.catalog import CatalogView
from bolt_merchant.domain.errors import DependencyUnavailable
from bolt_merchant.models.catalog import Product, StoreSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from bolt_merchant.models.catalog_document import CatalogDocument
    from bolt_merchant.models.discounts import Discount

_BATCH_GET_LIMIT = 100
_MAX_UNPROCESSED_ROUNDS = 5


def product_from_item(item: Mapping[str, Any]) -> Product:
    plain = from_item(item)
    return Product.model_validate({field: plain[field] for field in Product.model_fields if field in plain})


def settings_item(settings: StoreSettings) -> dict[str, Any]:
    return to_item({"pk": SETTINGS_KEY, "kind": "settings", "doc": settings.model_dump_json()})


def product_item(product: Product) -> dict[str, Any]:
    return to_item({"pk": product_key(product.sku), "kind": "product", **product.model_dump()})


def discount_item(discount: "Discount") -> dict[str, Any]:
    return to_item(
        {"pk": discount_key(discount.code), "kind": "discount", "doc": discount.model_dump_json(), "uses": 0}
    )


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
            request: dict[str, Any] = {
                self._table: {"Keys": [{"pk": {"S": k}} for k in keys[start : start + _BATCH_GET_LIMIT]]}
            }
            for _ in range(_MAX_UNPROCESSED_ROUNDS):
                with dependency("catalog read"):
                    response = self._client.batch_get_item(RequestItems=request)
                yield from response.get("Responses", {}).get(self._table, [])
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise DependencyUnavailable("catalog read kept coming back unprocessed")

    def load(self, document: "CatalogDocument") -> int:
        """Write a whole catalog document (the demo data, or a merchant's export). Returns the items written."""
        items = [
            settings_item(document.settings),
            *(product_item(p) for p in document.products),
            *(discount_item(d) for d in document.discounts),
        ]
        for start in range(0, len(items), 25):
            batch: Mapping[str, Any] = {
                self._table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            }
            for _ in range(_MAX_UNPROCESSED_ROUNDS):
                with dependency("catalog write"):
                    response = self._client.batch_write_item(RequestItems=batch)
                batch = response.get("UnprocessedItems") or {}
                if not batch:
                    break
            else:
                raise DependencyUnavailable("catalog write kept coming back unprocessed")
        self._settings = None
        self._products.clear()
        return len(items)
