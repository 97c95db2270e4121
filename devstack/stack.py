"""LocalStack: embedded AWS, the template's resources, the real handlers in Lambda-like containers, an HTTP front door.

Seams for what comes later, all as Services appended to `stack.services` (started once the handlers are loaded,
before the API serves): a fake Bolt API, bound to its port when built, whose URL is passed as
parameter_overrides={"BoltApiBaseUrl": url}; pollers feeding DynamoDB stream records and SQS messages to the
functions whose `spec.events` declare them, through `stack.functions[logical_id].invoke(event)` (tables and queues
are in `stack.tables` and `stack.queue_urls`).

The fan-out runs locally: `stack.pollers` (devstack/pollers.py; LOCAL_POLLERS=0 turns them off) play Lambda's event
source mappings and `stack.drain(timeout)` waits until they are idle; the confirmation sender is verified in moto's
SES (sent emails: devstack/ses.py); fulfilment hand-offs go to `stack.oms_sink` (devstack/oms_sink.py) unless an
OmsEndpointUrl or LOCAL_OMS_URL is given.

Every invocation goes through `stack.recorder` (devstack/invocations.py), which keeps what the function logged and
counted and tells its listeners: `stack.deliveries` (devstack/deliveries.py, served at /_local/deliveries) and, under
`python -m devstack`, the console (devstack/console.py).
"""

import errno
import json
import os
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import boto3
from bolt_merchant.core.aws import dynamodb

from devstack import settings
from devstack.aws import EmbeddedAws
from devstack.containers import FunctionIdentity, FunctionPool
from devstack.deliveries import DeliveryLog
from devstack.fake_bolt import PORT_VARIABLE, FakeBolt
from devstack.gateway import ApiServer, Route
from devstack.invocations import Recorder
from devstack.oms_sink import local_oms
from devstack.pollers import EventSourcePollers
from devstack.pollers import enabled as pollers_enabled
from devstack.resources import create_bolt_secret, create_queues, load_catalog_file
from devstack.ses import verify_sender
from devstack.template import FunctionSpec, LocalResolver, create_tables, function_specs, load_template

SERVICE_NAME = "bolt-merchant-local"
# One process hosts every function, so values that differ per function are replaced by one local value.
LOCAL_FUNCTION_OVERRIDES = {"ENVIRONMENT": settings.STAGE, "POWERTOOLS_SERVICE_NAME": SERVICE_NAME}

# A developer's profile, session or per-service endpoints would override the embedded AWS.
DEVELOPER_AWS_VARIABLES = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL_")


class PortInUse(RuntimeError):
    """A port the local stack was told to listen on is taken; the message says which and how to pick another."""


@contextmanager
def listening(what: str, variable: str, port: int) -> Iterator[None]:
    """Turns "address already in use" while `what` binds `port` (set by `variable`) into PortInUse."""
    try:
        yield
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise PortInUse(
            f"{what} cannot listen on {settings.HOST}:{port}: the port is in use (another `make run`?);"
            f" stop that, or pick another port: {variable}=<port> make run"
        ) from None


class Service(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


def aws_environment(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": settings.REGION,
        "AWS_REGION": settings.REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }


def shared_function_environment(specs: Sequence[FunctionSpec]) -> dict[str, str]:
    """Every function's environment merged; two functions needing different values cannot share os.environ."""
    merged: dict[str, str] = {}
    for spec in specs:
        for name, value in spec.environment.items():
            if name not in LOCAL_FUNCTION_OVERRIDES and merged.setdefault(name, value) != value:
                raise ValueError(f"{spec.logical_id} sets {name}={value!r} but another function sets {merged[name]!r}")
    return merged | LOCAL_FUNCTION_OVERRIDES


def function_identity(template: Mapping[str, Any], resolver: LocalResolver, logical_id: str) -> FunctionIdentity:
    defaults = template.get("Globals", {}).get("Function", {})
    properties = template["Resources"][logical_id]["Properties"]
    name = resolver.physical_name(logical_id)
    return FunctionIdentity(
        name=name,
        arn=f"arn:aws:lambda:{resolver.region}:{resolver.account}:function:{name}",
        memory_mb=int(properties.get("MemorySize", defaults.get("MemorySize", 128))),
        timeout_seconds=int(properties.get("Timeout", defaults.get("Timeout", 3))),
    )


class LocalStack:
    def __init__(
        self,
        *,
        port: int | None = None,
        containers: int | None = None,
        parameter_overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.port = settings.port() if port is None else port
        # The API's port first: if it is taken, nothing else was started for nothing. Routes come once loaded.
        with listening("the API", "PORT", self.port):
            self._api = ApiServer((settings.HOST, self.port), [])
        self._serving = False
        self.containers = settings.containers_per_function() if containers is None else containers
        self.template = load_template()
        overrides = dict(parameter_overrides or {})
        # The dev-only secrets (BOLT_SIGNING_SECRET, ... or devstack's defaults), read once: the secrets the stack
        # stores in its embedded Secrets Manager are exactly those the fake Bolt and the OMS sink use.
        self.bolt_secret = settings.bolt_secret_document()
        self.oms_signing_secret = settings.oms_signing_secret()
        self.services: list[Service] = []
        # The fake Bolt API (devstack/fake_bolt.py) unless a Bolt URL was given; its webhooks go to our front door.
        self.fake_bolt: FakeBolt | None = None
        if "BoltApiBaseUrl" not in overrides:
            with listening("the fake Bolt API", PORT_VARIABLE, int(os.environ.get(PORT_VARIABLE) or 0)):
                self.fake_bolt = FakeBolt(
                    api_key=self.bolt_secret["api_key"],
                    signing_secret=self.bolt_secret["signing_secret"],
                    webhook_url=lambda: f"{self.url}/bolt/webhooks/transaction",
                )
            overrides["BoltApiBaseUrl"] = self.fake_bolt.url
            self.services.append(self.fake_bolt)
        # The OMS sink (devstack/oms_sink.py) unless an OMS URL was given: fulfilment hand-offs land there.
        with listening("the OMS sink", "LOCAL_OMS_PORT", int(os.environ.get("LOCAL_OMS_PORT") or 0)):
            oms_url, self.oms_sink = local_oms(overrides, self.oms_signing_secret)
        if oms_url is not None:
            overrides["OmsEndpointUrl"] = oms_url
        if self.oms_sink is not None:
            self.services.append(self.oms_sink)
        self.resolver = LocalResolver(self.template, settings.STACK_NAME, overrides)
        self.specs = function_specs(self.template, self.resolver)
        # Lambda's event source mappings: stream and queue pollers invoking the functions (devstack/pollers.py).
        self.pollers: EventSourcePollers | None = None
        if pollers_enabled():
            self.pollers = EventSourcePollers(self, region=settings.REGION)
            self.services.append(self.pollers)
        self.aws_url = ""
        # Every invocation, with what the function logged and counted, for the console and the delivery log.
        self.recorder = Recorder()
        self.deliveries = DeliveryLog()
        self.recorder.listeners.append(self.deliveries.record)
        self.functions: dict[str, FunctionPool] = {}
        self.tables: dict[str, str] = {}
        self.queue_urls: dict[str, str] = {}
        self._aws = EmbeddedAws()

    @property
    def url(self) -> str:
        return f"http://{settings.HOST}:{self._api.server_port}"

    def start(self) -> str:
        """Start everything in background threads; returns the API's base URL."""
        for name in [name for name in os.environ if name.startswith(DEVELOPER_AWS_VARIABLES)]:
            del os.environ[name]
        self.aws_url = self._aws.start()  # a taken MOTO_PORT: werkzeug says so and exits
        os.environ.update(aws_environment(self.aws_url))
        os.environ.update(shared_function_environment(self.specs))
        # Imported only now: Powertools' shared Logger reads POWERTOOLS_SERVICE_NAME when it is created.
        from bolt_merchant.core import observability
        from bolt_merchant.core import settings as wiring

        wiring.reset()
        self._provision()
        self._load_functions()
        self.recorder.install(observability.logger, observability.metrics)
        for service in self.services:
            service.start()
        self._api.routes = self._routes()
        threading.Thread(target=self._api.serve_forever, name="api", daemon=True).start()
        self._serving = True
        return self.url

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until every stream record and queue message has been through its function (TimeoutError if not)."""
        if self.pollers is None:
            raise RuntimeError("the pollers are off (LOCAL_POLLERS=0)")
        self.pollers.drain(timeout)

    def stop(self) -> None:
        if self._serving:
            self._api.shutdown()
        self._api.server_close()
        for service in reversed(self.services):
            service.stop()
        self._aws.stop()

    def _provision(self) -> None:
        self.tables = create_tables(boto3.client("dynamodb"), self.template, self.resolver)
        self.queue_urls = create_queues(boto3.client("sqs"), self.template, self.resolver)
        secret_name = self.resolver.parameters["BoltSecretName"]
        create_bolt_secret(boto3.client("secretsmanager"), secret_name, self.bolt_secret)
        # The OMS signing secret fulfilment signs hand-offs with; the local OMS sink verifies with the same value.
        oms_secret_name = self.resolver.parameters["OmsSigningSecretName"]
        create_bolt_secret(boto3.client("secretsmanager"), oms_secret_name, {"signing_secret": self.oms_signing_secret})
        verify_sender(boto3.client("ses"), self.resolver.parameters["ConfirmationSender"])
        # The handlers' shared client, created here before request threads could race on boto3's default session.
        load_catalog_file(dynamodb(), self.tables["CatalogTable"])

    def _load_functions(self) -> None:
        for spec in self.specs:
            if str(spec.code_uri) not in sys.path:
                sys.path.append(str(spec.code_uri))
            identity = function_identity(self.template, self.resolver, spec.logical_id)
            self.functions[spec.logical_id] = FunctionPool(spec, identity, self.containers, self.recorder.run)

    def _routes(self) -> list[Route]:
        routes = [
            Route(route.method, route.path, self.functions[spec.logical_id], iam_auth=route.auth == "AWS_IAM")
            for spec in self.specs
            for route in spec.routes
        ]
        return [
            *routes,
            Route("POST", "/_local/schedules/{function}", ScheduleRunner(self)),
            Route("GET", "/_local/fake-bolt", FakeBoltLocation(self.fake_bolt)),
            Route("GET", "/_local/deliveries", self.deliveries),
            Route("GET", "/_local/deliveries/{delivery_id}", self.deliveries),
        ]


class FakeBoltLocation:
    """GET /_local/fake-bolt: where the stack's fake Bolt API listens (404 when the stack talks to another Bolt), so
    the simulator, given only the stack's URL, can play Bolt's side of the money (devstack/simulator/bolt_side.py)."""

    def __init__(self, fake_bolt: FakeBolt | None) -> None:
        self._fake_bolt = fake_bolt

    def invoke(self, _event: dict[str, Any]) -> dict[str, Any]:
        if self._fake_bolt is None:
            return {"statusCode": 404, "body": json.dumps({"message": "this stack calls a real Bolt API"})}
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"url": self._fake_bolt.url}),
        }


class ScheduleRunner:
    """POST /_local/schedules/<function logical id> [body: the event]: run a scheduled function now and answer what
    it returned (local only; deployed, `make reconcile` invokes the function through Lambda)."""

    def __init__(self, stack: LocalStack) -> None:
        self._stack = stack

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        function_id = str((event.get("pathParameters") or {}).get("function", ""))
        body = json.loads(event["body"]) if event.get("body") else {}
        if self._stack.pollers is None:
            return {"statusCode": 409, "body": json.dumps({"message": "schedules are off (LOCAL_POLLERS=0)"})}
        try:
            result = self._stack.pollers.run_schedule(function_id, body if isinstance(body, dict) else {})
        except KeyError:
            return {"statusCode": 404, "body": json.dumps({"message": f"no schedule for {function_id[:64]}"})}
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(result)}
