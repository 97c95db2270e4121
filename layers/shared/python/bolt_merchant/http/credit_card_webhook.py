"""Signed credit-card webhooks (Bolt's beta events): verify, record once, acknowledge."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from bolt_merchant.domain.errors import BoltCode, DependencyUnavailable, RequestRefused
from bolt_merchant.http.bolt_hooks import (
    Rejected,
    SignedRequestReader,
    acknowledged,
    answered,
    failure,
    refused,
    unavailable,
)
from bolt_merchant.models.common import is_reference
from bolt_merchant.observability import metrics


class CreditCardWebhookEndpoint:
    """Beta credit-card events: verified, recorded once (type and id only, never card data), acknowledged."""

    def __init__(self, reader: SignedRequestReader, record: Callable[[str, str], bool]) -> None:
        self._reader = reader
        self._record = record

    def answer(self, event: APIGatewayProxyEvent) -> Response[Any]:
        try:
            body = self._reader.read(event, BoltCode.GENERAL_UNPROCESSABLE)
            event_type, event_id = _card_event_identity(body)
            first_time = self._record(event_type, event_id)
        except Rejected as exc:
            return answered(failure(None, exc.code, exc.message, exc.status, universal=False), event, None)
        except DependencyUnavailable as exc:
            return answered(unavailable(exc), event, None)
        except RequestRefused as exc:
            return answered(refused(exc, None, BoltCode.GENERAL_UNPROCESSABLE, universal=False), event, None)
        metrics.add_metric(name="CreditCardWebhook", unit=MetricUnit.Count, value=1)
        return answered(acknowledged({"result": "applied" if first_time else "duplicate"}), event, event_type)


def _card_event_identity(body: dict[str, Any]) -> tuple[str, str]:
    event_type = body.get("type")
    data = body.get("data")
    event_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(event_type, str) or not isinstance(event_id, str) or not is_reference(event_id):
        raise Rejected(422, BoltCode.GENERAL_UNPROCESSABLE, "Invalid or missing fields: type, data.id")
    return event_type[:64], event_id
