"""The operator catalog API (AWS_IAM-authorised routes, like the back office): one product, its stock, one
discount code, the store settings.

Answers are JSON; failures are {"status": "failure", "error": {code, message}} with the back office's codes, from
the error table (core/errors.py):
  200  done; GET and PUT answers carry an `ETag` (a stock answer too: its product's); a replayed stock change
       carries `Idempotent-Replayed: true`
  400  the body is not JSON we read; 413 it is too large
  404  unknown product or code (7010)
  409  the stock level is no longer `expected`, or a change would take it below zero (7012, with `available`)
  412  `If-Match` does not name the current version (7011): nothing was changed
  422  invalid body (a negative price, an unknown field, a settings document that is not whole), or an
       Idempotency-Key reused for a different change
  503  DynamoDB unavailable, or stock kept moving under a change (with Retry-After); nothing was changed

Every change is logged with the caller's IAM ARN (`operator`) and kept in an audit item (admin_store.py).
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from bolt_merchant.catalog import operations
from bolt_merchant.catalog.admin_store import catalog_admin
from bolt_merchant.catalog.models import StoreSettings
from bolt_merchant.catalog.operations import (
    CatalogAdminStore,
    DiscountChange,
    ProductChange,
    StockChange,
    StoredDiscount,
    StoredProduct,
    StoredSettings,
)
from bolt_merchant.core.api import Codes, json_api, json_body, json_response, validated
from bolt_merchant.core.aws import dynamodb
from bolt_merchant.core.idempotency import IDEMPOTENCY_HEADER, REPLAYED_HEADER, OperationRecords, operator_key
from bolt_merchant.core.observability import count, logger
from bolt_merchant.core.settings import max_body_bytes, now, per_container, settings


@per_container
def stock_records() -> OperationRecords:
    return OperationRecords(dynamodb(), settings().require("idempotency_table"), "catalog-admin", "product's stock")


def product_view(stored: StoredProduct) -> dict[str, Any]:
    return {
        "product": stored.product.model_dump(mode="json", exclude={"inventory"}),
        "stock": stock_view(stored),
        "revision": stored.revision,
    }


def stock_view(stored: StoredProduct) -> dict[str, Any]:
    return {
        "available": stored.product.inventory,
        "reserved": stored.reserved,
        "shards": [
            {"shard": shard.shard, "available": shard.available, "reserved": shard.reserved} for shard in stored.shards
        ],
    }


def discount_view(stored: StoredDiscount) -> dict[str, Any]:
    return {
        "discount": stored.discount.model_dump(mode="json"),
        "uses": stored.uses,
        "revision": stored.revision,
    }


def settings_view(stored: StoredSettings) -> dict[str, Any]:
    return {"settings": stored.settings.model_dump(mode="json"), "revision": stored.revision}


def _versioned(view: dict[str, Any], headers: dict[str, str] | None = None) -> Response[Any]:
    return json_response(
        HTTPStatus.OK, {"status": "success", **view}, {"ETag": operations.etag(view["revision"]), **(headers or {})}
    )


def _audit(message: str, operator: str, target: str, **fields: object) -> None:
    """The log side of the audit trail: which IAM principal (AWS_IAM authorisation) changed what."""
    logger.info(message, extra={"target": target, "operator": operator, **fields})


@dataclass(frozen=True)
class _Keyed[Stored]:
    """A kind of definition kept under a key (a product's sku, a discount's code), read and replaced whole."""

    what: str  # in metrics, logs and audit targets
    path: str  # GET and PUT
    checked: Callable[[str], str]
    get: Callable[[CatalogAdminStore, str], Stored]
    put: Callable[..., Stored]  # (store, key, change, *, if_match, operator, now)
    change: type[operations.OperatorRequest]
    view: Callable[[Stored], dict[str, Any]]


_KEYED: tuple[_Keyed[Any], ...] = (
    _Keyed(
        "product",
        "/catalog/products/<key>",
        operations.checked_sku,
        operations.get_product,
        operations.put_product,
        ProductChange,
        product_view,
    ),
    _Keyed(
        "discount",
        "/catalog/discounts/<key>",
        operations.checked_code,
        operations.get_discount,
        operations.put_discount,
        DiscountChange,
        discount_view,
    ),
)


def catalog_admin_app() -> APIGatewayRestResolver:
    app = json_api(Codes.ADMIN)

    def operator() -> str:
        return app.current_event.request_context.identity.user_arn or "unknown"

    def body[Model: operations.OperatorRequest | StoreSettings](model: type[Model]) -> Model:
        return validated(model, json_body(app.current_event, max_body_bytes()))

    def if_match() -> str | None:
        return app.current_event.headers.get("If-Match")

    def written(what: str, target: str, view: dict[str, Any]) -> Response[Any]:
        """A definition replaced: counted, audited with its new revision, answered with its ETag."""
        count(f"Catalog{what.title()}Changed")
        _audit(f"catalog {what} written", operator(), target, revision=view["revision"])
        return _versioned(view)

    def keyed[Stored](kind: _Keyed[Stored]) -> None:
        @app.get(kind.path)
        def read(key: str) -> Response[Any]:
            return _versioned(kind.view(kind.get(catalog_admin(), key)))

        @app.put(kind.path)
        def write(key: str) -> Response[Any]:
            kind.checked(key)
            change = body(kind.change)
            stored = kind.put(catalog_admin(), key, change, if_match=if_match(), operator=operator(), now=now())
            return written(kind.what, f"{kind.what}:{key}", kind.view(stored))

    for kind in _KEYED:
        keyed(kind)

    @app.post("/catalog/products/<sku>/stock")
    def write_stock(sku: str) -> Response[Any]:
        operations.checked_sku(sku)
        change = body(StockChange)
        fingerprint = hashlib.sha256(change.model_dump_json().encode("utf-8")).hexdigest()
        supplied = operator_key(app.current_event.headers.get(IDEMPOTENCY_HEADER))
        # As the order routes: without a key, the same body for the same product counts as a retry (send distinct
        # keys to make two identical adjustments on purpose).
        key = f"{sku}:stock:key:{supplied}" if supplied else f"{sku}:stock:body:{fingerprint}"
        records = stock_records()
        records.register_lambda_context(app.lambda_context)
        answer, replayed = records.run(key, fingerprint, lambda: _stock_change(sku, change, operator()))
        return _versioned(answer, {REPLAYED_HEADER: "true"} if replayed else None)

    @app.get("/catalog/settings")
    def read_settings() -> Response[Any]:
        return _versioned(settings_view(operations.get_settings(catalog_admin())))

    @app.put("/catalog/settings")
    def write_settings() -> Response[Any]:
        document = body(StoreSettings)
        stored = operations.put_settings(catalog_admin(), document, if_match=if_match(), operator=operator(), now=now())
        return written("settings", "settings", settings_view(stored))

    return app


def _stock_change(sku: str, change: StockChange, operator: str) -> dict[str, Any]:
    stored = operations.change_stock(catalog_admin(), sku, change, operator=operator, now=now())
    count("CatalogStockChanged")
    _audit("catalog stock changed", operator, f"product:{sku}", available=stored.product.inventory)
    return product_view(stored)
