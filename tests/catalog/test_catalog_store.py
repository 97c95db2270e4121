"""The DynamoDB catalog (catalog/store.py, DynamoCatalog) under moto: one read per cold view, none while warm."""

import pytest
from bolt_merchant.catalog import SETTINGS_KEY, product_key
from bolt_merchant.catalog.store import DynamoCatalog
from bolt_merchant.core.errors import DependencyUnavailable

from devstack.catalog import write_catalog
from tests.support import AwsStack, CallCounter, demo_catalog, demo_products

CACHE_SECONDS = 60.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def catalog(aws: AwsStack, clock: FakeClock) -> DynamoCatalog:
    return DynamoCatalog(aws.dynamodb, aws.catalog_table, CACHE_SECONDS, clock=clock)


@pytest.fixture
def calls(aws: AwsStack) -> CallCounter:
    return CallCounter(aws.dynamodb)


def test_a_cold_view_reads_settings_and_products_in_one_batch_get(catalog: DynamoCatalog, calls: CallCounter) -> None:
    view = catalog.view(["TOTE-BLUE", "GIFT-25"])

    assert calls.calls == ["BatchGetItem"]
    assert view.settings == demo_catalog().settings
    assert dict(view.products) == {sku: demo_products()[sku] for sku in ("TOTE-BLUE", "GIFT-25")}


def test_a_warm_view_makes_no_call(catalog: DynamoCatalog, calls: CallCounter, clock: FakeClock) -> None:
    first = catalog.view(["TOTE-BLUE", "MUG-12OZ"])
    calls.reset()
    clock.now += CACHE_SECONDS - 0.001

    again = catalog.view(["MUG-12OZ", "TOTE-BLUE"])
    subset = catalog.view(["TOTE-BLUE"])

    assert calls.count() == 0
    assert again == first
    assert dict(subset.products) == {"TOTE-BLUE": demo_products()["TOTE-BLUE"]}


def test_the_cache_expires(catalog: DynamoCatalog, calls: CallCounter, clock: FakeClock, aws: AwsStack) -> None:
    catalog.view(["TOTE-BLUE"])
    aws.dynamodb.update_item(
        TableName=aws.catalog_table,
        Key={"pk": {"S": product_key("TOTE-BLUE")}},
        UpdateExpression="SET unit_price = :p",
        ExpressionAttributeValues={":p": {"N": "2500"}},
    )
    calls.reset()

    clock.now += CACHE_SECONDS
    view = catalog.view(["TOTE-BLUE"])

    assert calls.calls == ["BatchGetItem"]
    assert view.products["TOTE-BLUE"].unit_price == 2500


def test_only_what_is_missing_is_read_while_the_rest_is_warm(
    catalog: DynamoCatalog, calls: CallCounter, aws: AwsStack
) -> None:
    catalog.view(["TOTE-BLUE"])
    calls.reset()

    view = catalog.view(["TOTE-BLUE", "HOODIE-M"])

    assert calls.calls == ["BatchGetItem"]
    [(_, params)] = calls.params
    assert params["RequestItems"][aws.catalog_table]["Keys"] == [{"pk": {"S": product_key("HOODIE-M")}}]
    assert set(view.products) == {"TOTE-BLUE", "HOODIE-M"}


def test_unknown_skus_are_absent_and_remembered(catalog: DynamoCatalog, calls: CallCounter) -> None:
    view = catalog.view(["NOT-SOLD", "TOTE-BLUE"])
    calls.reset()

    again = catalog.view(["NOT-SOLD"])

    assert set(view.products) == {"TOTE-BLUE"}
    assert dict(again.products) == {}
    assert calls.count() == 0


def test_an_empty_view_reads_settings_only(catalog: DynamoCatalog, calls: CallCounter) -> None:
    view = catalog.view([])

    assert calls.calls == ["BatchGetItem"]
    assert dict(view.products) == {}
    assert view.settings.currency == demo_catalog().currency


def test_more_skus_than_one_batch_allows_are_read_in_several_batches(
    catalog: DynamoCatalog, calls: CallCounter
) -> None:
    skus = [f"SKU-{n:03d}" for n in range(150)] + ["TOTE-BLUE"]

    view = catalog.view(skus)

    assert calls.calls == ["BatchGetItem", "BatchGetItem"]
    assert set(view.products) == {"TOTE-BLUE"}


def test_missing_settings_are_a_dependency_failure(aws: AwsStack, clock: FakeClock) -> None:
    aws.dynamodb.delete_item(TableName=aws.catalog_table, Key={"pk": {"S": SETTINGS_KEY}})
    catalog = DynamoCatalog(aws.dynamodb, aws.catalog_table, CACHE_SECONDS, clock=clock)

    with pytest.raises(DependencyUnavailable, match="settings"):
        catalog.view(["TOTE-BLUE"])


def test_a_missing_table_is_a_dependency_failure(aws: AwsStack, clock: FakeClock) -> None:
    catalog = DynamoCatalog(aws.dynamodb, "no-such-table", CACHE_SECONDS, clock=clock)

    with pytest.raises(DependencyUnavailable):
        catalog.view(["TOTE-BLUE"])


def test_writing_a_catalog_document_writes_every_item(aws: AwsStack) -> None:
    document = demo_catalog()

    written = write_catalog(aws.dynamodb, aws.catalog_table, document)

    assert written == 1 + len(document.products) + len(document.discounts)
    assert aws.dynamodb.scan(TableName=aws.catalog_table, Select="COUNT")["Count"] == written
