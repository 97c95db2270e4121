"""Smoke tests of the benchmark's pure helpers, its verdicts and its replay stub. No timing is asserted here: the
figures live in `make bench`, never in timed tests. Every timing verdict is a ratio to a floor measured in the same
run, so the tests below give the same verdicts on a machine ten times slower."""

import json
import math
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from pydantic import BaseModel

from devstack.bench import cold, first, warm
from devstack.bench.__main__ import COLD_RATIO_TARGET, cold_rows, first_request_rows, warm_rows
from devstack.bench.checkouts import CheckoutRun
from devstack.bench.report import INFO, MISS, OK, Row, percentile, ratio_verdict, render_table
from devstack.simulator.client import Timeline
from devstack.simulator.load import LoadResult
from devstack.simulator.scenarios import CheckoutResult
from devstack.template import LocalResolver, function_specs, load_template
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


# ---------------------------------------------------------------- verdicts: ratios to a floor, never milliseconds


def test_a_ratio_verdict_compares_the_ratio_with_its_target() -> None:
    assert ratio_verdict(1.39, 1.4) == OK
    assert ratio_verdict(1.4, 1.4) == OK
    assert ratio_verdict(1.41, 1.4) == MISS
    assert ratio_verdict(math.nan, 1.4) == MISS
    assert ratio_verdict(0.0, 1.4) == MISS  # a broken measurement is not a pass


def test_a_sample_is_paired_with_the_median_of_the_floor_processes_around_it() -> None:
    floors = [0.20, 0.21, 0.40, 0.22, 0.23]  # the third floor process was disturbed

    assert cold.local_floor(floors, 2) == 0.22  # median of 0.21, 0.40, 0.22
    assert cold.local_floor(floors, 3) == 0.23  # median of 0.40, 0.22, 0.23
    assert cold.local_floor(floors, 0) == pytest.approx(0.205)  # the first has one neighbour: their mean
    assert cold.local_floor(floors, 4) == pytest.approx(0.225)
    assert cold.local_floor([0.3], 0) == 0.3


def _cold_results(scale: float, traced: list[float], untraced: list[float]) -> list[cold.ColdTarget]:
    """A floor of 200 ms x scale and one function whose paired samples are those ratios of it."""
    floor = cold.ColdTarget("floor", ":floor", None)
    floor.samples["traced"] = [0.2 * scale] * len(traced)
    function = cold.ColdTarget("ShippingFunction", "shipping_handler", Path("ShippingFunction"))
    for mode, ratios in (("traced", traced), ("untraced", untraced)):
        function.samples[mode] = [0.2 * scale * ratio for ratio in ratios]
        function.ratios[mode] = list(ratios)
    return [floor, function]


@pytest.mark.parametrize("scale", [1.0, 10.0])  # this machine, or one ten times slower
def test_cold_init_is_judged_on_the_traced_ratio_only(scale: float) -> None:
    under = cold_rows(_cold_results(scale, traced=[1.30, 1.35, 1.38], untraced=[1.6, 1.7, 1.8]))
    over = cold_rows(_cold_results(scale, traced=[1.45, 1.50, 1.55], untraced=[1.1, 1.1, 1.1]))

    assert [row.verdict for row in under] == [INFO, OK]  # the untraced detail is shown, not judged
    assert [row.verdict for row in over] == [INFO, MISS]
    assert under[1].data["ratio"] == 1.35
    assert under[1].data["untraced"]["ratio"] == 1.7
    assert "untraced 1.70x" in under[1].measured
    assert f"<= {COLD_RATIO_TARGET}x" in under[1].reference
    assert under[0].section.startswith("cold init (traced")


def test_cold_init_of_a_function_that_failed_to_import_is_a_miss() -> None:
    results = _cold_results(1.0, traced=[1.2], untraced=[1.2])
    results[1].error = "ImportError: no module named x"
    results[1].ratios.clear()

    assert cold_rows(results)[1].verdict == MISS


def _first_results(scale: float, ratios: list[float]) -> list[first.FirstTarget]:
    floor = first.FirstTarget(first.FLOOR_NAME, ":floor", "", None)
    floor.init, floor.first = [0.2 * scale] * len(ratios), [0.01 * scale] * len(ratios)
    function = first.FirstTarget("TaxFunction", "tax_handler", "lambda_handler", Path("TaxFunction"))
    function.request = next(r for r in first.FIRST_REQUESTS if r.function_dir == "tax")
    function.init = [0.3 * scale * ratio / 1.5 for ratio in ratios]
    function.first = [0.015 * scale * ratio / 1.5 for ratio in ratios]
    function.ratios = list(ratios)
    return [floor, function]


@pytest.mark.parametrize("scale", [1.0, 10.0])
def test_init_plus_first_request_reports_the_sum_over_the_floor_s_sum(scale: float) -> None:
    rows = first_request_rows(_first_results(scale, [1.5, 1.6, 1.7]))

    assert [row.verdict for row in rows] == [INFO, INFO]  # compared before and after a change, no target
    assert rows[1].data["ratio"] == 1.6
    assert rows[1].measured.startswith("1.60x floor")
    assert rows[1].data["median_s"] == pytest.approx(rows[1].data["init_median_s"] + rows[1].data["first_median_s"])


def _warm_result(scale: float, ratio: float, target: float | None) -> warm.HookResult:
    case = warm.HookCase("order.tax", "tax", {}, _Body, target, 1)
    result = warm.HookResult(case, "TaxFunction")
    result.floor_samples = [0.00004 * scale] * 5
    result.samples = [0.00004 * scale * ratio] * 5
    return result


class _Body(BaseModel):  # stands in for the request model: the rows never use it
    pass


@pytest.mark.parametrize("scale", [1.0, 10.0])
def test_warm_overhead_is_judged_on_its_ratio_to_the_floor(scale: float) -> None:
    rows = warm_rows(
        [
            _warm_result(scale, 6.0, 13),
            _warm_result(scale, 14.0, 13),
            _warm_result(scale, 30.0, None),
        ]
    )

    assert [row.verdict for row in rows] == [OK, MISS, INFO]
    assert rows[0].data["ratio_p50"] == pytest.approx(6.0)
    assert "target p50 <= 13x" in rows[0].reference


def test_no_timing_row_states_a_target_in_milliseconds() -> None:
    rows = [
        *cold_rows(_cold_results(10.0, [1.5], [1.5])),
        *first_request_rows(_first_results(10.0, [1.5])),
        *warm_rows([_warm_result(10.0, 6.0, 13)]),
    ]

    for row in rows:
        assert not re.search(r"(target|<=)[^;]*\d\s*ms", row.reference), row.reference


def test_every_warm_hook_has_a_ratio_target_or_none() -> None:
    seeded = warm.Seeded(order_create_cart={}, webhook_total=0)

    for case in warm.hook_cases(seeded):
        assert case.target_p50_ratio is None or case.target_p50_ratio >= 1


# ---------------------------------------------------------------- environments and first requests


def test_the_traced_child_environment_is_lambda_s_with_the_tracer_on() -> None:
    traced = cold.lambda_markers("traced", Path("/var/task"), "TaxFunction")
    untraced = cold.lambda_markers("untraced", Path("/var/task"), "TaxFunction")

    assert traced["LAMBDA_TASK_ROOT"] == untraced["LAMBDA_TASK_ROOT"] == "/var/task"
    assert traced["AWS_LAMBDA_FUNCTION_NAME"] == "TaxFunction"
    assert "POWERTOOLS_TRACE_DISABLED" not in traced
    assert untraced["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert cold.lambda_markers("bare", None, "x") == {}
    with pytest.raises(ValueError, match="unknown cold environment"):
        cold.lambda_markers("lambda", None, "x")


def test_every_function_of_the_template_has_a_first_request_from_events() -> None:
    template = load_template()
    functions = {spec.code_uri.name for spec in function_specs(template, LocalResolver(template, "bench"))}
    requests = {request.function_dir: request for request in first.FIRST_REQUESTS}

    assert set(requests) == functions
    for request in requests.values():
        assert request.event in first._built_events() or (first.EVENTS_DIR / request.event).is_file(), request.event


def test_the_order_view_event_is_an_operator_s_get() -> None:
    event = first.order_view_event("BO-TEST000001")

    assert event["httpMethod"] == "GET"
    assert event["path"] == "/orders/BO-TEST000001"
    assert event["pathParameters"] == {"order_id": "BO-TEST000001"}
    assert event["requestContext"]["identity"]["userArn"].startswith("arn:aws:iam::")


def test_the_child_s_result_is_found_among_the_function_s_log_lines() -> None:
    result = {"init": 0.3, "first": 0.1, "init_cpu": 0.29, "first_cpu": 0.05, "answer": {"statusCode": 200}}
    stdout = "\n".join(['{"level":"INFO","message":"bolt request answered"}', first.RESULT_MARKER + json.dumps(result)])

    assert first.parse_result(stdout) == result
    assert first.parse_result('{"_aws": {"CloudWatchMetrics": []}}') is None


@pytest.mark.parametrize(
    ("function_dir", "answer", "expected"),
    [
        ("tax", {"statusCode": 200, "body": '{"event":"order.tax","status":"success","data":{}}'}, True),
        ("tax", {"statusCode": 200, "body": '{"status":"failure"}'}, False),
        ("tax", {"statusCode": 503, "body": "{}"}, False),
        ("transaction_webhook", {"statusCode": 200, "body": '{"status":"success","result":"applied"}'}, True),
        ("transaction_webhook", {"statusCode": 200, "body": '{"status":"success","result":"duplicate"}'}, False),
        ("fulfilment", {"batchItemFailures": []}, True),
        ("fulfilment", {"batchItemFailures": [{"itemIdentifier": "m1"}]}, False),
    ],
)
def test_a_first_request_counts_only_with_the_answer_it_should_get(
    function_dir: str, answer: dict[str, Any], expected: bool
) -> None:
    request = next(r for r in first.FIRST_REQUESTS if r.function_dir == function_dir)

    assert request.expected(answer) is expected
