"""At most once per key, for consumer side effects: Powertools Idempotency on the IdempotencyTable.

The first call for a key takes an INPROGRESS record, runs the action and stores its (JSON) result; later calls
get that result back without running it. An action that raises leaves no record, so the message is retried.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Longer than an authorisation stays capturable and than a message can live in a queue and then its DLQ
# (14 days), so a later event or a redrive for the same order still finds the record. Powertools' default is 1 h.
RECORD_LIFETIME = timedelta(days=30)


def _run(*, key: str, action: Callable[[], str]) -> str:  # noqa: ARG001 - `key` is what Powertools hashes
    return action()


class OncePerKey:
    def __init__(
        self, client: "DynamoDBClient", table: str, name: str, on_replay: Callable[[], None] = lambda: None
    ) -> None:
        self._on_replay = on_replay
        self.config = IdempotencyConfig(
            raise_on_no_idempotency_key=True,
            expires_after_seconds=int(RECORD_LIFETIME.total_seconds()),
            response_hook=self._replayed,
        )
        # key_prefix: the key must not change with the function's (generated) name or the code's module path.
        self._once = idempotent_function(
            _run,
            data_keyword_argument="key",
            persistence_store=DynamoDBPersistenceLayer(table_name=table, boto3_client=client),
            config=self.config,
            key_prefix=name,
        )

    def _replayed(self, response: Any, idempotent_data: DataRecord) -> Any:  # noqa: ARG002 - Powertools' hook signature
        self._on_replay()
        return response

    def register_lambda_context(self, context: LambdaContext) -> None:
        """Bound an INPROGRESS record by the invocation's deadline, so a timed-out attempt does not block retries."""
        self.config.register_lambda_context(context)

    def run(self, key: str, action: Callable[[], str]) -> str:
        """action() the first time `key` is seen; its stored result every later time."""
        return cast(str, self._once(key=key, action=action))
