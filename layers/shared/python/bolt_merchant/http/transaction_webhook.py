"""Signed transaction webhooks: verify, normalise either envelope, apply, acknowledge."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import ValidationError

from bolt_merchant.domain.errors import BoltCode, DependencyUnavailable, HookError, RequestRefused
from bolt_merchant.domain.transactions import CaptureInfo, TransactionEvent
from bolt_merchant.domain.webhooks import OrderNotCreatedYet, WebhookOutcome
from bolt_merchant.http.bolt_hooks import (
    Rejected,
    SignedRequestReader,
    acknowledged,
    answered,
    failure,
    field_paths,
    refused,
    unavailable,
)
from bolt_merchant.models.common import is_reference
from bolt_merchant.models.webhooks import LegacyWebhook, WebhookV2
from bolt_merchant.observability import metrics

SUCCEEDED = "succeeded"


def parse_transaction_event(body: dict[str, Any]) -> TransactionEvent:
    """v2 {type, object: "transaction", data} or the legacy flat body; raises ValidationError."""
    if body.get("object") == "transaction" or isinstance(body.get("data"), dict):
        hook = WebhookV2.model_validate(body)
        data = hook.data
        cart = data.order.cart if data.order else None
        return TransactionEvent(
            hook_type=hook.type,
            transaction_id=data.id,
            reference=data.reference,
            amount=data.amount,
            currency=data.currency,
            order_reference=cart.order_reference if cart else None,
            display_id=cart.display_id if cart and cart.display_id and is_reference(cart.display_id) else None,
            source_reference=data.source_transaction.reference if data.source_transaction else None,
            captures=tuple(
                CaptureInfo(c.id, c.amount or 0) for c in data.captures if (c.status or SUCCEEDED) == SUCCEEDED
            ),
            cart=cart,
            order_token=data.order.token if data.order else None,
        )
    legacy = LegacyWebhook.model_validate(body)
    return TransactionEvent(
        hook_type=legacy.type,
        transaction_id=legacy.id,
        reference=legacy.reference,
        amount=legacy.amount,
        currency=legacy.currency,
        order_reference=legacy.order or None,
        display_id=legacy.display_id or None,
        source_reference=legacy.source_transaction_reference,
    )


class TransactionWebhookEndpoint:
    def __init__(self, reader: SignedRequestReader, handle: Callable[[TransactionEvent], WebhookOutcome]) -> None:
        self._reader = reader
        self._handle = handle

    def answer(self, event: APIGatewayProxyEvent) -> Response[Any]:
        hook_type: str | None = None
        try:
            transaction = parse_transaction_event(self._reader.read(event, BoltCode.GENERAL_UNPROCESSABLE))
            hook_type = transaction.hook_type[:40]
            outcome = self._handle(transaction)
        except Rejected as exc:
            return answered(failure(None, exc.code, exc.message, exc.status, universal=False), event, hook_type)
        except ValidationError as exc:
            response = failure(None, BoltCode.GENERAL_UNPROCESSABLE, field_paths(exc), 422, universal=False)
            return answered(response, event, hook_type)
        except HookError as exc:
            metrics.add_metric(name="OrderRecoveryFailed", unit=MetricUnit.Count, value=1)
            return answered(failure(None, exc.code, exc.message, exc.http_status, universal=False), event, hook_type)
        except DependencyUnavailable as exc:
            if isinstance(exc, OrderNotCreatedYet):
                metrics.add_metric(name="WebhookAwaitingOrder", unit=MetricUnit.Count, value=1)
            return answered(unavailable(exc), event, hook_type)
        except RequestRefused as exc:
            return answered(refused(exc, None, BoltCode.GENERAL_UNPROCESSABLE, universal=False), event, hook_type)
        metrics.add_metric(name=f"Webhook{outcome.result.capitalize()}", unit=MetricUnit.Count, value=1)
        for alert in outcome.alerts:
            metrics.add_metric(name=alert, unit=MetricUnit.Count, value=1)
        body: dict[str, Any] = {"result": outcome.result}
        if outcome.order_id:
            body["display_id"] = outcome.order_id
        return answered(acknowledged(body), event, hook_type)
