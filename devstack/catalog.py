"""A whole catalog document (the shape of data/demo-catalog.json) and how the local stack, the tests and
`make load-catalog` write one into a catalog table. Dev tooling: the functions never load a whole catalog."""

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bolt_merchant.catalog import SETTINGS_KEY, discount_key, product_key
from bolt_merchant.catalog.models import Discount, Product, ShippingSettings, StoreSettings, TaxSettings
from bolt_merchant.core.aws import to_item
from bolt_merchant.core.models import CurrencyCode, OwnModel

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


def product_item(product: Product) -> dict[str, Any]:
    return to_item({"pk": product_key(product.sku), "kind": "product", **product.model_dump()})


def discount_item(discount: Discount) -> dict[str, Any]:
    return to_item(
        {"pk": discount_key(discount.code), "kind": "discount", "doc": discount.model_dump_json(), "uses": 0}
    )


def catalog_items(document: CatalogDocument) -> list[dict[str, Any]]:
    """The catalog table's items for a document: settings, products (with stock), discounts (with no uses)."""
    settings = to_item({"pk": SETTINGS_KEY, "kind": "settings", "doc": document.settings.model_dump_json()})
    return [settings, *map(product_item, document.products), *map(discount_item, document.discounts)]


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
