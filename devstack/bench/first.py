"""Init plus the first request of every function, as deployed (Tracer on), against the embedded AWS.

What Bolt waits for on a cold container is the init *and* the first request, which pays the once-per-container
work: the DynamoDB client, the Bolt secret (Secrets Manager), the catalog's settings, the first build of what
was left to first use. Each sample is a fresh `python -I -S -B` process with the cold-init path (cold.py) and the
function's environment, pointed at the embedded AWS (moto's server, devstack/aws.py) by AWS_ENDPOINT_URL: it
imports the handler (init), then serves one representative event from events/ (first request).

Every function sample is paired with a floor sample taken just before it: `import boto3`, a DynamoDB client and one
GetItem against the same endpoint, the least any DynamoDB-backed function does to answer. Before each pair, the
embedded AWS is reset and provisioned again (tables, queues, secret, SES sender, catalog, and the cart or order
the event refers to), so every sample does the same work on the same data.
"""

import json
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from devstack import bolt_payloads as bolt
from devstack import make_events
from devstack.aws import EmbeddedAws
from devstack.bench import cold
from devstack.make_consumer_events import DEMO_ORDER_ID
from devstack.oms_sink import OmsSink
from devstack.resources import create_bolt_secret, create_queues, load_catalog_file
from devstack.ses import verify_sender
from devstack.settings import LOCAL_OPERATOR_ARN, bolt_secret_document, oms_signing_secret
from devstack.template import ROOT, FunctionSpec, LocalResolver, create_tables, function_specs, load_template

EVENTS_DIR = ROOT / "events"
STACK_NAME = "bench"
RESULT_MARKER = "BENCH-FIRST-REQUEST "
# Lambda sets these for a function with Tracing: Active; nothing listens on that UDP port here, and the X-Ray SDK
# sends its (sub)segments over UDP without waiting for an answer. Sampled=1: the first request is traced.
TRACE_ENVIRONMENT = {
    "_X_AMZN_TRACE_ID": "Root=1-67a1b2c3-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=1",
}
FLOOR_KEY = {"pk": {"S": "SETTINGS"}}  # the catalog's settings item: the floor reads what the hooks read first

# Runs in the child. As in cold.py, nothing is imported before the clock starts; json and os are read after the
# handler import (which loads them) and outside the timed parts.
CHILD_CODE = """
import importlib, sys, time
function_dir, layer_dir, runtime_dir, target, attribute, event_path, floor_request, marker = sys.argv[1:9]
sys.path[:0] = [p for p in (function_dir, layer_dir, runtime_dir) if p]


class Context:
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-4000-8000-0000000000b1"

    def __init__(self, name):
        self.function_name = name
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + name

    def get_remaining_time_in_millis(self):
        return 30000


cpu_started = time.process_time()
started = time.perf_counter()
if target == ":floor":
    import boto3
    client = boto3.client("dynamodb")
else:
    handler = getattr(importlib.import_module(target), attribute)
init = time.perf_counter() - started
init_cpu = time.process_time() - cpu_started
import json, os
if target == ":floor":
    request = json.loads(floor_request)
    cpu_started = time.process_time()
    started = time.perf_counter()
    response = client.get_item(**request)
    first = time.perf_counter() - started
    answer = {"statusCode": response["ResponseMetadata"]["HTTPStatusCode"], "found": "Item" in response}
else:
    with open(event_path, encoding="utf-8") as handle:
        event = json.load(handle)
    context = Context(os.environ["AWS_LAMBDA_FUNCTION_NAME"])
    cpu_started = time.process_time()
    started = time.perf_counter()
    answer = handler(event, context)
    first = time.perf_counter() - started
first_cpu = time.process_time() - cpu_started
sys.stdout.flush()
result = {"init": init, "first": first, "init_cpu": init_cpu, "first_cpu": first_cpu, "answer": answer}
print(marker + json.dumps(result, default=str), flush=True)
"""


# ---------------------------------------------------------------- what each function is asked first

Answer = dict[str, Any]


def _api_ok(answer: Answer) -> bool:
    return answer.get("statusCode") in (200, 201)


def _body(answer: Answer) -> dict[str, Any]:
    try:
        body = json.loads(answer.get("body") or "{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _hook_ok(answer: Answer) -> bool:
    return _api_ok(answer) and _body(answer).get("status") == "success"


def _webhook_applied(answer: Answer) -> bool:
    return _api_ok(answer) and _body(answer).get("result") == "applied"


def _batch_ok(answer: Answer) -> bool:
    return "statusCode" not in answer and answer.get("batchItemFailures", []) == []


def _reconciled(answer: Answer) -> bool:
    return "checked" in answer and answer.get("errors") == []


@dataclass(frozen=True)
class FirstRequest:
    """One function's representative first request: its event, the state it needs, how a right answer looks."""

    function_dir: str
    event: str  # under events/, or one of BUILT_EVENTS (events/ has no operator or scheduled event)
    needs: tuple[str, ...] = ()  # "cart": the demo cart stored; "order": its order created; "consumer-order"
    expected: Callable[[Answer], bool] = _hook_ok


FIRST_REQUESTS = (
    FirstRequest("shipping", "shipping/universal_valid.json"),
    FirstRequest("tax", "tax/delivery_option.json"),
    FirstRequest("shipping_and_tax", "shipping_and_tax/valid.json"),
    FirstRequest("discounts", "discounts/universal_welcome10.json", ("cart",)),
    FirstRequest("order_create", "order_create/universal_valid.json", ("cart",)),
    FirstRequest("cart_update", "cart_update/add_item.json", ("cart",)),
    # Bolt's first call in a checkout is order.shipping; the universal function answers every hook.
    FirstRequest("universal", "universal/order_shipping.json"),
    FirstRequest("storefront", "storefront/create_cart.json", expected=_api_ok),
    FirstRequest("transaction_webhook", "transaction_webhook/auth.json", ("order",), _webhook_applied),
    FirstRequest("credit_card_webhook", "credit_card_webhook/credit_card_deleted.json", expected=_api_ok),
    FirstRequest("outbox_publisher", "outbox_publisher/stream_batch.json", expected=_batch_ok),
    FirstRequest("confirmation_email", "confirmation_email/sqs_batch.json", ("consumer-order",), _batch_ok),
    FirstRequest("fulfilment", "fulfilment/sqs_batch.json", ("consumer-order",), _batch_ok),
    FirstRequest("order_admin", ":order-view", ("order",), _api_ok),
    FirstRequest("catalog_admin", ":product-view", expected=_api_ok),
    FirstRequest("reconciler", ":scheduled", expected=_reconciled),
)


def order_view_event(order_id: str) -> dict[str, Any]:
    """GET /orders/{order_id} from an operator, as API Gateway hands it over after AWS_IAM authorisation."""
    event = make_events.hook_event(
        "order_admin", None, route_path="/orders/{order_id}", path_parameters={"order_id": order_id}
    )
    event["requestContext"]["identity"]["userArn"] = LOCAL_OPERATOR_ARN
    return event


def product_view_event(sku: str) -> dict[str, Any]:
    """GET /catalog/products/{sku} from an operator, as API Gateway hands it over after AWS_IAM authorisation."""
    event = make_events.hook_event(
        "catalog_admin", None, route_path="/catalog/products/{sku}", path_parameters={"sku": sku}
    )
    event["requestContext"]["identity"]["userArn"] = LOCAL_OPERATOR_ARN
    return event


def _built_events() -> dict[str, dict[str, Any]]:
    from bolt_merchant.orders.models import order_id_for

    return {
        ":order-view": order_view_event(order_id_for(bolt.DEMO_CART_ID)),
        ":product-view": product_view_event(bolt.DEMO_LINES[0][0]),
        ":scheduled": {},  # the template's schedule sets no Input: the reconciler gets {}, a pass over what is due
    }


# ---------------------------------------------------------------- the embedded AWS and its data


def _universal_data(relative: str) -> dict[str, Any]:
    body = json.loads(json.loads((EVENTS_DIR / relative).read_text(encoding="utf-8"))["body"])
    data: dict[str, Any] = body["data"]
    return data


class World:
    """The embedded AWS with the template's resources, reset to the same state before every sample."""

    def __init__(self, resolver: LocalResolver, template: Mapping[str, Any], endpoint: str) -> None:
        self.resolver = resolver
        self.template = template
        self.endpoint = endpoint
        session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto accepts any
            region_name=resolver.region,
        )
        self.dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        self.sqs = session.client("sqs", endpoint_url=endpoint)
        self.secrets = session.client("secretsmanager", endpoint_url=endpoint)
        self.ses = session.client("ses", endpoint_url=endpoint)
        self.tables: dict[str, str] = {}

    def reset(self, needs: Sequence[str]) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")  # noqa: S310 - local
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - local http URL
            answer.read()
        self.tables = create_tables(self.dynamodb, self.template, self.resolver)
        create_queues(self.sqs, self.template, self.resolver)
        create_bolt_secret(self.secrets, self.resolver.parameters["BoltSecretName"], bolt_secret_document())
        # fulfilment signs its hand-off with this one; the OMS sink verifies with the same local default
        oms_secret = {"signing_secret": oms_signing_secret()}
        create_bolt_secret(self.secrets, self.resolver.parameters["OmsSigningSecretName"], oms_secret)
        verify_sender(self.ses, self.resolver.parameters["ConfirmationSender"])
        load_catalog_file(self.dynamodb, self.catalog_table)
        if {"cart", "order", "consumer-order"} & set(needs):
            self._seed(order="order" in needs, consumer_order="consumer-order" in needs)

    @property
    def catalog_table(self) -> str:
        return self.tables["CatalogTable"]

    def _seed(self, *, order: bool, consumer_order: bool) -> None:
        """The demo cart (events/ refer to it), as the storefront stores it; its order, as order.create makes it."""
        # The layer's own code writes them, through this client: what the functions would have written.
        from bolt_merchant.catalog.store import DynamoCatalog
        from bolt_merchant.checkout import order_create, storefront
        from bolt_merchant.orders.models import order_id_for
        from bolt_merchant.orders.table import order_item

        catalog = DynamoCatalog(self.dynamodb, self.catalog_table, cache_seconds=0)
        store = order_create.DynamoCheckoutStore(self.dynamodb, self.catalog_table, self.tables["OrdersTable"])
        now = datetime.now(UTC)
        items = [{"sku": sku, "quantity": quantity} for sku, _, quantity, _ in bolt.DEMO_LINES]
        request = storefront.CreateCartRequest.model_validate({"currency": "USD", "items": items})
        storefront.create_cart(request, catalog, store, now, lambda: bolt.DEMO_CART_ID)
        if not (order or consumer_order):
            return
        data = order_create.OrderCreateRequest.model_validate(_universal_data("order_create/universal_valid.json"))
        order_create.create_order(data, catalog, store, now, lambda order_id: f"https://x/{order_id}")
        if consumer_order:  # the order the fan-out events name, authorised, with the shopper's email
            stored = store.get_order(order_id_for(bolt.DEMO_CART_ID))
            assert stored is not None
            copy = stored.model_copy(update={"order_id": DEMO_ORDER_ID, "status": "authorized"})
            self.dynamodb.put_item(TableName=self.tables["OrdersTable"], Item=order_item(copy))


# ---------------------------------------------------------------- samples


@dataclass
class FirstTarget:
    """A function (or the floor) and its samples: init, first request, and their sum over the floor's sum."""

    name: str
    module: str
    attribute: str
    function_dir: Path | None
    environment: dict[str, str] = field(default_factory=dict)
    request: FirstRequest | None = None
    init: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)
    # the child's own CPU seconds for each (the first request's also waits on the embedded AWS, in this process)
    init_cpu: list[float] = field(default_factory=list)
    first_cpu: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)  # (init + first) over the floor's, paired
    answer: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def is_floor(self) -> bool:
        return self.module == ":floor"

    @property
    def totals(self) -> list[float]:
        return [a + b for a, b in zip(self.init, self.first, strict=True)]


FLOOR_NAME = "floor: import boto3 + DynamoDB client + one GetItem"


def targets(specs: Sequence[FunctionSpec], build_dir: Path = cold.BUILD_DIR) -> list[FirstTarget]:
    by_dir = {spec.code_uri.name: spec for spec in specs}
    found = [FirstTarget(FLOOR_NAME, ":floor", "", None)]
    for request in FIRST_REQUESTS:
        spec = by_dir.get(request.function_dir)
        if spec is None:
            continue
        found.append(
            FirstTarget(
                spec.logical_id,
                spec.module,
                spec.attribute,
                build_dir / spec.logical_id,
                dict(spec.environment),
                request,
            )
        )
    return found


def child_environment(target: FirstTarget, home: Path, endpoint: str) -> dict[str, str]:
    """The cold-init child's traced environment, plus the embedded AWS's endpoint and the invocation's trace id."""
    probe = cold.ColdTarget(target.name, target.module, target.function_dir, target.environment)
    return {
        **cold.child_environment(probe, home, cold.HEADLINE_MODE),
        **TRACE_ENVIRONMENT,
        "AWS_ENDPOINT_URL": endpoint,
    }


def run_once(
    target: FirstTarget, layer_dir: Path, runtime: Path, endpoint: str, *, event: Path | None, floor_request: str = ""
) -> tuple[float, float] | None:
    """One fresh process: (init, first request) seconds, also recorded on the target, or None (error recorded)."""
    function_dir = "" if target.function_dir is None else str(target.function_dir)
    layer = "" if target.is_floor else str(layer_dir)
    command = [sys.executable, "-I", "-S", "-B", "-c", CHILD_CODE, function_dir, layer, str(runtime)]
    command += [target.module, target.attribute, str(event or ""), floor_request, RESULT_MARKER]
    completed = subprocess.run(  # noqa: S603 - our own interpreter and code
        command,
        env=child_environment(target, runtime, endpoint),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    result = parse_result(completed.stdout)
    if completed.returncode != 0 or result is None:
        target.error = (completed.stderr.strip().splitlines() or ["no result"])[-1][:200]
        return None
    answer: dict[str, Any] = result["answer"]
    target.answer = answer
    if target.request is not None and not target.request.expected(answer):
        target.error = f"unexpected answer: {json.dumps(answer)[:200]}"
        return None
    if target.is_floor and not answer.get("found"):
        target.error = "the floor's GetItem found nothing"
        return None
    init, first = float(result["init"]), float(result["first"])
    target.init.append(init)
    target.first.append(first)
    target.init_cpu.append(float(result["init_cpu"]))
    target.first_cpu.append(float(result["first_cpu"]))
    return init, first


def measure(
    specs: Sequence[FunctionSpec] | None = None,
    runs: int = 7,
    build_dir: Path = cold.BUILD_DIR,
    progress: Callable[[str], None] = lambda _: None,
) -> list[FirstTarget]:
    """Every function `runs` times, each run right after a floor run, round-robin, the AWS reset before each pair;
    each sum is divided by the median of the floor's sums around it (cold.local_floor)."""
    cold.check_interpreter()
    template = load_template()
    oms = OmsSink()  # fulfilment hands the order to an OMS, as a stage with one does
    resolver = LocalResolver(template, STACK_NAME, {"OmsEndpointUrl": oms.endpoint_url})
    if specs is None:
        specs = function_specs(template, resolver)
    else:  # the caller's specs, with this section's OMS
        wanted = {spec.logical_id for spec in specs}
        specs = [spec for spec in function_specs(template, resolver) if spec.logical_id in wanted]
    all_targets = targets(specs, build_dir)
    floor, functions = all_targets[0], all_targets[1:]
    layer_dir = build_dir / cold.LAYER_LOGICAL_ID / "python"
    paired: list[tuple[FirstTarget, float, int]] = []  # (function, init + first request, index of its floor sample)
    aws = EmbeddedAws(port=0)
    endpoint = aws.start()
    oms.start()
    try:
        world = World(resolver, template, endpoint)
        with cold.runtime_dir() as runtime, tempfile.TemporaryDirectory(prefix="bench-events-") as built:
            events = _event_files(functions, Path(built))
            for round_number in range(runs):
                progress(f"init + first request: round {round_number + 1} of {runs}")
                for target in functions:
                    if target.error is not None or floor.error is not None or target.request is None:
                        continue
                    if target.function_dir is not None and not target.function_dir.is_dir():
                        target.error = "not built: run make build"
                        continue
                    world.reset(target.request.needs)
                    read = json.dumps({"TableName": world.catalog_table, "Key": FLOOR_KEY})
                    if run_once(floor, layer_dir, runtime, endpoint, event=None, floor_request=read) is None:
                        continue
                    sample = run_once(target, layer_dir, runtime, endpoint, event=events[target.name])
                    if sample is not None:
                        paired.append((target, sum(sample), len(floor.init) - 1))
    finally:
        oms.stop()
        aws.stop()
    for target, total, floor_index in paired:  # over the floor processes around it, as cold.measure does
        target.ratios.append(total / cold.local_floor(floor.totals, floor_index))
    return all_targets


def _event_files(functions: Sequence[FirstTarget], folder: Path) -> dict[str, Path]:
    """Each function's event file; built ones (the operator's reads, the schedule's) are written into `folder`."""
    built = _built_events()
    found = {}
    for target in functions:
        assert target.request is not None
        if target.request.event in built:
            path = folder / f"{target.request.event[1:]}.json"
            path.write_text(json.dumps(built[target.request.event]), encoding="utf-8")
        else:
            path = EVENTS_DIR / target.request.event
        found[target.name] = path
    return found


def parse_result(stdout: str) -> dict[str, Any] | None:
    """The child's result line (its stdout also carries the function's JSON logs and metrics)."""
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if not lines:
        return None
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT_MARKER) :])
    return result
