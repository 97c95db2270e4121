"""The operations dashboard: its body is valid JSON once CloudFormation's Fn::Sub is resolved, and it shows every
function, route and dead-letter queue the template has, hook latency against the budget, webhook results, holds and
reconciliation outcomes."""

import json
from typing import Any

import pytest

from devstack.template import LocalResolver, load_template, resources_of_type
from tests.reliability.test_template_invariants import queue_roles

STACK = "bolt-merchant-test"
HOOKS = (
    "/bolt/shipping",
    "/bolt/tax",
    "/bolt/shipping-and-tax",
    "/bolt/discounts/apply",
    "/bolt/cart/update",
    "/bolt/order/create",
    "/bolt/universal",
    "/bolt/webhooks/transaction",
    "/bolt/webhooks/credit-card",
)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def resolver(document: dict[str, Any]) -> LocalResolver:
    return LocalResolver(document, STACK, {"Environment": "prod", "LatencyBudgetMs": "750"})


@pytest.fixture(scope="module")
def widgets(document: dict[str, Any], resolver: LocalResolver) -> list[dict[str, Any]]:
    (dashboard,) = resources_of_type(document, "AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    assert set(body) == {"Fn::Sub"}
    resolved = resolver.resolve(body)
    assert "${" not in resolved  # every variable is one CloudFormation resolves
    parsed: list[dict[str, Any]] = json.loads(resolved)["widgets"]
    return parsed


def metrics(widget: dict[str, Any]) -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
    """(namespace, name, dimensions, options) of each metric line of a widget."""
    lines = []
    for line in widget["properties"].get("metrics", []):
        options = line[-1] if isinstance(line[-1], dict) else {}
        fields = line[:-1] if options else line
        namespace, name, *pairs = fields
        lines.append((namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True)), options))
    return lines


def every_metric(widgets: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
    return [line for widget in widgets for line in metrics(widget)]


def test_the_layout_fits_the_grid(widgets: list[dict[str, Any]]) -> None:
    for widget in widgets:
        assert widget["type"] in {"metric", "text"}
        assert widget["x"] + widget["width"] <= 24
        if widget["type"] == "metric":
            assert widget["properties"]["region"] == "us-east-1"
            assert widget["properties"]["metrics"]


def test_each_hook_shows_p50_and_p99_against_the_latency_budget(
    widgets: list[dict[str, Any]], document: dict[str, Any]
) -> None:
    assert "no timeout" in document["Parameters"]["LatencyBudgetMs"]["Description"]
    for route in HOOKS:
        (widget,) = [
            w for w in widgets if any(d.get("Resource") == route for _, n, d, _ in metrics(w) if n == "Latency")
        ]
        lines = metrics(widget)
        assert sorted(options["stat"] for _, _, _, options in lines) == ["p50", "p99"]
        for namespace, _, dimensions, _ in lines:
            assert namespace == "AWS/ApiGateway"
            assert dimensions == {"ApiName": f"{STACK}-api", "Resource": route, "Method": "POST", "Stage": "prod"}
        assert widget["properties"]["annotations"]["horizontal"] == [{"label": "budget", "value": 750}]


def test_every_route_shows_its_4xx_and_5xx(widgets: list[dict[str, Any]], document: dict[str, Any]) -> None:
    routes = {
        (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
        for function in resources_of_type(document, "AWS::Serverless::Function").values()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "Api"
    }
    for error in ("4XXError", "5XXError"):
        shown = {
            (dimensions["Method"], dimensions["Resource"])
            for namespace, name, dimensions, _ in every_metric(widgets)
            if (namespace, name) == ("AWS/ApiGateway", error)
        }
        assert shown == routes, error


def test_every_function_shows_its_throttles_and_errors(
    widgets: list[dict[str, Any]], document: dict[str, Any], resolver: LocalResolver
) -> None:
    names = {resolver.physical_name(lid) for lid in resources_of_type(document, "AWS::Serverless::Function")}
    for metric in ("Throttles", "Errors"):
        shown = {
            dimensions["FunctionName"]
            for namespace, name, dimensions, _ in every_metric(widgets)
            if (namespace, name) == ("AWS/Lambda", metric)
        }
        assert shown == names, metric
    (reservation,) = [w for w in widgets if "reservation" in w["properties"].get("title", "")]
    reserved = int(document["Parameters"]["TransactionWebhookReservedConcurrency"]["Default"])
    assert reservation["properties"]["annotations"]["horizontal"][0]["value"] == reserved


def test_every_dead_letter_queue_shows_its_depth(
    widgets: list[dict[str, Any]], document: dict[str, Any], resolver: LocalResolver
) -> None:
    _, dlqs, destinations = queue_roles(document)
    assert dlqs
    shown = {
        dimensions["QueueName"]
        for namespace, name, dimensions, _ in every_metric(widgets)
        if (namespace, name) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    }
    assert shown == {resolver.queue_name(queue) for queue in dlqs | set(destinations)}


def test_webhook_results_holds_and_reconciliation_outcomes(widgets: list[dict[str, Any]]) -> None:
    shown = {
        (name, dimensions["service"])
        for namespace, name, dimensions, _ in every_metric(widgets)
        if namespace == "BoltMerchant"
    }
    webhook = {(f"Webhook{result}", "transaction-webhook") for result in ("Applied", "Duplicate", "Ignored", "Held")}
    holds = {("OrderHeld", service) for service in ("reconciler", "transaction-webhook", "order-admin")}
    reconciliation = {(f"Reconcile{outcome}", "reconciler") for outcome in ("Changed", "Unchanged", "Failed")}
    assert webhook | holds | reconciliation <= shown


def test_the_stack_outputs_link_to_the_dashboard(document: dict[str, Any]) -> None:
    # Ref of an AWS::CloudWatch::Dashboard is its name: the console opens it by name.
    (logical_id,) = resources_of_type(document, "AWS::CloudWatch::Dashboard")
    assert document["Outputs"]["DashboardUrl"]["Value"] == {
        "Fn::Sub": "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}"
        f"#dashboards:name=${{{logical_id}}}"
    }
