"""boto3 clients, created lazily once per container, and the translation of AWS faults into domain errors."""

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bolt_merchant.domain.errors import DependencyUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Short timeouts: Bolt waits on our hooks, so a slow dependency must fail fast and be retried by Bolt.
# No client-side parameter validation: DynamoDB validates every request itself, the requests are typed against
# boto3-stubs and tested, and botocore's walk of a 24-action transaction was a quarter of order.create's time.
_CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3}, parameter_validation=False
)


@functools.cache
def dynamodb() -> "DynamoDBClient":
    return boto3.client("dynamodb", config=_CLIENT_CONFIG)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def dependency(name: str) -> Iterator[None]:
    """Turn infrastructure faults into DependencyUnavailable (answered as a retryable 503)."""
    try:
        yield
    except ClientError as exc:
        raise DependencyUnavailable(f"{name} failed: {error_code(exc)}") from exc
    except BotoCoreError as exc:
        raise DependencyUnavailable(f"{name} unreachable: {type(exc).__name__}") from exc
