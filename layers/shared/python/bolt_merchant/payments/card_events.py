"""Bolt's credit-card webhook events (beta): verified, recorded once by type and id (never card data),
acknowledged."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from bolt_merchant.bolt.signed import SignedRequestReader, answered, signed_reader
from bolt_merchant.core.api import acknowledged, failure_response
from bolt_merchant.core.aws import condition_failed, dependency, dynamodb
from bolt_merchant.core.errors import DependencyUnavailable, Failure, Invalid
from bolt_merchant.core.models import is_reference
from bolt_merchant.core.observability import count
from bolt_merchant.core.settings import per_container, settings

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
            if condition_failed(exc) is not None:
                return False
            raise
        return True


class CreditCardWebhookEndpoint:
    """Beta credit-card events: verified, recorded once (type and id only, never card data), acknowledged."""

    def __init__(self, reader: SignedRequestReader, record: Callable[[str, str], bool]) -> None:
        self._reader = reader
        self._record = record

    def answer(self, event: APIGatewayProxyEvent) -> Response[Any]:
        try:
            event_type, event_id = _card_event_identity(self._reader.read(event))
            first_time = self._record(event_type, event_id)
        except Failure as exc:
            return answered(failure_response(exc), event, None)
        count("CreditCardWebhook")
        return answered(acknowledged({"result": "applied" if first_time else "duplicate"}), event, event_type)


def _card_event_identity(body: dict[str, Any]) -> tuple[str, str]:
    event_type = body.get("type")
    data = body.get("data")
    event_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(event_type, str) or not isinstance(event_id, str) or not is_reference(event_id):
        raise Invalid("Invalid or missing fields: type, data.id")
    return event_type[:64], event_id


def credit_card_webhook_endpoint() -> CreditCardWebhookEndpoint:
    return CreditCardWebhookEndpoint(
        signed_reader(), lambda event_type, event_id: card_events().record(event_type, event_id)
    )


@per_container
def card_events() -> DynamoCardEvents:
    return DynamoCardEvents(dynamodb(), settings().require("orders_table"))
