"""make reconcile (python -m devstack.reconcile): the event it sends, a deployed stage through CloudFormation and
Lambda (stubbed with botocore's Stubber), the local stack's schedule route, and its exit status."""

import io
import json
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from devstack import reconcile


def test_the_event_is_one_order_or_a_pass_with_an_optional_look_ahead() -> None:
    assert reconcile.event("BO-1", 60) == {"order_id": "BO-1"}
    assert reconcile.event(None, 3600) == {"ahead_seconds": 3600}
    assert reconcile.event(None, None) == {}


def _body(document: dict[str, Any]) -> StreamingBody:
    raw = json.dumps(document).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def test_a_deployed_stage_runs_its_reconciler_function(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    functions = boto3.client("lambda", region_name="us-east-1")
    with Stubber(cloudformation) as stacks, Stubber(functions) as lambdas:
        stacks.add_response(
            "describe_stack_resource",
            {
                "StackResourceDetail": {
                    "LogicalResourceId": "ReconcilerFunction",
                    "PhysicalResourceId": "shop-prod-ReconcilerFunction-abc",
                    "ResourceType": "AWS::Serverless::Function",
                    "LastUpdatedTimestamp": "2026-12-01T00:00:00Z",
                    "ResourceStatus": "UPDATE_COMPLETE",
                }
            },
            {"StackName": "shop-prod", "LogicalResourceId": "ReconcilerFunction"},
        )
        ran = {"checked": 3, "outcomes": {"changed": 1, "unchanged": 1, "bolt_failed": 1}, "errors": ["BO-9: 404"]}
        lambdas.add_response(
            "invoke",
            {"StatusCode": 200, "Payload": _body(ran)},
            {"FunctionName": "shop-prod-ReconcilerFunction-abc", "Payload": b'{"ahead_seconds": 600}'},
        )
        clients = {"cloudformation": cloudformation, "lambda": functions}
        monkeypatch.setattr(reconcile.boto3, "client", lambda service: clients[service])

        status = reconcile.main(["--stack-name", "shop-prod", "--ahead", "600"])

    out = capsys.readouterr().out
    assert status == 1  # an item was left in attention
    assert "checked 3: bolt_failed 1, changed 1, unchanged 1" in out
    assert "left in attention: BO-9: 404" in out


class _Reply:
    def __init__(self, status: int, document: dict[str, Any]) -> None:
        self.status_code = status
        self.text = json.dumps(document)
        self._document = document

    def json(self) -> dict[str, Any]:
        return self._document


def test_the_local_stack_runs_it_through_its_schedule_route(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sent: list[tuple[str, Any]] = []

    def post(url: str, json: Any, timeout: float) -> _Reply:
        sent.append((url, json))
        return _Reply(200, {"checked": 1, "outcomes": {"changed": 1}, "errors": []})

    monkeypatch.setattr(reconcile.requests, "post", post)

    assert reconcile.main(["--local-url", "http://127.0.0.1:3000/", "--order-id", "BO-1"]) == 0
    assert sent == [("http://127.0.0.1:3000/_local/schedules/ReconcilerFunction", {"order_id": "BO-1"})]
    assert capsys.readouterr().out.strip() == "checked 1: changed 1"


def test_a_negative_look_ahead_is_refused() -> None:
    with pytest.raises(SystemExit) as refused:
        reconcile.main(["--local-url", "http://127.0.0.1:3000", "--ahead", "-1"])
    assert refused.value.code == 2
