"""Smoke tests of the benchmark's pure helpers and of its replay stub. No timing is asserted here: the figures
live in `make bench`, never in timed tests."""

from typing import Any

import boto3
import pytest

from devstack.bench import warm
from devstack.bench.checkouts import CheckoutRun
from devstack.bench.report import Row, percentile, render_table
from devstack.simulator.client import Timeline
from devstack.simulator.load import LoadResult
from devstack.simulator.scenarios import CheckoutResult
from tests.support import AwsStack


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0]

    assert percentile(values, 0) == 1.0
    assert percentile(values, 50) == 2.5
    assert percentile(values, 100) == 4.0
    assert percentile([7.0], 99) == 7.0


@pytest.mark.parametrize("q", [-1, 101])
def test_percentile_refuses_out_of_range(q: float) -> None:
    with pytest.raises(ValueError, match="q must"):
        percentile([1.0], q)


def test_table_has_one_row_per_figure_and_escapes_pipes() -> None:
    table = render_table([Row("warm", "a|b", "p50 1 ms", "target <= 2 ms", "ok")])

    lines = table.splitlines()
    assert lines[0] == "| Section | Subject | Measured | Floor / target | Verdict |"
    assert lines[1] == "|---|---|---|---|---|"
    assert lines[2] == "| warm | a\\|b | p50 1 ms | target <= 2 ms | ok |"
    assert len(lines) == 3


def test_request_tables_of_a_transaction_are_sorted_and_unique() -> None:
    params = {
        "TransactItems": [
            {"Put": {"TableName": "orders", "Item": {}}},
            {"Update": {"TableName": "catalog", "Key": {}}},
            {"Put": {"TableName": "orders", "Item": {}}},
        ]
    }

    assert warm.request_tables("TransactWriteItems", params) == ("catalog", "orders")
    assert warm.request_tables("BatchGetItem", {"RequestItems": {"b": {}, "a": {}}}) == ("a", "b")
    assert warm.request_tables("GetItem", {"TableName": "t", "Key": {}}) == ("t",)


def test_replay_answers_recorded_requests_from_memory(aws: AwsStack) -> None:
    client = boto3.client("dynamodb")
    counter = warm.CallCounter()
    counter.attach(client)
    replay = warm.DynamoReplay(client)
    key = {"pk": {"S": "SETTINGS"}}
    recorded = client.get_item(TableName=aws.catalog_table, Key=key)
    aws.dynamodb.delete_item(TableName=aws.catalog_table, Key=key)  # moto now has nothing under that key

    replay.replay()
    replayed = client.get_item(TableName=aws.catalog_table, Key=key)
    # Another read of the same table and operation gets the closest recorded answer: (operation, tables).
    coarse = client.get_item(TableName=aws.catalog_table, Key={"pk": {"S": "PRODUCT#NOPE"}})
    orders = aws.tables["OrdersTable"]
    missed = client.get_item(TableName=orders, Key={"pk": {"S": "CART#x"}, "sk": {"S": "CART"}})

    assert replayed["Item"] == recorded["Item"]
    assert coarse["Item"] == recorded["Item"]
    assert "Item" not in missed  # never recorded for that table: fell through to moto and was listed
    assert replay.replayed == 2
    assert replay.missed == [("GetItem", (orders,))]
    assert counter.calls == ["dynamodb:GetItem"] * 4


@pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
def test_shipping_hook_runs_warm_without_aws_calls(aws: AwsStack) -> None:
    seeded = warm.Seeded(order_create_cart={}, webhook_total=0)
    case = next(c for c in warm.hook_cases(seeded) if c.function_dir == "shipping")
    session: Any = boto3.DEFAULT_SESSION

    result = warm.run_hook(case, aws.specs["shipping"], session, warm.Environment(), iterations=3, warmup=2)

    assert result.cold_calls == ["secrets-manager:GetSecretValue", "dynamodb:BatchGetItem"]
    assert result.warm_calls == []
    assert result.failures == 0
    assert result.missed == []
    assert len(result.samples) == len(result.floor_samples) == 3


def test_checkout_rates_over_the_first_and_last_fifth_of_completions() -> None:
    def finished_at(moment: float) -> CheckoutResult:
        return CheckoutResult(ok=True, errors=[], seconds=1.0, timeline=Timeline("checkout", finished=moment))

    # 10 checkouts from t=100: two done by t=101 (2/s), the last two within the final 4 s (0.5/s)
    ends = [100.5, 101.0, 102, 103, 104, 105, 106, 107, 110.0, 111.0]
    load = LoadResult(10, 2, 11.0, [finished_at(t) for t in reversed(ends)], started=100.0)
    run = CheckoutRun(10, 2, load=load)

    assert run.rate("first") == pytest.approx(2.0)
    assert run.rate("last") == pytest.approx(2 / 4)
    assert CheckoutRun(10, 2).rate("first") == 0.0
