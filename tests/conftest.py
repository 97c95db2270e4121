"""Shared fixtures: a fake AWS environment for every test, moto with the template's resources, a Lambda context,
each function's handler loaded inside moto (`hook_function`) and the layer's DynamoDB calls counted.

Network: every feature folder (tests/core, tests/checkout, ...), tests/unit and tests/reliability disable sockets in
their own conftest.py; tests/e2e talks to a local server over loopback and is left alone here.
"""

import functools
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from hypothesis import settings
from moto import mock_aws

FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "bolt-merchant-tests",
    "POWERTOOLS_METRICS_NAMESPACE": "BoltMerchantTests",
    "POWERTOOLS_TRACE_DISABLED": "1",
}
# Variables from the developer's shell that would send a test to real AWS or change the functions' settings.
SCRUBBED_ENV_PREFIXES = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")
SCRUBBED_ENV = (
    "ENVIRONMENT",
    "CATALOG_TABLE_NAME",
    "ORDERS_TABLE_NAME",
    "BOLT_SECRET_NAME",
    "BOLT_SIGNING_SECRET",
    "BOLT_SIGNING_SECRET_PENDING",
    "BOLT_API_KEY",
    "MAX_BODY_BYTES",
)

# Powertools reads its namespace and service name when the shared Logger/Metrics are created, which happens while
# test modules are collected: give them values before anything imports bolt_merchant.core.observability.
for _name in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_TRACE_DISABLED"):
    os.environ.setdefault(_name, FAKE_AWS_ENV[_name])

# Import the shared Logger/Metrics/Tracer now, with sockets still allowed: the X-Ray SDK behind Tracer opens its UDP
# emitter socket at import, which the socket guard of the feature folders would refuse.
import bolt_merchant.core.observability  # noqa: E402, F401
from bolt_merchant.core import aws as adapters_aws  # noqa: E402
from bolt_merchant.core import settings as wiring  # noqa: E402

from devstack.catalog import write_catalog  # noqa: E402
from devstack.template import LocalResolver, create_tables, function_specs, load_template  # noqa: E402
from tests.support import (  # noqa: E402
    DEV_API_KEY,
    DEV_PENDING_SECRET,
    DEV_SECRET,
    AwsStack,
    CallCounter,
    FakeLambdaContext,
    HookFunction,
    demo_catalog,
    load_handler,
)

settings.register_profile("repo", deadline=None, print_blob=True)
settings.load_profile("repo")

HERE = Path(__file__).parent
# The product's tests, one folder per feature of the layer (layers/shared/python/bolt_merchant/<feature>/).
FEATURE_FOLDERS = tuple(
    HERE / feature for feature in ("core", "bolt", "catalog", "checkout", "orders", "payments", "backoffice", "fanout")
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Powertools warns on every invocation that publishes no metric; that is the normal case for most requests the
    # feature folders' handler tests make.
    for item in items:
        if any(folder in item.path.parents for folder in FEATURE_FOLDERS) or item.path.parent == HERE:
            item.add_marker(pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"))


@pytest.fixture(autouse=True)
def _fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(SCRUBBED_ENV_PREFIXES) or name in SCRUBBED_ENV:
            monkeypatch.delenv(name)
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    parameters.clear_caches()
    yield
    wiring.reset()
    parameters.clear_caches()


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@functools.cache
def _template() -> dict[str, Any]:
    return load_template()


@functools.cache
def _boto3_session() -> boto3.session.Session:
    return boto3.session.Session()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsStack]:
    """moto with the template's tables, the Bolt secret and the demo catalog; os.environ as the functions see it."""
    with mock_aws():
        # mock_aws drops boto3's default session; a new one would load every service model again (~50 ms per client
        # and test). The credentials are the fake ones above, so one session serves every test.
        boto3.DEFAULT_SESSION = _boto3_session()
        # Same for the Secrets Manager provider Powertools builds on first use (clear_caches() dropped it).
        parameters.base.DEFAULT_PROVIDERS["secrets"] = parameters.SecretsProvider(boto3_session=_boto3_session())
        template = _template()
        resolver = LocalResolver(template, "test")
        dynamodb = boto3.client("dynamodb")
        tables = create_tables(dynamodb, template, resolver)

        secret_name = resolver.parameters["BoltSecretName"]
        secretsmanager = boto3.client("secretsmanager")
        secretsmanager.create_secret(
            Name=secret_name,
            SecretString=json.dumps(
                {"signing_secret": DEV_SECRET, "signing_secret_pending": DEV_PENDING_SECRET, "api_key": DEV_API_KEY}
            ),
        )

        write_catalog(dynamodb, tables["CatalogTable"], demo_catalog())

        specs = {spec.code_uri.name: spec for spec in function_specs(template, resolver)}
        for spec in specs.values():
            for name, value in spec.environment.items():
                monkeypatch.setenv(name, value)
        wiring.reset()
        yield AwsStack(
            template=template,
            resolver=resolver,
            tables=tables,
            secret_name=secret_name,
            specs=specs,
            dynamodb=dynamodb,
            secretsmanager=secretsmanager,
            set_env=monkeypatch.setenv,
        )
    boto3.DEFAULT_SESSION = None  # the shared session holds the fake credentials: keep it out of later tests


@pytest.fixture
def hook_function(aws: AwsStack, lambda_context: FakeLambdaContext) -> Callable[[str], HookFunction]:
    """functions/<dir>/'s handler, loaded inside moto with the environment template.yaml gives that function."""

    def load(function_dir: str) -> HookFunction:
        aws.use_function(function_dir)
        return HookFunction(function_dir, load_handler(function_dir), lambda_context)

    return load


@pytest.fixture
def dynamodb_calls(aws: AwsStack) -> CallCounter:
    """Every call the layer's own DynamoDB client makes during the test."""
    return CallCounter(adapters_aws.dynamodb())
