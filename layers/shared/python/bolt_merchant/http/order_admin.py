"""The back-office API (AWS_IAM-authorised routes): the order view and Bolt transaction operations.

Answers are JSON; failures are {"status": "failure", "error": {code, message}} with the back office's codes
(domain.backoffice.AdminCode). Status codes:
  200  done (a replay of an earlier answer carries `Idempotent-Replayed: true`)
  400  the body is not JSON we read; 413 it is too large
  404  unknown order
  409  the order's state forbids it; or a request with the same Idempotency-Key is still running, here or at Bolt
       (with Retry-After)
  422  invalid body, amount or line items; an Idempotency-Key reused for a different request; or Bolt refused the
       request as invalid (Bolt's message is passed on: the operator can act on it, e.g. an amount Bolt no longer
       allows because someone captured in Bolt's dashboard)
  502  Bolt failed in a way the operator cannot fix (transaction unknown to Bolt, our API key refused, an answer we
       cannot read, a declined refund)
  503  Bolt or AWS unavailable after retries (with Retry-After); nothing was recorded as done, retry with the same key
"""

import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel, ValidationError

from bolt_merchant import wiring
from bolt_merchant.adapters.bolt_api_errors import BoltApiError, BoltConcurrentRequest, BoltInvalidRequest
from bolt_merchant.adapters.operation_records import KeyReused, OperationInProgress
from bolt_merchant.domain import backoffice
from bolt_merchant.domain.backoffice import (
    AdminCode,
    BoltTransactions,
    Operation,
    OperationContext,
    OperationRefused,
    OperationResult,
    OrderAdminStore,
)
from bolt_merchant.domain.errors import DependencyUnavailable, RequestRefused
from bolt_merchant.http.bolt_hooks import RawBodyError, failure, field_paths, raw_body, refused
from bolt_merchant.models.backoffice import CancelRequest, CaptureRequest, FulfilmentRequest, RefundRequest
from bolt_merchant.observability import logger, metrics
from bolt_merchant.strict_json import InvalidJson, loads_object
from bolt_merchant.wiring.backoffice import operation_records, order_admin_store
from bolt_merchant.wiring.bolt import backoffice_bolt_api

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
IN_PROGRESS_RETRY_AFTER_SECONDS = "2"
_ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")

Request = TypeVar("Request", bound=BaseModel)
Run = Callable[[OperationContext, Request, OrderAdminStore, BoltTransactions], OperationResult]


class _NotFound(Exception):
    pass


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(status_code=status, content_type="application/json", body=body, headers=headers)


def _count(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def _checked_order_id(order_id: str) -> str:
    """Path parameters end up in DynamoDB keys: anything that cannot be an order id is simply not found."""
    if not _ORDER_ID.fullmatch(order_id):
        raise _NotFound
    return order_id


def _body(event: APIGatewayProxyEvent, list_field: str | None = None) -> dict[str, Any]:
    """Strict JSON object; an empty body is {}. With list_field, a top-level array is read as {list_field: [...]}."""
    raw = raw_body(event)
    if len(raw) > wiring.max_body_bytes():
        raise OperationRefused(AdminCode.INVALID_REQUEST, "Request body too large", 413)
    if not raw.strip():
        return {}
    if list_field is not None and raw.lstrip().startswith(b"["):
        raw = b'{"' + list_field.encode("ascii") + b'":' + raw + b"}"
    return loads_object(raw)


def _in_progress(message: str) -> Response[Any]:
    response = failure(None, AdminCode.REQUEST_IN_PROGRESS, message, HTTPStatus.CONFLICT)
    response.headers["Retry-After"] = IN_PROGRESS_RETRY_AFTER_SECONDS
    return response


def _guarded(answer: Callable[[], Response[Any]]) -> Response[Any]:
    """Every failure as the back office's JSON error with its status; nothing here answers 500 for bad input."""
    try:
        return answer()
    except _NotFound:
        return failure(None, AdminCode.ORDER_NOT_FOUND, "Order not found", HTTPStatus.NOT_FOUND)
    except OperationRefused as exc:
        if exc.http_status >= 500:
            logger.warning("back-office operation failed at Bolt", extra={"reason": exc.message})
        return failure(None, exc.code, exc.message, exc.http_status)
    except ValidationError as exc:
        return failure(None, AdminCode.INVALID_REQUEST, field_paths(exc), HTTPStatus.UNPROCESSABLE_ENTITY)
    except (InvalidJson, RawBodyError) as exc:
        return failure(None, AdminCode.INVALID_REQUEST, f"Malformed request: {exc}", HTTPStatus.BAD_REQUEST)
    except KeyReused:
        _count("IdempotencyKeyReused")
        message = f"This {IDEMPOTENCY_HEADER} was already used for a different request to this order and operation"
        return failure(None, AdminCode.IDEMPOTENCY_KEY_REUSED, message, HTTPStatus.UNPROCESSABLE_ENTITY)
    except OperationInProgress:
        return _in_progress(f"A request with this {IDEMPOTENCY_HEADER} is still being processed; retry shortly")
    except BoltConcurrentRequest:
        _count("BoltConcurrentRequest")
        return _in_progress("Bolt is still processing an earlier attempt of this operation; retry shortly")
    except BoltInvalidRequest as exc:
        logger.warning("Bolt refused the request", extra={"bolt_status": exc.status, "bolt_code": exc.code})
        _count("BoltRefused")
        message = f"Bolt refused the request: {exc.message}"
        return failure(None, AdminCode.BOLT_REJECTED, message, HTTPStatus.UNPROCESSABLE_ENTITY)
    except BoltApiError as exc:
        logger.warning("Bolt failed the request", extra={"bolt_status": exc.status, "bolt_code": exc.code})
        _count("BoltFailed")
        message = f"Bolt could not process the request (HTTP {exc.status})"
        return failure(None, AdminCode.BOLT_FAILED, message, HTTPStatus.BAD_GATEWAY)
    except RequestRefused as exc:
        return refused(exc, None, AdminCode.INVALID_REQUEST)
    except DependencyUnavailable as exc:
        logger.warning("dependency unavailable", extra={"reason": str(exc)})
        _count("DependencyUnavailable")
        message = "Bolt or our storage is temporarily unavailable; retry with the same Idempotency-Key"
        return failure(None, AdminCode.UNAVAILABLE, message, HTTPStatus.SERVICE_UNAVAILABLE)


def order_admin_app() -> APIGatewayRestResolver:
    """A fresh resolver per function instance: it keeps per-request state, so instances never share one."""
    app = APIGatewayRestResolver()

    def operate(order_id: str, operation: Operation, model: type[Request], run: Run[Request]) -> Response[Any]:
        def attempt() -> Response[Any]:
            checked = _checked_order_id(order_id)
            event = app.current_event
            request = model.model_validate(_body(event, "line_items" if operation == "line-items" else None))
            supplied = event.headers.get(IDEMPOTENCY_HEADER)
            if supplied is not None and not backoffice.valid_idempotency_key(supplied):
                message = f"{IDEMPOTENCY_HEADER} must be 1-255 visible ASCII characters"
                raise OperationRefused(AdminCode.INVALID_REQUEST, message, HTTPStatus.UNPROCESSABLE_ENTITY)
            request_fingerprint = backoffice.fingerprint(request)
            key = backoffice.operation_key(checked, operation, request_fingerprint, supplied)
            context = OperationContext(order_id=checked, key=key, now=wiring.now())

            def action() -> dict[str, Any]:
                done = run(context, request, order_admin_store(), backoffice_bolt_api())
                for alert in done.alerts:
                    _count(alert)
                view = backoffice.order_view(done.order).model_dump(mode="json", exclude={"timeline"})
                return {"status": "success", "operation": operation, "result": done.result, "order": view}

            records = operation_records()
            records.register_lambda_context(app.lambda_context)
            answer, replayed = records.run(key, request_fingerprint, action)
            _count("BackofficeReplayed" if replayed else f"Backoffice{operation.title().replace('-', '')}")
            # the audit trail: which IAM principal (AWS_IAM authorisation) asked for what on which order
            operator = event.request_context.identity.user_arn
            logger.info(
                "back-office operation answered",
                extra={"operation": operation, "order_id": checked, "replayed": replayed, "operator": operator},
            )
            return _json(HTTPStatus.OK, answer, {REPLAYED_HEADER: "true"} if replayed else None)

        return _guarded(attempt)

    @app.get("/orders/<order_id>")
    def read_order(order_id: str) -> Response[Any]:
        def attempt() -> Response[Any]:
            view = backoffice.get_order(_checked_order_id(order_id), order_admin_store())
            return _json(HTTPStatus.OK, view.model_dump(mode="json"))

        return _guarded(attempt)

    @app.post("/orders/<order_id>/capture")
    def capture(order_id: str) -> Response[Any]:
        return operate(order_id, "capture", CaptureRequest, backoffice.capture)

    @app.post("/orders/<order_id>/refund")
    def refund(order_id: str) -> Response[Any]:
        return operate(order_id, "refund", RefundRequest, backoffice.refund)

    @app.post("/orders/<order_id>/cancel")
    def cancel(order_id: str) -> Response[Any]:
        return operate(order_id, "cancel", CancelRequest, backoffice.cancel)

    @app.patch("/orders/<order_id>/line-items")
    def line_items(order_id: str) -> Response[Any]:
        return operate(order_id, "line-items", FulfilmentRequest, backoffice.fulfil)

    return app
