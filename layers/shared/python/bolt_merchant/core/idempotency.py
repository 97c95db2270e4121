"""Operator idempotency (Powertools Idempotency on the IdempotencyTable), shared by the operator APIs (back office,
catalog): an `Idempotency-Key` (or the request's own fingerprint) runs an operation once; a retry is answered with
the stored answer and `Idempotent-Replayed: true`."""

import re
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from bolt_merchant.core.errors import DependencyUnavailable, InProgress, Invalid, KeyReused

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, Bolt's own limit for keys we derive from it


def operator_key(supplied: str | None) -> str | None:
    """The caller's Idempotency-Key, checked (it becomes part of a record key)."""
    if supplied is not None and not _IDEMPOTENCY_KEY.fullmatch(supplied):
        raise Invalid(f"{IDEMPOTENCY_HEADER} must be 1-255 visible ASCII characters")
    return supplied


# Bolt keeps Idempotency-Keys for 24 hours (reference §5.8): ours live as long, so a retry inside Bolt's window is
# answered by us, and one after it still cannot act twice (Bolt ids make the ledger write a no-op).
RECORD_LIFETIME = timedelta(hours=24)
_REPLAYED = "replayed"


def _run(*, operation: dict[str, str], action: Callable[[], dict[str, Any]]) -> dict[str, Any]:  # noqa: ARG001 - `operation` is what Powertools hashes
    return action()


class OperationRecords:
    def __init__(self, client: "DynamoDBClient", table: str, name: str, scope: str) -> None:
        """`name` prefixes the records' keys; `scope` says what one key is scoped to, for the caller."""
        self._scope = scope
        self.config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="fingerprint",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=int(RECORD_LIFETIME.total_seconds()),
            response_hook=self._replayed,
        )
        # key_prefix: records must not depend on the function's generated name or the code's module path.
        self._once = idempotent_function(
            _run,
            data_keyword_argument="operation",
            persistence_store=DynamoDBPersistenceLayer(table_name=table, boto3_client=client),
            config=self.config,
            key_prefix=name,
        )

    @staticmethod
    def _replayed(response: Any, idempotent_data: DataRecord) -> Any:  # noqa: ARG004 - Powertools' hook signature
        return {**response, _REPLAYED: True} if isinstance(response, dict) else response

    def register_lambda_context(self, context: LambdaContext) -> None:
        self.config.register_lambda_context(context)

    def run(
        self, key: str, request_fingerprint: str, action: Callable[[], dict[str, Any]]
    ) -> tuple[dict[str, Any], bool]:
        """(answer, replayed): action()'s answer the first time `key` is seen, the stored one every later time."""
        try:
            answer = cast(
                dict[str, Any],
                self._once(operation={"key": key, "fingerprint": request_fingerprint}, action=action),
            )
        except IdempotencyValidationError as exc:
            message = f"This {IDEMPOTENCY_HEADER} was already used for a different request to this {self._scope}"
            raise KeyReused(message) from exc
        except IdempotencyAlreadyInProgressError as exc:
            message = f"A request with this {IDEMPOTENCY_HEADER} is still being processed; retry shortly"
            raise InProgress(message) from exc
        except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError) as exc:
            raise DependencyUnavailable("operation records unavailable") from exc
        replayed = bool(answer.get(_REPLAYED))
        return {k: v for k, v in answer.items() if k != _REPLAYED}, replayed
