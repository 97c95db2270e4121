"""Fixtures of the reliability suite, and the figures table it prints (and writes for `make reliability`).

Handler tests run in process against moto with sockets disabled (like the feature folders); the schemathesis run
talks to a local stack subprocess over loopback and opts in with `enable_socket`.
"""

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.figures import FIGURES, FIGURES_FILE_VARIABLE, table
from tests.reliability.harness import AwsCalls, Crash, observer, signed_function_dirs
from tests.support import (
    AwsStack,
    FakeLambdaContext,
    LambdaHandler,
    load_handler,
    no_network,  # noqa: F401 - the autouse network guard, applied to this folder
)

HERE = Path(__file__).parent
# RELIABILITY_SCALE=10 multiplies every example budget (a nightly run); the default keeps the suite within ~90 s.
SCALE = max(1, int(os.environ.get("RELIABILITY_SCALE", "1")))


def examples(count: int) -> int:
    return count * SCALE


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: a long-running reliability test (schemathesis, big hypothesis runs)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES.areas:
        terminalreporter.write_sep("-", "reliability figures")
        terminalreporter.write_line(table(FIGURES.as_dict()))


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get(FIGURES_FILE_VARIABLE)
    if target:
        FIGURES.write(Path(target), tests=session.testscollected, failed=session.testsfailed)


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> AwsCalls:
    """Every AWS call made from now on, by any client, with faults to inject."""
    calls = AwsCalls()
    calls.install(monkeypatch)
    return calls


SIGNED = signed_function_dirs()


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]
    crashed: bool = False


@dataclass
class Functions:
    """The template's functions as Lambda would run them here: one container (handler module) per function, loaded
    on first use inside moto. `invoke` turns a crash into API Gateway's 502, as Bolt would see it."""

    aws: AwsStack
    context: FakeLambdaContext
    handlers: dict[str, LambdaHandler] = field(default_factory=dict)

    def __post_init__(self) -> None:
        observer(self.aws.dynamodb)
        observer(self.aws.secretsmanager)

    def handler(self, function_dir: str) -> LambdaHandler:
        if function_dir not in self.handlers:
            self.aws.use_function(function_dir)
            self.handlers[function_dir] = load_handler(function_dir)
        return self.handlers[function_dir]

    def fresh(self, function_dir: str) -> LambdaHandler:
        """Another container of the function (its own resolver), e.g. for concurrent requests."""
        self.aws.use_function(function_dir)
        return load_handler(function_dir)

    def raw(self, function_dir: str, event: dict[str, Any]) -> dict[str, Any]:
        return self.handler(function_dir)(copy.deepcopy(event), self.context)

    def invoke(self, function_dir: str, event: dict[str, Any], handler: LambdaHandler | None = None) -> Answer:
        import json

        run = handler or self.handler(function_dir)
        try:
            response = run(copy.deepcopy(event), self.context)
        except Crash:
            return Answer(502, {"message": "Internal server error"}, {}, crashed=True)
        body = json.loads(response["body"]) if response.get("body") else None
        headers = {str(k): str(v) for k, v in (response.get("headers") or {}).items()}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers.setdefault(str(name), ",".join(str(v) for v in values))
        return Answer(int(response["statusCode"]), body, headers)


@pytest.fixture
def functions(aws: AwsStack, lambda_context: FakeLambdaContext) -> Functions:
    return Functions(aws, lambda_context)


@pytest.fixture
def signed_functions() -> list[str]:
    return list(SIGNED)


def prepare_signed_state(functions: Functions, aws: AwsStack) -> None:
    """The state under which each signed function's base payload (harness.base_payload) is answered 200: the demo
    cart and cart.update's cart stored and open, and the transaction webhook's cart ordered."""
    from devstack import bolt_payloads
    from tests import seed
    from tests.reliability.harness import OPEN_CART, ORDERED_CART
    from tests.support import signed_event

    for cart_id in (seed.DEMO_CART_ID, OPEN_CART, ORDERED_CART):
        seed.seed_cart(aws, cart_id)
    ordered = bolt_payloads.universal(
        "order.create", bolt_payloads.order_create(bolt_payloads.order_cart(ORDERED_CART))
    )
    answer = functions.invoke("order_create", signed_event("order_create", ordered))
    assert answer.status == 200, answer.body


def retry_after(answer: Answer) -> str | None:
    for name, value in answer.headers.items():
        if name.lower() == "retry-after":
            return value
    return None
