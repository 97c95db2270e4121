"""The local stack's non-obvious pieces: routing, proxy results, queues from a template, containers, serialising."""

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from pathlib import Path
from typing import Any

import boto3
import pytest
from bolt_merchant.fanout.signing import signed_headers
from moto import mock_aws

from devstack import oms_sink, settings
from devstack.aws import SerialisedApp
from devstack.containers import FunctionIdentity, FunctionPool
from devstack.gateway import Route, http_response, resolve_route
from devstack.load_catalog import catalog_table_of_stack
from devstack.load_catalog import main as load_catalog_main
from devstack.process import StackFailed, StackProcess, environment_with_default_secrets
from devstack.resources import DEMO_CATALOG, create_queues
from devstack.stack import LOCAL_FUNCTION_OVERRIDES, shared_function_environment
from devstack.template import ROOT, FunctionSpec, LocalResolver


class NoFunction:
    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("routing tests never invoke")


CART = Route("POST", "/storefront/carts", NoFunction())
TOKEN = Route("POST", "/storefront/carts/{cart_id}/bolt-order-token", NoFunction())
ANY_CART = Route("GET", "/storefront/carts/{cart_id}", NoFunction())
LITERAL_CART = Route("GET", "/storefront/carts/featured", NoFunction())
OPS = Route("ANY", "/ops/{name}", NoFunction(), iam_auth=True)
ROUTES = [CART, TOKEN, ANY_CART, LITERAL_CART, OPS]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/storefront/carts", (CART, {})),
        ("POST", "/storefront/carts/c_1/bolt-order-token", (TOKEN, {"cart_id": "c_1"})),
        ("GET", "/storefront/carts/featured", (LITERAL_CART, {})),
        ("GET", "/storefront/carts/c_2", (ANY_CART, {"cart_id": "c_2"})),
        ("DELETE", "/ops/replay", (OPS, {"name": "replay"})),
        ("GET", "/storefront/carts/c_1/bolt-order-token", HTTPStatus.METHOD_NOT_ALLOWED),
        ("POST", "/storefront", HTTPStatus.NOT_FOUND),
        ("POST", "/storefront/carts/c_1/other", HTTPStatus.NOT_FOUND),
    ],
)
def test_resolve_route(method: str, path: str, expected: object) -> None:
    assert resolve_route(ROUTES, method, path) == expected


def test_http_response_repeats_multi_value_headers_and_decodes_base64() -> None:
    result = {
        "statusCode": 201,
        "headers": {"Content-Type": "application/json", "Set-Cookie": "shadowed"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": "AAH/",
        "isBase64Encoded": True,
    }

    status, headers, body = http_response(result)

    assert status == 201
    assert headers == [("Content-Type", "application/json"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
    assert body == b"\x00\x01\xff"


QUEUE_TEMPLATE: dict[str, Any] = {
    "Parameters": {"Visibility": {"Type": "Number", "Default": 45}},
    "Resources": {
        "Events": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "FifoQueue": True,
                "ContentBasedDeduplication": True,
                "VisibilityTimeout": 60,
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["EventsDlq", "Arn"]}, "maxReceiveCount": 3},
            },
        },
        "EventsDlq": {"Type": "AWS::SQS::Queue", "Properties": {"FifoQueue": True}},
        "Plain": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"VisibilityTimeout": {"Ref": "Visibility"}, "SqsManagedSseEnabled": True},
        },
        "NotAQueue": {"Type": "AWS::SNS::Topic", "Properties": {}},
    },
}


def test_create_queues_resolves_attributes_and_creates_dead_letter_queues_first() -> None:
    with mock_aws():
        sqs = boto3.client("sqs")

        urls = create_queues(sqs, QUEUE_TEMPLATE, LocalResolver(QUEUE_TEMPLATE, "stack"))

        def attributes(logical_id: str) -> Mapping[Any, str]:
            return sqs.get_queue_attributes(QueueUrl=urls[logical_id], AttributeNames=["All"])["Attributes"]

        events = attributes("Events")
        assert set(urls) == {"Events", "EventsDlq", "Plain"}
        assert urls["Events"].endswith("/stack-Events.fifo")
        assert (events["FifoQueue"], events["ContentBasedDeduplication"], events["VisibilityTimeout"]) == (
            "true",
            "true",
            "60",
        )
        redrive = json.loads(events["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == attributes("EventsDlq")["QueueArn"]
        assert int(redrive["maxReceiveCount"]) == 3
        plain = attributes("Plain")
        assert (plain["VisibilityTimeout"], plain["SqsManagedSseEnabled"]) == ("45", "true")


def _spec(logical_id: str, environment: dict[str, str], code_uri: Path = Path()) -> FunctionSpec:
    return FunctionSpec(logical_id, code_uri, "handler_module.lambda_handler", environment)


def test_shared_function_environment_replaces_per_function_values() -> None:
    specs = [
        _spec("A", {"TABLE": "t", "POWERTOOLS_SERVICE_NAME": "a", "ENVIRONMENT": "dev"}),
        _spec("B", {"TABLE": "t", "POWERTOOLS_SERVICE_NAME": "b"}),
    ]

    assert shared_function_environment(specs) == {"TABLE": "t", **LOCAL_FUNCTION_OVERRIDES}


def test_shared_function_environment_refuses_conflicting_values() -> None:
    with pytest.raises(ValueError, match="B sets TABLE='u'"):
        shared_function_environment([_spec("A", {"TABLE": "t"}), _spec("B", {"TABLE": "u"})])


ONE_EVENT_AT_A_TIME_HANDLER = """
import time
from aws_lambda_powertools.event_handler import APIGatewayRestResolver

app = APIGatewayRestResolver()
busy = False


def lambda_handler(event, context):
    global busy
    assert not busy, "two events in one container"
    busy = True
    time.sleep(0.02)
    busy = False
    return {"statusCode": 200, "body": __name__, "remaining": context.get_remaining_time_in_millis()}
"""
IDENTITY = FunctionIdentity(
    name="fn", arn="arn:aws:lambda:us-east-1:123456789012:function:fn", memory_mb=128, timeout_seconds=3
)


def test_function_pool_never_gives_one_container_two_events(tmp_path: Path) -> None:
    (tmp_path / "handler_module.py").write_text(ONE_EVENT_AT_A_TIME_HANDLER)
    pool = FunctionPool(_spec("Fn", {}, tmp_path), IDENTITY, size=2)

    with ThreadPoolExecutor(max_workers=6) as executor:
        results = list(executor.map(pool.invoke, [{}] * 12))

    assert pool.size == 2
    assert {result["body"] for result in results} <= {"handler_module__container0", "handler_module__container1"}
    assert all(0 < result["remaining"] <= 3000 for result in results)


def test_function_pool_falls_back_to_one_container_when_copies_share_a_resolver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shared_app.py").write_text(
        "from aws_lambda_powertools.event_handler import APIGatewayRestResolver\n\napp = APIGatewayRestResolver()\n"
    )
    (tmp_path / "handler_module.py").write_text(
        "from shared_app import app\n\ndef lambda_handler(event, context):\n    return {}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    pool = FunctionPool(_spec("Fn", {}, tmp_path), IDENTITY, size=4)

    assert pool.size == 1


def test_serialised_app_runs_one_request_at_a_time_including_its_body() -> None:
    active = 0
    most_active = 0
    counter_lock = threading.Lock()

    def slow_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        nonlocal active, most_active
        with counter_lock:
            active += 1
            most_active = max(most_active, active)
        start_response("200 OK", [])
        yield b"body"
        time.sleep(0.01)
        with counter_lock:
            active -= 1

    app = SerialisedApp(slow_app)
    with ThreadPoolExecutor(max_workers=4) as executor:
        bodies = list(executor.map(lambda _: app({}, lambda *args: None), range(8)))

    assert bodies == [[b"body"]] * 8
    assert most_active == 1


class StubCloudFormation:
    def __init__(self, outputs: list[dict[str, str]]) -> None:
        self._outputs = outputs

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        return {"Stacks": [{"StackName": StackName, "Outputs": self._outputs}]}


def test_catalog_table_of_stack_reads_the_output() -> None:
    stub = StubCloudFormation(
        [{"OutputKey": "OrdersTableName", "OutputValue": "o"}, {"OutputKey": "CatalogTableName", "OutputValue": "c"}]
    )

    assert catalog_table_of_stack(stub, "prod") == "c"  # type: ignore[arg-type]
    with pytest.raises(SystemExit, match="no CatalogTableName output"):
        catalog_table_of_stack(StubCloudFormation([]), "prod")  # type: ignore[arg-type]


def _catalog_table() -> Any:
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName="catalog",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return dynamodb


def _attribute(dynamodb: Any, key: str, name: str) -> str:
    item = dynamodb.get_item(TableName="catalog", Key={"pk": {"S": key}})["Item"]
    return str(next(iter(item[name].values())))


def test_load_catalog_syncs_the_demo_catalog_into_an_empty_table(capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        dynamodb = _catalog_table()

        load_catalog_main(["--table", "catalog"])

        items = dynamodb.scan(TableName="catalog")["Items"]
        assert _attribute(dynamodb, "PRODUCT#TOTE-BLUE", "inventory") == "50"
    keys = {item["pk"]["S"] for item in items}
    assert {"SETTINGS", "PRODUCT#TOTE-BLUE", "DISCOUNT#WELCOME10"} <= keys
    audited = [item for item in items if item["pk"]["S"].startswith("AUDIT#")]
    assert audited
    assert all(item["operator"]["S"].startswith("arn:aws:") for item in audited)
    assert "+ product TOTE-BLUE" in capsys.readouterr().out


def test_load_catalog_changes_definitions_and_never_stock_or_uses_unless_asked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    document = json.loads(DEMO_CATALOG.read_text(encoding="utf-8"))
    with mock_aws():
        dynamodb = _catalog_table()
        load_catalog_main(["--table", "catalog"])
        for key, name in (("PRODUCT#TOTE-BLUE", "inventory"), ("DISCOUNT#WELCOME10", "uses")):  # live sales
            dynamodb.update_item(
                TableName="catalog",
                Key={"pk": {"S": key}},
                UpdateExpression="SET #n = :v",
                ExpressionAttributeNames={"#n": name},
                ExpressionAttributeValues={":v": {"N": "7"}},
            )
        document["products"][0]["unit_price"] = 2500
        changed = tmp_path / "catalog.json"
        changed.write_text(json.dumps(document), encoding="utf-8")
        capsys.readouterr()

        load_catalog_main(["--table", "catalog", "--file", str(changed), "--dry-run"])
        dry = capsys.readouterr().out
        price_after_dry_run = _attribute(dynamodb, "PRODUCT#TOTE-BLUE", "unit_price")
        load_catalog_main(["--table", "catalog", "--file", str(changed)])
        synced = capsys.readouterr().out
        after = {
            name: _attribute(dynamodb, key, name)
            for key, name in (
                ("PRODUCT#TOTE-BLUE", "unit_price"),
                ("PRODUCT#TOTE-BLUE", "inventory"),
                ("DISCOUNT#WELCOME10", "uses"),
            )
        }
        load_catalog_main(["--table", "catalog", "--file", str(changed), "--set-stock"])
        stock_set = _attribute(dynamodb, "PRODUCT#TOTE-BLUE", "inventory")

    assert "~ product TOTE-BLUE: unit_price 2400 -> 2500" in dry
    assert "would change 1 item(s)" in dry
    assert price_after_dry_run == "2400"
    assert "changed 1 item(s)" in synced
    assert after == {"unit_price": "2500", "inventory": "7", "uses": "7"}
    assert stock_set == "50"


def test_make_load_catalog_without_a_stack_prints_its_usage() -> None:
    environment = {name: value for name, value in os.environ.items() if name != "STACK"}
    done = subprocess.run(
        ["make", "--no-print-directory", "load-catalog"],
        check=False,
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "usage: make load-catalog STACK=<stack name>" in done.stdout


class StubProcess:
    def __init__(self, exit_code: int | None) -> None:
        self.exit_code = exit_code

    def poll(self) -> int | None:
        return self.exit_code


SERVICE_URL = re.compile(r"service on (\S+)")


def _stack_printing(text: str, tmp_path: Path, exit_code: int | None = None) -> StackProcess:
    log = tmp_path / "stack.log"
    log.write_text(text)
    return StackProcess("http://127.0.0.1:1", StubProcess(exit_code), log)  # type: ignore[arg-type]


def test_announced_reads_the_first_whole_line_that_matches(tmp_path: Path) -> None:
    stack = _stack_printing("local stack ready on x\n  service on http://a:1; more\nservice on http://b:2\n", tmp_path)

    assert stack.announced(SERVICE_URL) == "http://a:1;"


def test_announced_leaves_a_line_still_being_written(tmp_path: Path) -> None:
    stack = _stack_printing("local stack ready on x\nservice on http://12", tmp_path, exit_code=0)

    with pytest.raises(StackFailed, match="printed no line matching 'service on") as failure:
        stack.announced(SERVICE_URL)
    assert str(failure.value).endswith("service on http://12")  # the log comes with the failure


def test_announced_gives_up_after_its_timeout_while_the_stack_runs(tmp_path: Path) -> None:
    stack = _stack_printing("local stack ready on x\n", tmp_path)
    started = time.monotonic()

    with pytest.raises(StackFailed):
        stack.announced(SERVICE_URL, timeout=0.2)
    assert 0.2 <= time.monotonic() - started < 5


# ---------------------------------------------------------------- OMS sink
def test_the_oms_endpoint_is_a_local_sink_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCAL_OMS_URL", raising=False)
    assert oms_sink.local_oms({"OmsEndpointUrl": "https://oms.example.com"}) == (None, None)
    monkeypatch.setenv("LOCAL_OMS_URL", "none")
    assert oms_sink.local_oms({}) == ("", None)
    monkeypatch.setenv("LOCAL_OMS_URL", "https://oms.example.com/api")
    assert oms_sink.local_oms({}) == ("https://oms.example.com/api", None)


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_the_oms_sink_records_posts_and_answers_201(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCAL_OMS_URL", raising=False)
    url, sink = oms_sink.local_oms({})
    assert sink is not None
    assert url == f"{sink.url}/orders"
    sink.start()
    try:
        body = b'{"order_id": "BO-1"}'
        signed = signed_headers(settings.oms_signing_secret(), body, time.time())
        request = urllib.request.Request(url, data=body, headers={"Idempotency-Key": "BO-1", **signed}, method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 201
        with urllib.request.urlopen(f"{sink.url}{oms_sink.ADMIN_PATH}", timeout=5) as response:
            (received,) = json.loads(response.read())
        assert (received["path"], received["json"], received["headers"]["Idempotency-Key"]) == (
            "/orders",
            {"order_id": "BO-1"},
            "BO-1",
        )
        sink.clear()
        assert sink.requests() == []
    finally:
        sink.stop()


# ---------------------------------------------------------------- python -m devstack
@pytest.mark.allow_hosts(["127.0.0.1"])
def test_a_taken_port_is_one_line_saying_which_and_how_to_choose_another() -> None:
    with socket.socket() as taken:
        taken.bind((settings.HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        finished = subprocess.run(
            [sys.executable, "-m", "devstack"],
            cwd=ROOT,
            env={**environment_with_default_secrets(), "PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert finished.returncode == 1
    assert finished.stdout == ""
    assert finished.stderr.splitlines() == [
        f"local stack: the API cannot listen on 127.0.0.1:{port}: the port is in use (another `make run`?);"
        " stop that, or pick another port: PORT=<port> make run"
    ]
    assert time.monotonic() - started < 30  # refused before anything else was started
