"""boto3 for every DynamoDB store: the client (created once per container), items to and from plain values,
batched reads, and the translation of AWS faults into the failures callers are told about."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bolt_merchant.core.errors import DependencyUnavailable, RequestRefused
from bolt_merchant.core.settings import per_container

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


# Short timeouts: Bolt waits on our hooks, so a slow dependency must fail fast and be retried by Bolt.
# No client-side parameter validation: DynamoDB validates every request itself, the requests are typed against
# boto3-stubs and tested, and botocore's walk of a 24-action transaction was a quarter of order.create's time.
_CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3}, parameter_validation=False
)


@per_container
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


def condition_failed(exc: DependencyUnavailable) -> ClientError | None:
    """The ClientError behind a failed conditional write (ConditionalCheckFailedException), else None."""
    cause = exc.__cause__
    if isinstance(cause, ClientError) and error_code(cause) == "ConditionalCheckFailedException":
        return cause
    return None


_UNPROCESSED_ROUNDS = 5


def batch_get(client: "DynamoDBClient", request: Mapping[str, Any], name: str) -> dict[str, list[dict[str, Any]]]:
    """One BatchGetItem (up to 100 keys over any tables), asking again for what DynamoDB left unprocessed.
    Table name -> the items found (missing keys are simply absent)."""
    found: dict[str, list[dict[str, Any]]] = {table: [] for table in request}
    pending = dict(request)
    for _ in range(_UNPROCESSED_ROUNDS):
        with dependency(name):
            response = client.batch_get_item(RequestItems=pending)
        for table, items in response.get("Responses", {}).items():
            found[table].extend(items)
        pending = dict(response.get("UnprocessedKeys") or {})
        if not pending:
            return found
    raise DependencyUnavailable(f"{name} kept coming back unprocessed")


_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; ours are whole numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _plain(_deserializer.deserialize(value)) for key, value in item.items()}


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in values.items() if value is not None}
