"""The catalog table as the hooks read it: settings and products, cached in memory for CATALOG_CACHE_SECONDS
(the template's CatalogCacheSeconds).

Everything this reader returns may be that old: prices, settings, whether a product is still sold, and the stock
the storefront and cart.update check a quantity against. Only the conditional writes are the truth: order.create
reserves stock (and counts discount uses, read consistently, never from here) with conditions, so a stale view can
refuse or accept a cart a little late, never oversell. A change made through the catalog API or `make
load-catalog` reaches every hook within CATALOG_CACHE_SECONDS.
"""

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bolt_merchant.catalog import SETTINGS_KEY, product_key, stock_key
from bolt_merchant.catalog.inventory import slots_for
from bolt_merchant.catalog.models import CatalogView, Product, StoreSettings
from bolt_merchant.core.aws import batch_get, dynamodb, from_item
from bolt_merchant.core.errors import DependencyUnavailable
from bolt_merchant.core.settings import per_container, settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


_BATCH_GET_LIMIT = 100


def product_from_item(item: Mapping[str, Any], other_shards: int = 0) -> Product:
    """The product; `other_shards` the units available on its stock shards other than the item itself."""
    plain = from_item(item)
    product = Product.model_validate({field: plain[field] for field in Product.model_fields if field in plain})
    return product.model_copy(update={"inventory": product.inventory + other_shards}) if other_shards else product


def stock_slots(item: Mapping[str, Any]) -> Sequence[int]:
    """The stock shards a product item's stock is spread over (0 is the item itself)."""
    plain = from_item({name: item[name] for name in ("stock_shards", "shard_slots") if name in item})
    return slots_for(int(plain.get("stock_shards", 1)), int(plain.get("shard_slots", 1)))


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
            shard_stock = self._shard_stock(
                [found[key] for sku in missing_products if (key := product_key(sku)) in found]
            )
            for sku in missing_products:
                item = found.get(product_key(sku))
                product = product_from_item(item, shard_stock.get(sku, 0)) if item else None
                self._products[sku] = (now, product if product is not None and product.active else None)
            if need_settings:
                settings_item_found = found.get(SETTINGS_KEY)
                if settings_item_found is None:
                    raise DependencyUnavailable("catalog settings are missing: load the catalog first")
                self._settings = (now, StoreSettings.model_validate_json(settings_item_found["doc"]["S"]))
        assert self._settings is not None
        products = {sku: product for sku in wanted if (product := self._products[sku][1]) is not None}
        return CatalogView(settings=self._settings[1], products=products)

    def _shard_stock(self, items: list[dict[str, Any]]) -> dict[str, int]:
        """Units available on each sharded product's other stock shards (sku -> units)."""
        skus = {
            stock_key(str(item["sku"]["S"]), shard)["pk"]["S"]: str(item["sku"]["S"])
            for item in items
            for shard in stock_slots(item)[1:]
        }
        units: dict[str, int] = {}
        for item in self._batch_get(sorted(skus)):
            sku = skus[item["pk"]["S"]]
            units[sku] = units.get(sku, 0) + max(int(item.get("inventory", {}).get("N", "0")), 0)
        return units

    def _batch_get(self, keys: list[str]) -> Iterator[dict[str, Any]]:
        for start in range(0, len(keys), _BATCH_GET_LIMIT):
            chunk = [{"pk": {"S": key}} for key in keys[start : start + _BATCH_GET_LIMIT]]
            yield from batch_get(self._client, {self._table: {"Keys": chunk}}, "catalog read")[self._table]


@per_container
def catalog() -> DynamoCatalog:
    config = settings()
    return DynamoCatalog(dynamodb(), config.require("catalog_table"), config.catalog_cache_seconds)
