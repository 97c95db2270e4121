"""A whole catalog document (the shape of data/demo-catalog.json): what is loaded into the catalog table."""

import json

from bolt_merchant.models.catalog import Product, ShippingSettings, StoreSettings, TaxSettings
from bolt_merchant.models.common import CurrencyCode, OwnModel
from bolt_merchant.models.discounts import Discount


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
