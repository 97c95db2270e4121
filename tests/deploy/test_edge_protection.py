"""Protection at the edge, as template.yaml declares it and as SAM translates it: per-route throttles on Bolt's
routes, reserved concurrency for transaction webhooks, JSON access logs without bodies or headers, an optional WAF."""

import json
from typing import Any

import pytest

from devstack.template import load_template, resources_of_type
from tests.reliability.test_template_invariants import translated  # noqa: F401 - SAM's translation, a fixture

ROUTE_GROUPS = {
    "/bolt/shipping": "Hook",
    "/bolt/tax": "Hook",
    "/bolt/shipping-and-tax": "Hook",
    "/bolt/discounts/apply": "Hook",
    "/bolt/cart/update": "Hook",
    "/bolt/order/create": "OrderCreate",
    "/bolt/universal": "Universal",
    "/bolt/webhooks/transaction": "Webhook",
    "/bolt/webhooks/credit-card": "Webhook",
}


def template() -> dict[str, Any]:
    return load_template()


def default(document: dict[str, Any], value: Any) -> int:
    """The number a Ref to a Number parameter deploys with by default."""
    assert isinstance(value, dict), value
    assert set(value) == {"Ref"}, value
    parameter = document["Parameters"][value["Ref"]]
    assert parameter["Type"] == "Number"
    return int(parameter["Default"])


def bolt_routes(document: dict[str, Any]) -> set[str]:
    return {
        event["Properties"]["Path"]
        for function in resources_of_type(document, "AWS::Serverless::Function").values()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "Api" and event["Properties"]["Path"].startswith("/bolt/")
    }


def route_settings(stage_properties: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Route path -> its MethodSettings entry (API Gateway writes each / of the path as ~1)."""
    return {
        setting["ResourcePath"][1:].replace("~1", "/"): setting
        for setting in stage_properties["MethodSettings"]
        if setting["ResourcePath"].startswith("/~1")
    }


def test_every_bolt_route_has_its_own_throttle_from_parameters() -> None:
    document = template()
    settings = route_settings(document["Resources"]["BoltApi"]["Properties"])
    assert bolt_routes(document) == set(ROUTE_GROUPS) == set(settings)
    for route, group in ROUTE_GROUPS.items():
        setting = settings[route]
        assert setting["HttpMethod"] == "POST"
        assert setting["ThrottlingRateLimit"] == {"Ref": f"{group}ThrottleRate"}, route
        assert setting["ThrottlingBurstLimit"] == {"Ref": f"{group}ThrottleBurst"}, route
        assert (
            0 < default(document, setting["ThrottlingRateLimit"]) <= default(document, setting["ThrottlingBurstLimit"])
        )
        assert setting["MetricsEnabled"] is True  # per-route latency and errors for the dashboard


def test_the_documented_sizing_holds_for_the_defaults() -> None:
    """10 checkouts/s: up to 3 calls of each checkout hook, 1 order.create, 12 universal calls, 5 webhooks."""
    document = template()
    settings = route_settings(document["Resources"]["BoltApi"]["Properties"])
    peak = 10
    needed = {"/bolt/shipping": 3, "/bolt/order/create": 1, "/bolt/universal": 12, "/bolt/webhooks/transaction": 5}
    for route, calls in needed.items():
        assert default(document, settings[route]["ThrottlingRateLimit"]) >= peak * calls, route
    webhook, hook = settings["/bolt/webhooks/transaction"], settings["/bolt/shipping"]
    assert default(document, webhook["ThrottlingBurstLimit"]) > default(document, hook["ThrottlingBurstLimit"])


def test_the_deployed_stage_carries_the_route_throttles(translated: dict[str, Any]) -> None:  # noqa: F811
    (stage,) = resources_of_type(translated, "AWS::ApiGateway::Stage").values()
    assert set(route_settings(stage["Properties"])) == set(ROUTE_GROUPS)
    everything = [s for s in stage["Properties"]["MethodSettings"] if s["ResourcePath"] == "/*"]
    assert everything
    assert everything[0]["ThrottlingRateLimit"] > 0


def test_transaction_webhooks_have_reserved_concurrency_and_its_throttles_are_alarmed() -> None:
    document = template()
    function = document["Resources"]["TransactionWebhookFunction"]["Properties"]
    assert default(document, function["ReservedConcurrentExecutions"]) >= 1
    assert document["Parameters"]["TransactionWebhookReservedConcurrency"]["MinValue"] >= 1  # 0 would disable it
    alarm = document["Resources"]["TransactionWebhookThrottlesAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", "Throttles")
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "TransactionWebhookFunction"}}]


def test_access_logs_are_json_in_their_own_log_group_without_bodies_or_headers(
    translated: dict[str, Any],  # noqa: F811
) -> None:
    document = template()
    (stage,) = resources_of_type(translated, "AWS::ApiGateway::Stage").values()
    setting = stage["Properties"]["AccessLogSetting"]
    group = setting["DestinationArn"]["Fn::GetAtt"][0]
    assert document["Resources"][group]["Type"] == "AWS::Logs::LogGroup"
    assert document["Resources"][group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    functions = resources_of_type(document, "AWS::Serverless::Function").values()
    assert group not in {str(f["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]) for f in functions}

    fields = json.loads(setting["Format"])  # one JSON object per request
    assert {"requestId", "ip", "method", "resource", "status", "responseLatency", "integrationLatency"} <= set(fields)
    variables = " ".join(fields.values()).lower()
    for forbidden in ("$input", "header", "body", "authorizer", "requestoverride"):
        assert forbidden not in variables


def test_waf_is_off_by_default_and_rate_limits_per_ip_on_the_stage_when_on(
    translated: dict[str, Any],  # noqa: F811
) -> None:
    document = template()
    assert document["Parameters"]["EnableWaf"]["Default"] == "false"
    assert document["Conditions"]["HasWaf"] == {"Fn::Equals": [{"Ref": "EnableWaf"}, "true"]}
    waf = {
        logical_id: resource
        for logical_id, resource in document["Resources"].items()
        if resource["Type"].startswith("AWS::WAFv2::") or logical_id.startswith("Waf")
    }
    assert set(waf) == {"WebAcl", "WebAclAssociation", "WafBlockedBoltAlarm"}
    assert all(resource.get("Condition") == "HasWaf" for resource in waf.values())

    rules = {rule["Name"]: rule for rule in waf["WebAcl"]["Properties"]["Rules"]}
    for name, limit in (
        ("RateLimitBoltRoutesPerIp", "WafBoltRateLimit"),
        ("RateLimitOtherRoutesPerIp", "WafRateLimit"),
    ):
        statement = rules[name]["Statement"]["RateBasedStatement"]
        assert rules[name]["Action"] == {"Block": {}}
        assert statement["AggregateKeyType"] == "IP"
        assert statement["Limit"] == {"Ref": limit}
    assert default(document, {"Ref": "WafBoltRateLimit"}) > default(document, {"Ref": "WafRateLimit"})

    association = translated["Resources"]["WebAclAssociation"]["Properties"]
    arn, variables = association["ResourceArn"]["Fn::Sub"]
    assert "/restapis/${BoltApi}/stages/${Stage}" in arn
    assert variables["Stage"]["Ref"] in resources_of_type(translated, "AWS::ApiGateway::Stage")


@pytest.mark.parametrize("condition", ["HasWaf", "ManagesApiGatewayAccountLogRole"])
def test_optional_resources_are_only_referenced_where_they_exist(condition: str) -> None:
    """A resource a condition may leave out is named only by resources under the same condition or inside an If."""
    document = template()
    optional = {lid for lid, resource in document["Resources"].items() if resource.get("Condition") == condition}
    assert optional

    def references(value: Any, in_if: bool = False) -> set[str]:
        if isinstance(value, dict):
            if "Fn::If" in value:
                return set().union(*(references(v, True) for v in value["Fn::If"][1:]))
            found = set()
            if "Ref" in value and not in_if:
                found.add(str(value["Ref"]).split(".")[0])
            if "Fn::GetAtt" in value and not in_if:
                found.add(str(value["Fn::GetAtt"][0]))
            return found.union(*(references(v, in_if) for v in value.values()))
        if isinstance(value, list):
            return set().union(*(references(v, in_if) for v in value)) if value else set()
        return set()

    for logical_id, resource in document["Resources"].items():
        if resource.get("Condition") != condition:
            assert not references(resource.get("Properties", {})) & optional, logical_id
