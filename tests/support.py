"""Helpers shared by the test packages: dev secrets, the demo catalog, events, handlers, AWS call counters, the
network guard."""

import copy
import functools
import importlib.util
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from bolt_merchant.bolt.signed import SIGNATURE_HEADER
from bolt_merchant.catalog.models import Product
from bolt_merchant.core.aws import dynamodb
from botocore.exceptions import ClientError
from pytest_socket import disable_socket, enable_socket

from devstack import bolt_payloads, make_events
from devstack.apigw import rest_proxy_event
from devstack.bolt_payloads import sign
from devstack.catalog import CatalogDocument, parse_catalog_file
from devstack.make_consumer_events import sqs_event_from
from devstack.settings import DEFAULT_API_KEY, DEFAULT_PENDING_SECRET, DEFAULT_SIGNING_SECRET, LOCAL_OPERATOR_ARN
from devstack.template import FunctionSpec, LocalResolver

ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = ROOT / "events"
CATALOG_PATH = ROOT / "data" / "demo-catalog.json"

# The local stack's dev-only secrets (devstack/settings.py); events/ is signed with them too.
DEV_SECRET = DEFAULT_SIGNING_SECRET
DEV_PENDING_SECRET = DEFAULT_PENDING_SECRET
DEV_API_KEY = DEFAULT_API_KEY
CANARY = "CANARY-7f3a9c"  # a value that must never come back in a response or an error message


# ---------------------------------------------------------------- catalog


@functools.cache
def demo_catalog() -> CatalogDocument:
    return parse_catalog_file(CATALOG_PATH.read_text(encoding="utf-8"))


def demo_products() -> dict[str, Product]:
    return {product.sku: product for product in demo_catalog().products}


# ---------------------------------------------------------------- events and handlers


def load_event(relative: str) -> dict[str, Any]:
    """events/<relative> as a fresh dict (handlers may mutate what they are given)."""
    return json.loads((EVENTS_DIR / relative).read_text(encoding="utf-8"))


def event_body(event: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(event["body"])


def signed_event(
    function_dir: str,
    payload: Mapping[str, Any] | bytes,
    *,
    secret: str | None = DEV_SECRET,
    header: str = SIGNATURE_HEADER,
    extra_headers: Mapping[str, str] | None = None,
    binary: bool = False,
) -> dict[str, Any]:
    """A REST proxy event for the function's template route, its body signed with `secret` in `header`."""
    body = payload if isinstance(payload, bytes) else bolt_payloads.php_style_json(payload)
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[header] = sign(body, secret)
    headers.update(extra_headers or {})
    return make_events.hook_event(function_dir, body, headers=headers, binary=binary)


def resign(event: dict[str, Any], payload: Mapping[str, Any], secret: str = DEV_SECRET) -> dict[str, Any]:
    """A copy of `event` carrying `payload` as its (signed) body."""
    body = bolt_payloads.php_style_json(payload)
    updated = copy.deepcopy(event)
    updated["body"] = body.decode("ascii")
    updated["headers"][SIGNATURE_HEADER] = sign(body, secret)
    updated["multiValueHeaders"][SIGNATURE_HEADER] = [updated["headers"][SIGNATURE_HEADER]]
    return updated


LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class FakeLambdaContext:
    """The attributes Powertools reads from a Lambda context."""

    function_name: str = "test-function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"
    remaining_millis: int = 10_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


@dataclass
class HookFunction:
    """One function's lambda_handler, imported inside mock_aws, with the environment the template gives it (the
    `hook_function` fixture of tests/conftest.py loads it)."""

    function_dir: str
    handler: LambdaHandler
    context: FakeLambdaContext

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.handler(copy.deepcopy(event), self.context)


def load_handler(function_dir: str) -> LambdaHandler:
    """functions/<dir>/<dir>_handler.py's lambda_handler. Function folders are not packages nor on sys.path, and
    the module must be imported inside mock_aws (after the `aws` fixture started), so it is loaded by path."""
    path = ROOT / "functions" / function_dir / f"{function_dir}_handler.py"
    spec = importlib.util.spec_from_file_location(f"_handler_{function_dir}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: LambdaHandler = module.lambda_handler
    return handler


@dataclass
class OperatorAnswer:
    """An operator API's answer (back office, catalog): status, JSON body, headers (multi-value ones joined)."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def error_code(self) -> int | None:
        error = self.body.get("error")
        return int(error["code"]) if isinstance(error, dict) else None


def operator_event(
    method: str,
    resource: str,
    path: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    path_parameters: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An operator's request (JSON `body`, or `raw` bytes) as API Gateway hands it over after AWS_IAM authorisation."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    sent = {"Content-Type": "application/json", **(headers or {})}
    event = rest_proxy_event(
        method, resource, path, data, headers=sent, path_parameters=path_parameters, query=query, stage="dev"
    )
    event["requestContext"]["identity"]["userArn"] = LOCAL_OPERATOR_ARN
    return event


def operator_answer(handler: LambdaHandler, event: Mapping[str, Any], context: Any) -> OperatorAnswer:
    response = handler(copy.deepcopy(dict(event)), context)
    headers = {name: str(value) for name, value in (response.get("headers") or {}).items()}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name] = ",".join(values)
    return OperatorAnswer(response["statusCode"], json.loads(response["body"]), headers)


def response_body(response: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(response["body"])


def response_header(response: Mapping[str, Any], name: str) -> str | None:
    """A header of a REST proxy response, whichever of headers/multiValueHeaders Powertools put it in."""
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if key.lower() == name.lower():
            return ",".join(values)
    return None


# ---------------------------------------------------------------- AWS


def refuse_next(operation: str) -> None:
    """The layer's DynamoDB client answers its next `operation` as DynamoDB refusing the request itself."""
    event = f"before-call.dynamodb.{operation}"

    def refuse(**_: Any) -> None:
        dynamodb().meta.events.unregister(event, refuse)
        raise ClientError({"Error": {"Code": "ValidationException", "Message": "injected"}}, operation)

    dynamodb().meta.events.register(event, refuse)


class CallCounter:
    """Records every API call a boto3 client makes, through botocore's event hooks: the operation names about to
    be sent (`calls`) and the parameters the caller passed (`params`)."""

    def __init__(self, client: Any, service: str = "dynamodb") -> None:
        self.calls: list[str] = []
        self.params: list[tuple[str, dict[str, Any]]] = []
        client.meta.events.register(f"before-call.{service}.*", self._record_call)
        client.meta.events.register(f"provide-client-params.{service}.*", self._record_params)

    def _record_call(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def _record_params(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.params.append((model.name, copy.deepcopy(params)))

    def count(self, operation: str | None = None) -> int:
        return len(self.calls) if operation is None else self.calls.count(operation)

    def reset(self) -> None:
        self.calls.clear()
        self.params.clear()


def poll_sqs_once(
    sqs: Any, queue_url: str, invoke: Callable[[dict[str, Any]], dict[str, Any]]
) -> tuple[list[dict[str, Any]], set[str]]:
    """One poll of Lambda's SQS poller: up to 10 messages handed to `invoke` as one event; those that succeeded are
    deleted, those that failed (batchItemFailures, or all when the function raised) become visible again at once.
    Returns the messages (none: the queue is empty) and the ids of those that failed."""
    messages: list[dict[str, Any]] = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"], VisibilityTimeout=30
    ).get("Messages", [])
    if not messages:
        return [], set()
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    try:
        result = invoke(sqs_event_from(messages, str(queue_arn)))
        failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
    except Exception:  # a whole-batch failure: Lambda hands every message back
        failed = {message["MessageId"] for message in messages}
    for message in messages:
        if message["MessageId"] in failed:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        else:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return messages, failed


def queue_depth(sqs: Any, queue_url: str) -> int:
    """The queue's messages, visible or in flight."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


@dataclass
class AwsStack:
    """What the `aws` fixture built inside mock_aws, from template.yaml."""

    template: dict[str, Any]
    resolver: LocalResolver
    tables: dict[str, str]
    secret_name: str
    specs: dict[str, FunctionSpec]
    dynamodb: Any
    secretsmanager: Any
    set_env: Callable[[str, str], None] = field(repr=False)

    @property
    def catalog_table(self) -> str:
        return self.tables["CatalogTable"]

    def use_function(self, function_dir: str) -> None:
        """Give os.environ exactly the resolved environment template.yaml sets for functions/<dir>/."""
        for name, value in self.specs[function_dir].environment.items():
            self.set_env(name, value)

    def put_secret(self, document: Mapping[str, Any]) -> None:
        self.secretsmanager.put_secret_value(SecretId=self.secret_name, SecretString=json.dumps(document))


# ---------------------------------------------------------------- network


@pytest.fixture(autouse=True)
def no_network(request: pytest.FixtureRequest) -> Iterator[None]:
    """Any socket is an error, unless the test opts in with pytest-socket's `@pytest.mark.enable_socket` or
    `@pytest.mark.allow_hosts([...])`. Autouse in the folders whose conftest.py imports it."""
    if request.node.get_closest_marker("enable_socket") or request.node.get_closest_marker("allow_hosts"):
        yield
        return
    disable_socket(allow_unix_socket=False)
    yield
    enable_socket()
