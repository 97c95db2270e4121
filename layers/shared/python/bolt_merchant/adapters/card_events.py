"""Bolt's credit-card webhook events in the orders table: each recorded once, by type and id, never card data."""

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from bolt_merchant.adapters.aws import dependency, error_code
from bolt_merchant.domain.errors import DependencyUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoCardEvents:
    def __init__(self, client: "DynamoDBClient", orders_table: str) -> None:
        self._client = client
        self._orders = orders_table

    def record(self, event_type: str, event_id: str) -> bool:
        """True the first time this credit-card event is seen."""
        item = {
            "pk": {"S": f"CARDEVENT#{event_id}"},
            "sk": {"S": "CARDEVENT"},
            "kind": {"S": "card_event"},
            "event_type": {"S": event_type},
        }
        try:
            with dependency("card event write"):
                self._client.put_item(TableName=self._orders, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except DependencyUnavailable as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError) and error_code(cause) == "ConditionalCheckFailedException":
                return False
            raise
        return True
