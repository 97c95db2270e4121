"""Each handler imports only what its function uses, so a cold start loads nothing else (BENCHMARKS.md, cold init).

Every handler is imported in a fresh interpreter, with its function's environment and the Lambda variables of a
function deployed with Tracing: Active (the Tracer on), and the modules it loaded are checked: its own hooks only,
the heavier parts of the layer and of its libraries only where they are used, and what X-Ray patched.
Timing is never asserted here.
"""

import functools
import json
import os
import subprocess
import sys

import pytest

from devstack.template import ROOT, FunctionSpec, LocalResolver, function_specs, load_template

LAYER = ROOT / "layers" / "shared" / "python"
CHILD = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
from aws_xray_sdk.core.patcher import _PATCHED_MODULES
from pydantic import BaseModel
def subclasses(model):
    for subclass in model.__subclasses__():
        yield subclass
        yield from subclasses(subclass)
built = {f"{m.__module__}.{m.__qualname__}" for m in subclasses(BaseModel) if m.__pydantic_complete__}
print(json.dumps({"modules": sorted(sys.modules), "patched": sorted(_PATCHED_MODULES), "built": sorted(built)}))
"""

HOOK_MODULES = {  # the module that holds each hook's models, rules and route
    "shipping": "bolt_merchant.checkout.shipping",
    "tax": "bolt_merchant.checkout.tax",
    "shipping_and_tax": "bolt_merchant.checkout.shipping_and_tax",
    "discounts": "bolt_merchant.checkout.discounts",
    "order_create": "bolt_merchant.checkout.order_create",
    "cart_update": "bolt_merchant.checkout.cart_update",
}
PRICING = {"shipping", "tax", "shipping_and_tax", "discounts", "order_create", "universal"}
CARTS = {"discounts", "order_create", "cart_update", "universal", "storefront"}
WORKERS = {"outbox_publisher", "confirmation_email", "fulfilment"}
PAYMENTS = {"transaction_webhook", "order_admin", "reconciler"}
# Module -> the only functions that may load it at cold start.
USED_BY = {
    "bolt_merchant.bolt.cart": PRICING | {"cart_update", "transaction_webhook"},
    "bolt_merchant.catalog.models": PRICING | CARTS | {"catalog_admin"},
    "bolt_merchant.catalog.store": PRICING | CARTS | {"catalog_admin"},
    "bolt_merchant.catalog.operations": {"catalog_admin"},
    "bolt_merchant.catalog.admin_store": {"catalog_admin"},
    "bolt_merchant.catalog.api": {"catalog_admin"},
    "bolt_merchant.checkout.pricing": PRICING,
    "bolt_merchant.checkout.carts": CARTS,
    "bolt_merchant.checkout.store": CARTS,
    **{module: {function, "universal"} for function, module in HOOK_MODULES.items() if function != "shipping"},
    # order.tax and order.shipping_and_tax answer with order.shipping's options
    "bolt_merchant.checkout.shipping": {"shipping", "tax", "shipping_and_tax", "universal"},
    "bolt_merchant.checkout.universal": {"universal"},
    "bolt_merchant.checkout.storefront": {"storefront"},
    "bolt_merchant.orders.models": {"order_create", "universal", *PAYMENTS, *WORKERS},
    "bolt_merchant.orders.table": {"order_create", "universal", *PAYMENTS, *WORKERS},
    "bolt_merchant.payments.transactions": PAYMENTS,
    "bolt_merchant.payments.store": PAYMENTS,
    "bolt_merchant.payments.reconcile": {"order_admin", "reconciler"},
    "bolt_merchant.payments.recovery": set(),  # imported on a first recovery
    "bolt_merchant.payments.webhook": {"transaction_webhook"},
    "bolt_merchant.payments.card_events": {"credit_card_webhook"},
    "bolt_merchant.backoffice.models": {"order_admin"},
    "bolt_merchant.backoffice.operations": {"order_admin"},
    "bolt_merchant.backoffice.api": {"order_admin"},
    "bolt_merchant.bolt.signed": PRICING | {"cart_update", "transaction_webhook", "credit_card_webhook"},
    "bolt_merchant.bolt.secrets": PRICING | {"cart_update", "transaction_webhook", "credit_card_webhook"},
    "bolt_merchant.bolt.api": set(),  # the Bolt client is imported, with requests, on its first call
    "bolt_merchant.fanout.publisher": {"outbox_publisher"},
    "bolt_merchant.fanout.consumers": {"confirmation_email", "fulfilment"},
    "aws_lambda_powertools.event_handler": {
        *PRICING,
        "cart_update",
        "transaction_webhook",
        "credit_card_webhook",
        "storefront",
        "order_admin",
        "catalog_admin",
    },
    "bolt_merchant.fanout.confirmation": {"confirmation_email"},
    "bolt_merchant.fanout.fulfilment": {"fulfilment"},
    "bolt_merchant.fanout.oms": set(),  # only a stage with an OMS, on the first hand-off
    "aws_lambda_powertools.utilities.batch": WORKERS,
    "aws_lambda_powertools.utilities.idempotency": {"order_admin", "catalog_admin", "confirmation_email", "fulfilment"},
    "bolt_merchant.core.idempotency": {"order_admin", "catalog_admin"},
    "requests": set(),  # the Bolt and OMS clients are built, and requests imported, on their first call
    "bolt_merchant.core.http": set(),  # their retries, with requests
    # Powertools' batch utility imports its parser models (type hints only) when pydantic was loaded before it
    "aws_lambda_powertools.utilities.parser": set(),
    "sqlite3": set(),  # X-Ray's patch_all would import it (and probe a dozen other libraries) in every function
}


@functools.cache
def _specs() -> dict[str, FunctionSpec]:
    template = load_template()
    return {spec.code_uri.name: spec for spec in function_specs(template, LocalResolver(template, "test"))}


@functools.cache
def imported(function_dir: str, *then: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(modules loaded, libraries X-Ray patched, pydantic models built) after a fresh import of the function's
    handler, then of `then`,
    in the environment Lambda gives the deployed function (LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_NAME: Tracer on)."""
    spec = _specs()[function_dir]
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "POWERTOOLS_"))},
        **spec.environment,
        "AWS_DEFAULT_REGION": "us-east-1",
        "LAMBDA_TASK_ROOT": str(ROOT / spec.code_uri),
        "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "PYTHONPATH": os.pathsep.join([str(ROOT / spec.code_uri), str(LAYER)]),
    }
    completed = subprocess.run(
        [sys.executable, "-B", "-c", CHILD, spec.module, *then],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(completed.stdout)
    return frozenset(found["modules"]), frozenset(found["patched"]), frozenset(found["built"])


def loaded_modules(function_dir: str) -> frozenset[str]:
    return imported(function_dir)[0]


def test_every_function_is_checked() -> None:
    assert set(_specs()) >= set(HOOK_MODULES) | WORKERS | PAYMENTS | {"universal", "storefront"}


@pytest.mark.parametrize("function_dir", sorted(_specs()))
def test_a_function_loads_the_layer_s_modules_only_if_it_uses_them(function_dir: str) -> None:
    modules = loaded_modules(function_dir)
    unexpected = sorted(module for module, users in USED_BY.items() if module in modules and function_dir not in users)

    assert unexpected == []


@pytest.mark.parametrize("function_dir", sorted(HOOK_MODULES))
def test_a_hook_function_loads_its_own_hook_module(function_dir: str) -> None:
    assert HOOK_MODULES[function_dir] in loaded_modules(function_dir)


@pytest.mark.parametrize("function_dir", sorted(_specs()))
def test_the_tracer_patches_botocore_only_at_init(function_dir: str) -> None:
    # Tracer() would patch every library the X-Ray SDK supports, importing requests and sqlite3 to do it
    assert imported(function_dir)[1] == {"botocore"}


@pytest.mark.parametrize("function_dir", sorted(_specs()))
def test_request_and_record_models_are_built_on_first_use_not_at_init(function_dir: str) -> None:
    # defer_build: building a model's validator is most of its cost (~0.5 ms each), and a function uses a few of the
    # models it imports per request (the universal function imports six hooks'). Settings and the Bolt secret's
    # model are read by every first request anyway.
    ours = {model for model in imported(function_dir)[2] if model.startswith("bolt_merchant.")}

    assert ours <= {"bolt_merchant.core.settings.Settings", "bolt_merchant.bolt.secrets.BoltSecrets"}


@pytest.mark.parametrize(
    ("function_dir", "client_module"),
    [
        ("storefront", "bolt_merchant.bolt.api"),
        ("order_admin", "bolt_merchant.bolt.api"),
        ("fulfilment", "bolt_merchant.fanout.oms"),
    ],
)
def test_requests_is_traced_once_a_client_that_uses_it_is_loaded(function_dir: str, client_module: str) -> None:
    modules, patched, _ = imported(function_dir, client_module)

    assert "requests" in modules
    assert patched == {"botocore", "requests"}
