"""Operator idempotency for back-office operations: Powertools Idempotency on the IdempotencyTable.

The first request for an operation key takes an INPROGRESS record (bounded by the invocation's deadline), runs the
operation and stores its answer; a retry with the same key gets that answer back, marked as replayed, without
running anything. A different body under the same key is refused (payload validation on the request's
fingerprint); a retry while the first is still running is refused as in progress. An operation that raises
(refused, Bolt unavailable, ...) leaves no record: errors are never replayed, the retry runs again.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from bolt_merchant.domain.errors import DependencyUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Bolt keeps Idempotency-Keys for 24 hours (reference §5.8): ours live as long, so a retry inside Bolt's window is
# answered by us, and one after it still cannot act twice (Bolt ids make the ledger write a no-op).
RECORD_LIFETIME = timedelta(hours=24)
_REPLAYED = "replayed"


class KeyReused(Exception):
    """The Idempotency-Key was used before for a different request to this order and operation."""


class OperationInProgress(Exception):
    """The first request with this key is still running."""


def _run(*, operation: dict[str, str], action: Callable[[], dict[str, Any]]) -> dict[str, Any]:  # noqa: ARG001 - `operation` is what Powertools hashes
    return action()


class OperationRecords:
    def __init__(self, client: "DynamoDBClient", table: str, name: str = "order-admin") -> None:
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
            raise KeyReused(key) from exc
        except IdempotencyAlreadyInProgressError as exc:
            raise OperationInProgress(key) from exc
        except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError) as exc:
            raise DependencyUnavailable("operation records unavailable") from exc
        replayed = bool(answer.get(_REPLAYED))
        return {k: v for k, v in answer.items() if k != _REPLAYED}, replayed
