"""Handler tests run in process against moto and never touch the network: any socket is an error, unless a test
opts in with pytest-socket's `@pytest.mark.enable_socket` or `@pytest.mark.allow_hosts([...])` markers."""

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bolt_merchant.core import aws as adapters_aws

from tests.support import (
    AwsStack,
    CallCounter,
    FakeLambdaContext,
    LambdaHandler,
    load_handler,
    no_network,  # noqa: F401 - the autouse network guard, applied to this folder
)


@dataclass
class HookFunction:
    """One function's lambda_handler, imported inside mock_aws, with the environment the template gives it."""

    function_dir: str
    handler: LambdaHandler
    context: FakeLambdaContext

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.handler(copy.deepcopy(event), self.context)


@pytest.fixture
def hook_function(aws: AwsStack, lambda_context: FakeLambdaContext) -> Callable[[str], HookFunction]:
    def load(function_dir: str) -> HookFunction:
        aws.use_function(function_dir)
        return HookFunction(function_dir, load_handler(function_dir), lambda_context)

    return load


@pytest.fixture
def dynamodb_calls(aws: AwsStack) -> CallCounter:
    """Every call the layer's own DynamoDB client makes during the test."""
    return CallCounter(adapters_aws.dynamodb())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Powertools warns on every invocation that publishes no metric; that is the normal case for most requests here.
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"))
