"""boto3 clients, created lazily once per container, and the translation of AWS faults into domain errors."""

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bolt_merchant.domain.errors import DependencyUnavailable, RequestRefused

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


# DynamoDB refusing the request itself (an item over 400 KB, say): retrying the same request cannot help.
_REFUSALS = frozenset({"ValidationException", "ItemCollectionSizeLimitExceededException"})
_REFUSED_ACTIONS = frozenset({"ValidationError", "ItemCollectionSizeLimitExceeded"})  # in CancellationReasons


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def failure(name: str, exc: ClientError) -> DependencyUnavailable | RequestRefused:
    """What an AWS error means for the caller: the request refused for good (422), or a retryable fault (503)."""
    code = error_code(exc)
    reasons = {str(reason.get("Code")) for reason in exc.response.get("CancellationReasons", [])}
    if code in _REFUSALS or reasons & _REFUSED_ACTIONS:
        return RequestRefused(f"{name} refused: {code}")
    return DependencyUnavailable(f"{name} failed: {code}")


@contextmanager
def dependency(name: str) -> Iterator[None]:
    """Turn AWS errors into RequestRefused or DependencyUnavailable (see failure)."""
    try:
        yield
    except ClientError as exc:
        raise failure(name, exc) from exc
    except BotoCoreError as exc:
        raise DependencyUnavailable(f"{name} unreachable: {type(exc).__name__}") from exc
