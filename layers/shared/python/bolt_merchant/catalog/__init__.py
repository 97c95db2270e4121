"""The catalog: products, discount codes and store settings (models.py), and the table they live in (store.py).

The table's keys are here, so that other features' stores (order.create reserving stock, a cancellation releasing
it) address catalog items without loading the catalog's models.
"""

SETTINGS_KEY = "SETTINGS"


def product_key(sku: str) -> str:
    return f"PRODUCT#{sku}"


def discount_key(code: str) -> str:
    return f"DISCOUNT#{code}"
