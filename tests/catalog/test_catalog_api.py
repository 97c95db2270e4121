"""The operator catalog API (functions/catalog_admin) under moto: each route, each bad input answered 4xx with
nothing written (the catalog table compared item for item), optimistic concurrency with ETag/If-Match, stock that
never goes below zero, Idempotency-Key, and the audit trail."""

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from bolt_merchant.catalog import product_key, stock_key
from bolt_merchant.checkout.carts import PricingContext, evaluate
from bolt_merchant.checkout.store import DynamoCartStore
from bolt_merchant.core.errors import AdminCode, BoltCode, Invalid

from devstack.settings import LOCAL_OPERATOR_ARN
from tests.support import (
    AwsStack,
    FakeLambdaContext,
    OperatorAnswer,
    demo_catalog,
    load_handler,
    operator_answer,
    operator_event,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
HOODIE = {"name": "Organic Hoodie (M)", "unit_price": 6800, "taxable": True, "type": "physical", "weight_g": 700}


Call = Callable[..., OperatorAnswer]


@pytest.fixture
def call(aws: AwsStack, lambda_context: FakeLambdaContext) -> Call:
    aws.use_function("catalog_admin")
    handler = load_handler("catalog_admin")

    def invoke(
        method: str, path: str, body: Any = None, *, raw: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> OperatorAnswer:
        parts = path.strip("/").split("/")
        params: dict[str, str] = {}
        resource = path
        if len(parts) >= 3 and parts[1] == "products":
            params, resource = {"sku": parts[2]}, "/catalog/products/{sku}" + ("/stock" if len(parts) == 4 else "")
        elif len(parts) == 3 and parts[1] == "discounts":
            params, resource = {"code": parts[2]}, "/catalog/discounts/{code}"
        event = operator_event(method, resource, path, body, raw=raw, headers=headers, path_parameters=params)
        return operator_answer(handler, event, lambda_context)

    return invoke


def catalog_items(aws: AwsStack) -> dict[str, dict[str, Any]]:
    items = aws.dynamodb.scan(TableName=aws.catalog_table, ConsistentRead=True)["Items"]
    return {item["pk"]["S"]: item for item in items}


def audit_items(aws: AwsStack) -> list[dict[str, Any]]:
    return [item for pk, item in sorted(catalog_items(aws).items()) if pk.startswith("AUDIT#")]


@pytest.fixture
def unchanged(aws: AwsStack) -> Callable[[], None]:
    """Asserts, when called, that the catalog table is item for item what it was when the fixture was made."""
    before = catalog_items(aws)

    def check() -> None:
        assert catalog_items(aws) == before

    return check


# ---------------------------------------------------------------- products


def test_a_product_reads_with_its_stock_and_an_etag(call: Call) -> None:
    answer = call("GET", "/catalog/products/HOODIE-M")

    assert answer.status == 200
    assert answer.body["product"]["unit_price"] == 6800
    assert answer.body["stock"] == {
        "available": 5,
        "reserved": 0,
        "shards": [{"shard": 0, "available": 5, "reserved": 0}],
    }
    assert answer.headers["ETag"] == f'"{answer.body["revision"]}"'


def test_a_price_change_keeps_the_stock_and_is_audited_with_the_callers_arn(call: Call, aws: AwsStack) -> None:
    read = call("GET", "/catalog/products/HOODIE-M")

    answer = call(
        "PUT", "/catalog/products/HOODIE-M", {**HOODIE, "unit_price": 5900}, headers={"If-Match": read.headers["ETag"]}
    )

    assert answer.status == 200
    assert answer.body["product"]["unit_price"] == 5900
    assert answer.body["stock"]["available"] == 5
    assert answer.headers["ETag"] != read.headers["ETag"]
    (audit,) = audit_items(aws)
    assert audit["operator"]["S"] == LOCAL_OPERATOR_ARN
    assert audit["target"]["S"] == "product:HOODIE-M"
    change = json.loads(audit["change"]["S"])
    assert (change["before"]["unit_price"], change["after"]["unit_price"]) == (6800, 5900)


def test_a_new_product_starts_with_no_stock(call: Call) -> None:
    answer = call("PUT", "/catalog/products/CAP-RED", {**HOODIE, "name": "Cap (red)", "unit_price": 1500})

    assert answer.status == 200
    assert answer.body["stock"]["available"] == 0
    assert call("GET", "/catalog/products/CAP-RED").body["product"]["name"] == "Cap (red)"


def test_an_unknown_sku_is_404(call: Call, unchanged: Callable[[], None]) -> None:
    for path in ("/catalog/products/NOPE", "/catalog/products/bad%23sku"):
        answer = call("GET", path)
        assert (answer.status, answer.error_code) == (404, AdminCode.CATALOG_ITEM_NOT_FOUND)
    stock = call("POST", "/catalog/products/NOPE/stock", {"adjust": 5, "reason": "restock"})
    assert (stock.status, stock.error_code) == (404, AdminCode.CATALOG_ITEM_NOT_FOUND)
    unchanged()


@pytest.mark.parametrize(
    "body",
    [
        {**HOODIE, "unit_price": -1},
        {**HOODIE, "unit_price": 12.5},
        {**HOODIE, "unit_price": True},
        {**HOODIE, "name": ""},
        {**HOODIE, "stock_shards": 0},
        {**HOODIE, "stock_shards": 33},
        {**HOODIE, "inventory": 1000},  # stock only moves through .../stock
        {key: value for key, value in HOODIE.items() if key != "type"},
    ],
    ids=["negative-price", "fraction", "bool-price", "no-name", "no-shards", "too-many-shards", "stock", "missing"],
)
def test_an_invalid_product_is_422_and_nothing_is_written(
    call: Call, unchanged: Callable[[], None], body: dict[str, Any]
) -> None:
    answer = call("PUT", "/catalog/products/HOODIE-M", body)

    assert (answer.status, answer.error_code) == (422, AdminCode.INVALID_REQUEST)
    unchanged()


def test_a_body_that_is_not_json_is_400_and_nothing_is_written(call: Call, unchanged: Callable[[], None]) -> None:
    for path in ("/catalog/products/HOODIE-M", "/catalog/settings", "/catalog/discounts/SAVE15"):
        answer = call("PUT", path, raw=b"{not json")
        assert answer.status == 400
    unchanged()


def test_a_stale_if_match_is_412_and_changes_nothing(call: Call, aws: AwsStack) -> None:
    stale = call("GET", "/catalog/products/HOODIE-M").headers["ETag"]
    call("PUT", "/catalog/products/HOODIE-M", {**HOODIE, "unit_price": 5900}, headers={"If-Match": stale})
    before = catalog_items(aws)

    answer = call("PUT", "/catalog/products/HOODIE-M", {**HOODIE, "unit_price": 100}, headers={"If-Match": stale})

    assert (answer.status, answer.error_code) == (412, AdminCode.PRECONDITION_FAILED)
    assert catalog_items(aws) == before
    assert call("GET", "/catalog/products/HOODIE-M").body["product"]["unit_price"] == 5900


def test_if_match_on_a_product_that_does_not_exist_is_412(call: Call, unchanged: Callable[[], None]) -> None:
    answer = call("PUT", "/catalog/products/NEW-ONE", HOODIE, headers={"If-Match": '"1"'})

    assert answer.status == 412
    unchanged()


def test_a_retired_product_is_no_longer_sold(call: Call, aws: AwsStack) -> None:
    from bolt_merchant.catalog.store import DynamoCatalog

    call("PUT", "/catalog/products/HOODIE-M", {**HOODIE, "active": False})

    assert DynamoCatalog(aws.dynamodb, aws.catalog_table, 0).view(["HOODIE-M"]).products == {}
    assert call("GET", "/catalog/products/HOODIE-M").body["product"]["active"] is False


# ---------------------------------------------------------------- stock


def test_a_restock_adds_and_answers_available_and_reserved(call: Call) -> None:
    answer = call("POST", "/catalog/products/HOODIE-M/stock", {"adjust": 7, "reason": "delivery"})

    assert answer.status == 200
    assert (answer.body["stock"]["available"], answer.body["stock"]["reserved"]) == (12, 0)


def test_stock_below_zero_is_409_and_nothing_is_written(call: Call, unchanged: Callable[[], None]) -> None:
    answer = call("POST", "/catalog/products/HOODIE-M/stock", {"adjust": -6, "reason": "shrinkage"})

    assert (answer.status, answer.error_code) == (409, AdminCode.STOCK_CONFLICT)
    assert answer.body["available"] == 5
    unchanged()


def test_set_replaces_the_level_only_when_it_is_still_expected(call: Call, aws: AwsStack) -> None:
    done = call("POST", "/catalog/products/HOODIE-M/stock", {"set": 40, "expected": 5})
    assert (done.status, done.body["stock"]["available"]) == (200, 40)
    before = catalog_items(aws)

    stale = call("POST", "/catalog/products/HOODIE-M/stock", {"set": 10, "expected": 5})

    assert (stale.status, stale.error_code, stale.body["available"]) == (409, AdminCode.STOCK_CONFLICT, 40)
    assert catalog_items(aws) == before


@pytest.mark.parametrize(
    "body",
    [
        {"adjust": 5},
        {"set": 5},
        {"adjust": 5, "reason": "x", "set": 3, "expected": 1},
        {"set": -1, "expected": 5},
        {"adjust": "5", "reason": "x"},
        {"adjust": 1.5, "reason": "x"},
        {},
    ],
    ids=["no-reason", "no-expected", "both", "negative-set", "string", "fraction", "empty"],
)
def test_a_malformed_stock_change_is_422_and_nothing_is_written(
    call: Call, unchanged: Callable[[], None], body: dict[str, Any]
) -> None:
    answer = call("POST", "/catalog/products/HOODIE-M/stock", body)

    assert (answer.status, answer.error_code) == (422, AdminCode.INVALID_REQUEST)
    unchanged()


def test_an_idempotency_key_applies_a_stock_change_once(call: Call) -> None:
    headers = {"Idempotency-Key": "restock-2026-01-01"}
    first = call("POST", "/catalog/products/HOODIE-M/stock", {"adjust": 3, "reason": "delivery"}, headers=headers)
    again = call("POST", "/catalog/products/HOODIE-M/stock", {"adjust": 3, "reason": "delivery"}, headers=headers)
    other = call("POST", "/catalog/products/HOODIE-M/stock", {"adjust": 4, "reason": "delivery"}, headers=headers)

    assert (first.status, again.status) == (200, 200)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.body["stock"] == first.body["stock"]
    assert (other.status, other.error_code) == (422, AdminCode.IDEMPOTENCY_KEY_REUSED)
    assert call("GET", "/catalog/products/HOODIE-M").body["stock"]["available"] == 8


def test_resharding_spreads_the_stock_and_keeps_the_total(call: Call, aws: AwsStack) -> None:
    call("POST", "/catalog/products/MUG-12OZ/stock", {"set": 203, "expected": 200})
    mug = {"name": "Stoneware Mug 12oz", "unit_price": 1600, "taxable": True, "type": "physical", "weight_g": 450}

    sharded = call("PUT", "/catalog/products/MUG-12OZ", {**mug, "stock_shards": 8})

    levels = [shard["available"] for shard in sharded.body["stock"]["shards"]]
    assert levels == [26, 26, 26, 25, 25, 25, 25, 25]
    assert sharded.body["stock"]["available"] == 203
    item = aws.dynamodb.get_item(TableName=aws.catalog_table, Key=stock_key("MUG-12OZ", 7))["Item"]
    assert item["inventory"]["N"] == "25"

    fewer = call("PUT", "/catalog/products/MUG-12OZ", {**mug, "stock_shards": 2})

    assert [s["available"] for s in fewer.body["stock"]["shards"]] == [102, 101, 0, 0, 0, 0, 0, 0]
    assert fewer.body["stock"]["available"] == 203
    product = aws.dynamodb.get_item(TableName=aws.catalog_table, Key={"pk": {"S": product_key("MUG-12OZ")}})["Item"]
    assert (product["stock_shards"]["N"], product["shard_slots"]["N"]) == ("2", "8")


def test_a_sharded_restock_and_a_removal_never_leave_a_shard_below_zero(call: Call) -> None:
    mug = {"name": "Stoneware Mug 12oz", "unit_price": 1600, "taxable": True, "type": "physical"}
    call("PUT", "/catalog/products/MUG-12OZ", {**mug, "stock_shards": 4})

    restocked = call("POST", "/catalog/products/MUG-12OZ/stock", {"adjust": 10, "reason": "delivery"})
    removed = call("POST", "/catalog/products/MUG-12OZ/stock", {"adjust": -205, "reason": "recall"})
    too_many = call("POST", "/catalog/products/MUG-12OZ/stock", {"adjust": -6, "reason": "recall"})

    assert restocked.body["stock"]["available"] == 210
    assert removed.body["stock"]["available"] == 5
    assert all(shard["available"] >= 0 for shard in removed.body["stock"]["shards"])
    assert too_many.status == 409


# ---------------------------------------------------------------- discounts


def test_a_deactivated_code_is_refused_by_the_hooks_and_its_uses_survive(call: Call, aws: AwsStack) -> None:
    aws.dynamodb.update_item(
        TableName=aws.catalog_table,
        Key={"pk": {"S": "DISCOUNT#WELCOME10"}},
        UpdateExpression="SET #uses = :n",
        ExpressionAttributeNames={"#uses": "uses"},
        ExpressionAttributeValues={":n": {"N": "42"}},
    )
    welcome = {"type": "fixed_amount", "amount": 1000, "description": "$10 off your first order", "max_uses": 10000}

    answer = call("PUT", "/catalog/discounts/WELCOME10", {**welcome, "active": False})

    assert answer.status == 200
    assert answer.body["uses"] == 42
    record = DynamoCartStore(aws.dynamodb, aws.catalog_table, aws.tables["OrdersTable"]).discounts(["WELCOME10"])
    with pytest.raises(Invalid) as refused:
        evaluate("WELCOME10", record["WELCOME10"], PricingContext(5000, 0, 0), NOW)
    assert refused.value.code == BoltCode.DISCOUNT_CODE_NOT_AVAILABLE


@pytest.mark.parametrize(
    "body",
    [
        {"type": "fixed_amount", "description": "no amount"},
        {"type": "fixed_amount", "amount": -5, "description": "negative"},
        {"type": "percentage", "percent": 101, "description": "too much"},
        {
            "type": "fixed_amount",
            "amount": 5,
            "description": "x",
            "starts_at": "2026-02-01T00:00:00Z",
            "ends_at": "2026-01-01T00:00:00Z",
        },
        {"type": "free_shipping", "description": "x", "uses": 0},
    ],
    ids=["no-amount", "negative", "percent", "window", "uses"],
)
def test_an_invalid_discount_is_422_and_nothing_is_written(
    call: Call, unchanged: Callable[[], None], body: dict[str, Any]
) -> None:
    answer = call("PUT", "/catalog/discounts/SAVE15", body)

    assert (answer.status, answer.error_code) == (422, AdminCode.INVALID_REQUEST)
    unchanged()


def test_an_unknown_or_impossible_code_is_404(call: Call) -> None:
    assert call("GET", "/catalog/discounts/NOPE").status == 404
    assert call("GET", "/catalog/discounts/lower").status == 404


# ---------------------------------------------------------------- settings


def test_settings_are_replaced_as_a_whole(call: Call) -> None:
    read = call("GET", "/catalog/settings")
    settings = read.body["settings"]
    settings["tax"]["rates_basis_points"]["US-CA"] = 900

    answer = call("PUT", "/catalog/settings", settings, headers={"If-Match": read.headers["ETag"]})

    assert answer.status == 200
    assert call("GET", "/catalog/settings").body["settings"]["tax"]["rates_basis_points"]["US-CA"] == 900


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s["shipping"]["options"][0].update(cost=-1),
        lambda s: s["tax"]["rates_basis_points"].update({"US-CA": 20_000}),
        lambda s: s.pop("tax"),
        lambda s: s["shipping"]["pickup_stores"][0].pop("address"),
        lambda s: s.update(currency="usd"),
    ],
    ids=["negative-rate", "tax-over-100", "no-tax", "store-without-address", "currency"],
)
def test_a_bad_settings_document_is_422_and_nothing_is_written(
    call: Call, unchanged: Callable[[], None], change: Callable[[dict[str, Any]], Any]
) -> None:
    settings = demo_catalog().settings.model_dump(mode="json")
    change(settings)

    answer = call("PUT", "/catalog/settings", settings)

    assert (answer.status, answer.error_code) == (422, AdminCode.INVALID_REQUEST)
    unchanged()
