"""The back-office API (AWS_IAM-authorised routes): the order view and Bolt transaction operations, with operator
idempotency (Powertools Idempotency on the IdempotencyTable).

Answers are JSON; failures are {"status": "failure", "error": {code, message}} with the back office's codes, from
the error table (core/errors.py):
  200  done (a replay of an earlier answer carries `Idempotent-Replayed: true`)
  400  the body is not JSON we read; 413 it is too large
  404  unknown order
  409  the order's state forbids it; or a request with the same Idempotency-Key is still running, here or at Bolt
       (with Retry-After)
  422  invalid body, amount or line items; an Idempotency-Key reused for a different request; or Bolt refused the
       request as invalid (Bolt's message is passed on)
  502  Bolt failed in a way the operator cannot fix (transaction unknown to Bolt, our API key refused, an answer we
       cannot read, a declined refund)
  503  Bolt or AWS unavailable after retries (with Retry-After); nothing was recorded as done, retry with the same key
"""

import base64
import json
import random
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from pydantic import BaseModel

from bolt_merchant.backoffice import operations
from bolt_merchant.backoffice.models import (
    AttentionEntry,
    AttentionList,
    CancelRequest,
    CaptureRequest,
    FulfilmentRequest,
    ReconcileRequest,
    RefundRequest,
    ReleaseHoldsRequest,
    ReviewRequest,
)
from bolt_merchant.backoffice.operations import (
    BoltTransactions,
    Operation,
    OperationContext,
    OperationResult,
    OrderAdminStore,
)
from bolt_merchant.core.api import Codes, json_api, json_body, json_response, validated
from bolt_merchant.core.aws import dynamodb
from bolt_merchant.core.errors import Invalid, NotFound
from bolt_merchant.core.idempotency import IDEMPOTENCY_HEADER, REPLAYED_HEADER, OperationRecords, operator_key
from bolt_merchant.core.models import is_reference
from bolt_merchant.core.observability import count, logger
from bolt_merchant.core.settings import max_body_bytes, now, per_container, settings
from bolt_merchant.orders.table import ATTENTION_AT, ATTENTION_DUE, ATTENTION_KEY
from bolt_merchant.payments.reconcile import reconcile_order
from bolt_merchant.payments.store import transaction_store

if TYPE_CHECKING:
    pass

Request = TypeVar("Request", bound=BaseModel)
Run = Callable[[OperationContext, Request, OrderAdminStore, BoltTransactions], OperationResult]


@per_container
def operation_records() -> OperationRecords:
    return OperationRecords(dynamodb(), settings().require("idempotency_table"), "order-admin", "order and operation")


def _checked_order_id(order_id: str) -> str:
    """Path parameters end up in DynamoDB keys: anything that cannot be an order id is simply not found."""
    if not is_reference(order_id):
        raise NotFound("Order not found")
    return order_id


_MAX_PAGE = 100


def _page_size(value: str | None) -> int:
    if value is None:
        return 25
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= _MAX_PAGE:
        raise Invalid(f"limit must be a whole number from 1 to {_MAX_PAGE}")
    return int(value)


def _encoded(cursor: str | None) -> str | None:
    return base64.urlsafe_b64encode(cursor.encode("utf-8")).decode("ascii") if cursor else None


def _cursor(value: str | None) -> str | None:
    """The opaque cursor of the previous page: our own encoding of the index's last key, checked on the way in."""
    if value is None:
        return None
    try:
        decoded = base64.urlsafe_b64decode(value.encode("ascii")).decode("utf-8")
        keys = json.loads(decoded)
    except (ValueError, UnicodeError, RecursionError):  # the C decoder stops at the interpreter's recursion limit
        raise Invalid("cursor is not one this API returned") from None
    expected = {"pk", "sk", ATTENTION_KEY, ATTENTION_AT}
    if (
        not isinstance(keys, dict)
        or set(keys) != expected
        or not all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in keys.values())
        or keys[ATTENTION_KEY]["S"] != ATTENTION_DUE
    ):
        raise Invalid("cursor is not one this API returned")
    return decoded


def _backoff(attempt: int) -> None:
    """Between attempts to record Bolt's answer on a busy order: jittered, growing, well inside API Gateway's 29 s."""
    time.sleep(min(0.05 * 2**attempt, 1.0) * (0.5 + random.random()))  # noqa: S311 - jitter, not cryptography


def _bolt() -> BoltTransactions:
    # Imported on first use: only an operation calls Bolt (an order view does not), and the client loads requests.
    from bolt_merchant.bolt.api import backoffice_bolt_api

    return backoffice_bolt_api()


def _operate[Request: BaseModel](
    app: APIGatewayRestResolver, order_id: str, operation: Operation, model: type[Request], run: Run[Request]
) -> Response[Any]:
    """One operator operation: checked, identified (Idempotency-Key or body), run once, answered and audited."""
    checked = _checked_order_id(order_id)
    event = app.current_event
    list_field = "line_items" if operation == "line-items" else None
    body = json_body(event, max_body_bytes(), empty_is_object=True, list_field=list_field)
    request = validated(model, body)
    request_fingerprint = operations.fingerprint(request)
    supplied = operator_key(event.headers.get(IDEMPOTENCY_HEADER))
    key = operations.operation_key(checked, operation, request_fingerprint, supplied)
    context = OperationContext(order_id=checked, key=key, now=now(), pause=_backoff)

    def action() -> dict[str, Any]:
        done = run(context, request, transaction_store(), _bolt())
        for alert in done.alerts:
            count(alert)
        view = operations.order_view(done.order).model_dump(mode="json", exclude={"timeline"})
        status = {"status": "success"}
        if done.pending:
            count("BackofficeAnswerPending")
            logger.error("Bolt's answer kept for reconciliation", extra={"operation": operation, "order_id": checked})
            status = {"status": "accepted", "pending": "Bolt completed the operation; reconciliation applies it"}
        return {**status, "operation": operation, "result": done.result, "order": view}

    records = operation_records()
    records.register_lambda_context(app.lambda_context)
    answer, replayed = records.run(key, request_fingerprint, action)
    count("BackofficeReplayed" if replayed else f"Backoffice{operation.title().replace('-', '')}")
    _audit("back-office operation answered", event.request_context.identity.user_arn, checked, operation=operation)
    code = HTTPStatus.ACCEPTED if answer.get("status") == "accepted" else HTTPStatus.OK
    return json_response(code, answer, {REPLAYED_HEADER: "true"} if replayed else None)


def _audit(message: str, operator: str | None, order_id: str, **fields: object) -> None:
    """The audit trail: which IAM principal (AWS_IAM authorisation) asked for what on which order."""
    logger.info(message, extra={"order_id": order_id, "operator": operator, **fields})


def _attention_page(query: dict[str, str]) -> AttentionList:
    if query.get("attention") != "true":
        raise Invalid("List orders with attention=true: orders are otherwise read one by one")
    page = transaction_store().attention(_page_size(query.get("limit")), _cursor(query.get("cursor")))
    return AttentionList(
        items=[AttentionEntry.model_validate(item, from_attributes=True) for item in page.items],
        next_cursor=_encoded(page.cursor),
    )


def _reconciled(order_id: str) -> dict[str, Any]:
    store = transaction_store()
    outcome = reconcile_order(store, _bolt(), order_id, now())
    if outcome == "skipped":
        raise NotFound("Order not found")
    count(f"Reconcile{outcome.title().replace('_', '')}")
    view = operations.order_view(operations.load(store, order_id)).model_dump(mode="json", exclude={"timeline"})
    return {"status": "success", "outcome": outcome, "order": view}


# Every operator operation is POST /orders/{order_id}/<operation> (line-items: PATCH), with its request and its rule.
_OPERATIONS: dict[Operation, tuple[str, type[BaseModel], Run[Any]]] = {
    "capture": ("POST", CaptureRequest, operations.capture),
    "refund": ("POST", RefundRequest, operations.refund),
    "cancel": ("POST", CancelRequest, operations.cancel),
    "review": ("POST", ReviewRequest, operations.review),
    "release-holds": ("POST", ReleaseHoldsRequest, operations.release),
    "line-items": ("PATCH", FulfilmentRequest, operations.fulfil),
}


def _operation_route(
    app: APIGatewayRestResolver, operation: Operation, model: type[BaseModel], run: Run[Any]
) -> Callable[[str], Response[Any]]:
    def operate(order_id: str) -> Response[Any]:
        return _operate(app, order_id, operation, model, run)

    return operate


def order_admin_app() -> APIGatewayRestResolver:
    app = json_api(Codes.ADMIN)

    @app.get("/orders")
    def attention() -> Response[Any]:
        listing = _attention_page(app.current_event.query_string_parameters or {})
        return json_response(HTTPStatus.OK, listing.model_dump(mode="json"))

    @app.get("/orders/<order_id>")
    def read_order(order_id: str) -> Response[Any]:
        view = operations.get_order(_checked_order_id(order_id), transaction_store())
        return json_response(HTTPStatus.OK, view.model_dump(mode="json"))

    @app.post("/orders/<order_id>/reconcile")
    def reconcile(order_id: str) -> Response[Any]:
        checked = _checked_order_id(order_id)
        validated(ReconcileRequest, json_body(app.current_event, max_body_bytes(), empty_is_object=True))
        answer = _reconciled(checked)
        _audit("reconciliation requested", app.current_event.request_context.identity.user_arn, checked)
        return json_response(HTTPStatus.OK, answer)

    for operation, (method, model, run) in _OPERATIONS.items():
        app.route(f"/orders/<order_id>/{operation}", method)(_operation_route(app, operation, model, run))

    return app
