"""Each handler imports only what its function uses, so a cold start loads nothing else (BENCHMARKS.md, cold init).

Every handler is imported in a fresh interpreter, with its function's environment, and the modules it loaded are
checked: its own hooks only, and the heavier parts of the layer and of its libraries only where they are used.
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
CHILD = "import importlib, json, sys; importlib.import_module(sys.argv[1]); print(json.dumps(sorted(sys.modules)))"

CHECKOUT_HOOKS = ("order_shipping", "order_tax", "shipping_and_tax", "discount_code", "order_create", "cart_update")
HOOKS_BY_FUNCTION = {
    "shipping": {"order_shipping"},
    "tax": {"order_tax"},
    "shipping_and_tax": {"shipping_and_tax"},
    "discounts": {"discount_code"},
    "order_create": {"order_create"},
    "cart_update": {"cart_update"},
    "universal": {*CHECKOUT_HOOKS, "universal"},
    "transaction_webhook": {"transaction_webhook"},
    "credit_card_webhook": {"credit_card_webhook"},
}
PRICING = {"shipping", "tax", "shipping_and_tax", "discounts", "order_create", "cart_update", "universal"}
WORKERS = {"outbox_publisher", "confirmation_email", "fulfilment"}
# Module -> the only functions that may load it at cold start.
USED_BY = {
    "bolt_merchant.models.bolt": PRICING | {"transaction_webhook"},
    "bolt_merchant.models.catalog": PRICING | {"storefront"},
    "bolt_merchant.models.discounts": {"discounts", "order_create", "cart_update", "universal", "storefront"},
    "bolt_merchant.models.orders": {"order_create", "universal", "transaction_webhook", "order_admin", *WORKERS},
    "bolt_merchant.models.webhooks": {"transaction_webhook"},
    "bolt_merchant.models.backoffice": {"order_admin"},
    "bolt_merchant.models.storefront": {"storefront"},
    "bolt_merchant.domain.order_create": {"order_create", "universal"},  # recovery imports it on first use
    "aws_lambda_powertools.utilities.batch": WORKERS,
    "aws_lambda_powertools.utilities.idempotency": {"order_admin", "confirmation_email", "fulfilment"},
    "requests": set(),  # the Bolt and OMS clients are built, and requests imported, on their first call
}


@functools.cache
def _specs() -> dict[str, FunctionSpec]:
    template = load_template()
    return {spec.code_uri.name: spec for spec in function_specs(template, LocalResolver(template, "test"))}


@functools.cache
def loaded_modules(function_dir: str) -> frozenset[str]:
    spec = _specs()[function_dir]
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "POWERTOOLS_"))},
        **spec.environment,
        "AWS_DEFAULT_REGION": "us-east-1",
        "LAMBDA_TASK_ROOT": str(ROOT / spec.code_uri),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "PYTHONPATH": os.pathsep.join([str(ROOT / spec.code_uri), str(LAYER)]),
    }
    completed = subprocess.run(
        [sys.executable, "-B", "-c", CHILD, spec.module],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return frozenset(json.loads(completed.stdout))


def test_every_function_is_checked() -> None:
    assert set(_specs()) >= set(HOOKS_BY_FUNCTION) | WORKERS | {"storefront", "order_admin"}


@pytest.mark.parametrize("function_dir", sorted(_specs()))
def test_a_function_loads_its_own_hooks_only(function_dir: str) -> None:
    prefix = "bolt_merchant.hooks."
    hooks = {name.removeprefix(prefix) for name in loaded_modules(function_dir) if name.startswith(prefix)}

    assert hooks == HOOKS_BY_FUNCTION.get(function_dir, set())


@pytest.mark.parametrize("function_dir", sorted(_specs()))
def test_a_function_loads_the_heavier_modules_only_if_it_uses_them(function_dir: str) -> None:
    modules = loaded_modules(function_dir)
    unexpected = sorted(module for module, users in USED_BY.items() if module in modules and function_dir not in users)

    assert unexpected == []
