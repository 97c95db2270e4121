"""A whole catalog document (the shape of data/demo-catalog.json): written whole into an empty table (the local
stack and the tests, `write_catalog`), or synced into a live one (`make load-catalog`, `sync_catalog`) through
the catalog API's own rules, so a sync changes definitions and never the stock or the uses live checkouts moved.
Dev tooling: the functions never load a whole catalog."""

import json
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from bolt_merchant.catalog import SETTINGS_KEY, discount_key, operations, product_key, stock_key
from bolt_merchant.catalog.admin_store import DynamoCatalogAdmin
from bolt_merchant.catalog.inventory import spread
from bolt_merchant.catalog.models import Discount, Product, ShippingSettings, StoreSettings, TaxSettings
from bolt_merchant.catalog.operations import DiscountChange, ProductChange, StockChange
from bolt_merchant.core.aws import to_item
from bolt_merchant.core.models import CurrencyCode, OwnModel
from bolt_merchant.core.settings import now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_WRITE_BATCH = 25
_UNPROCESSED_ROUNDS = 5


class CatalogDocument(OwnModel):
    currency: CurrencyCode
    products: list[Product]
    discounts: list[Discount]
    shipping: ShippingSettings
    tax: TaxSettings

    @property
    def settings(self) -> StoreSettings:
        return StoreSettings(currency=self.currency, shipping=self.shipping, tax=self.tax)


def parse_catalog_file(text: str) -> CatalogDocument:
    return CatalogDocument.model_validate(json.loads(text))


def product_items(product: Product) -> list[dict[str, Any]]:
    """The product item and, for a sharded product, its other stock shards: the inventory spread over them."""
    levels = spread(product.inventory, product.stock_shards)
    item = {"pk": product_key(product.sku), "kind": "product", **product.model_dump(), "inventory": levels[0]}
    shards = [
        {"pk": stock_key(product.sku, shard)["pk"]["S"], "inventory": levels[shard]} for shard in range(1, len(levels))
    ]
    return [to_item({**item, "shard_slots": product.stock_shards}), *map(to_item, shards)]


def discount_item(discount: Discount) -> dict[str, Any]:
    return to_item(
        {"pk": discount_key(discount.code), "kind": "discount", "doc": discount.model_dump_json(), "uses": 0}
    )


def catalog_items(document: CatalogDocument) -> list[dict[str, Any]]:
    """The catalog table's items for a document: settings, products (with stock), discounts (with no uses)."""
    settings = to_item({"pk": SETTINGS_KEY, "kind": "settings", "doc": document.settings.model_dump_json()})
    products = [item for product in document.products for item in product_items(product)]
    return [settings, *products, *map(discount_item, document.discounts)]


def write_catalog(client: "DynamoDBClient", table: str, document: CatalogDocument) -> int:
    """Write a whole catalog document (overwriting its items); returns the items written."""
    items = catalog_items(document)
    for start in range(0, len(items), _WRITE_BATCH):
        batch: Mapping[str, Any] = {
            table: [{"PutRequest": {"Item": item}} for item in items[start : start + _WRITE_BATCH]]
        }
        for _ in range(_UNPROCESSED_ROUNDS):
            batch = client.batch_write_item(RequestItems=batch).get("UnprocessedItems") or {}
            if not batch:
                break
        else:
            raise RuntimeError("catalog write kept coming back unprocessed")
    return len(items)


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{key} {before.get(key)!r} -> {after.get(key)!r}" for key in after if before.get(key) != after.get(key)
    )


def sync_catalog(
    client: "DynamoDBClient", table: str, document: CatalogDocument, *, operator: str, set_stock: bool, dry_run: bool
) -> list[str]:
    """Upsert the document's definitions (settings, products, discounts) as the catalog API would, each change
    conditional and audited under `operator`. Stock levels and uses are left as they are, except a new product's
    first stock and, with set_stock, every product's level (set only if it did not move since read). Products and
    codes missing from the document are left untouched. Returns the diff, one line per change (applied unless
    dry_run)."""
    store = DynamoCatalogAdmin(client, table)
    at = now()
    changes: list[tuple[str, Callable[[], object]]] = []
    stored = store.settings()
    if stored is None or stored.settings != document.settings:
        put = partial(operations.put_settings, store, document.settings, if_match=None, operator=operator, now=at)
        changes.append((f"{'+' if stored is None else '~'} settings", put))
    for product in document.products:
        current = store.product(product.sku)
        definition = product.model_dump(exclude={"sku", "inventory"})
        write = partial(
            operations.put_product,
            store,
            product.sku,
            ProductChange(**definition),
            if_match=None,
            operator=operator,
            now=at,
        )
        if current is None:
            changes.append((f"+ product {product.sku}", write))
        elif (before := current.product.model_dump(exclude={"sku", "inventory"})) != definition:
            changes.append((f"~ product {product.sku}: {_changed(before, definition)}", write))
        level = current.product.inventory if current is not None else 0
        if (current is None or set_stock) and level != product.inventory:
            stock = StockChange(set=product.inventory, expected=level)
            change = partial(operations.change_stock, store, product.sku, stock, operator=operator, now=at)
            changes.append((f"~ stock {product.sku}: {level} -> {product.inventory}", change))
    for discount in document.discounts:
        found = store.discount(discount.code)
        if found is not None and found.discount == discount:
            continue
        wanted = DiscountChange(**discount.model_dump(exclude={"code"}))
        put_code = partial(
            operations.put_discount, store, discount.code, wanted, if_match=None, operator=operator, now=at
        )
        before_json = found.discount.model_dump(mode="json") if found is not None else None
        detail = "" if before_json is None else ": " + _changed(before_json, discount.model_dump(mode="json"))
        changes.append((f"{'+' if found is None else '~'} discount {discount.code}{detail}", put_code))
    if not dry_run:
        for _, apply in changes:
            apply()
    return [line for line, _ in changes]
