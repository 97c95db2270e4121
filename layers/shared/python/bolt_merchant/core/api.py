"""What every API endpoint shares: the raw body, strict JSON, JSON answers, failures answered from the one error
table (core/errors.py), and the Lambda entry point with Powertools' correlation ids, traces and metrics.

Strict JSON refuses what pydantic and the stdlib would silently accept: duplicate keys (the last one would win),
NaN/Infinity, numbers too large to be money and nesting deeper than any Bolt payload.
"""

import base64
import binascii
import json
import re
from collections.abc import Mapping
from enum import Enum
from http import HTTPStatus
from typing import Any, cast

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from bolt_merchant.core.errors import BadEncoding, BoltApiError, Failure, Invalid, Malformed, TooLarge, answer_for
from bolt_merchant.core.observability import LambdaHandler, count, logger, metrics, tracer

# ---------------------------------------------------------------- request bodies
MAX_DEPTH = 32


class InvalidJson(Malformed):
    """The body is not JSON we are willing to read. The message never contains the input."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Malformed request: {reason}")


def _reject_constant(name: str) -> Any:
    raise InvalidJson(f"non-standard JSON constant {name}")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidJson("duplicate key in JSON object")
        result[key] = value
    return result


def _parse_int(text: str) -> int:
    if len(text) > 20:
        raise InvalidJson("integer too large")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise InvalidJson("number out of range")
    return value


def _within_depth(value: Any) -> bool:
    """Level by level, so the check itself never recurses; each level is one pass over the containers' children."""
    level = [value]
    for _ in range(MAX_DEPTH):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if not level:
            return True
    return False


def loads_object(raw: bytes) -> dict[str, Any]:
    """Parse raw bytes into a JSON object (dict) or raise InvalidJson."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidJson("body is not UTF-8") from exc
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_reject_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
        )
    except InvalidJson:
        raise
    except RecursionError as exc:  # the C decoder stops at the interpreter's recursion limit
        raise InvalidJson("JSON nested too deeply") from exc
    except ValueError as exc:
        raise InvalidJson("body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise InvalidJson("body must be a JSON object")
    if not _within_depth(value):
        raise InvalidJson("JSON nested too deeply")
    return value


def raw_body(event: APIGatewayProxyEvent) -> bytes:
    """The exact bytes the caller sent (and Bolt signed). API Gateway hands binary-typed bodies over base64-encoded."""
    body = event.get("body")
    if body is None:
        return b""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadEncoding("Request body is not valid base64") from exc
    return str(body).encode("utf-8")


def json_body(
    event: APIGatewayProxyEvent, max_bytes: int, *, empty_is_object: bool = False, list_field: str | None = None
) -> dict[str, Any]:
    """The body as a strict JSON object (an empty one as {} when empty_is_object). With list_field, a top-level
    array is read as {list_field: [...]}."""
    raw = raw_body(event)
    if len(raw) > max_bytes:
        raise TooLarge("Request body too large")
    if empty_is_object and not raw.strip():
        return {}
    if list_field is not None and raw.lstrip().startswith(b"["):
        raw = b'{"' + list_field.encode("ascii") + b'":' + raw + b"}"
    return loads_object(raw)


_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


def _path_part(part: int | str) -> str:
    """Field names and list indexes only: a dict key in the path is caller input and may be personal data."""
    return str(part) if isinstance(part, int) or _FIELD_NAME.fullmatch(part) else "<key>"


def field_paths(exc: ValidationError) -> str:
    paths = sorted({".".join(_path_part(p) for p in error["loc"]) or "body" for error in exc.errors()})
    shown = ", ".join(paths[:5]) + (" ..." if len(paths) > 5 else "")
    return f"Invalid or missing fields: {shown}"


def validated[Model: BaseModel](model: type[Model], data: Any) -> Model:
    """model.model_validate(data), with a schema error as Invalid naming the fields (never their values)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(field_paths(exc)) from None


# ---------------------------------------------------------------- answers
def json_response(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response[Any]:
    return Response(status_code=status, content_type="application/json", body=dict(body), headers=headers)


def acknowledged(body: Mapping[str, Any]) -> Response[Any]:
    """A webhook's answer: {"status": "success", ...body}."""
    return json_response(HTTPStatus.OK, {"status": "success", **body})


class Codes(Enum):
    """Which code column of the error table an API answers with."""

    BOLT = "bolt"
    ADMIN = "admin"


def failure_response(
    failure: Failure,
    codes: Codes = Codes.BOLT,
    *,
    invalid_code: int = 6009,
    event_name: str | None = None,
    errors_list: bool = False,
) -> Response[Any]:
    """The failure answered as the error table says: status, code, message, metric, log line, Retry-After.

    Bolt's failure shape is {"event"?, "status": "failure", "error": {code, message}} ({"errors": [...]} for
    cart.update); operator APIs use the same without "event". `invalid_code` is the endpoint's code for invalid
    input (order.create answers 2001001, discounts 6200, the other hooks 6009)."""
    answer = answer_for(failure)
    if answer.metric:
        count(answer.metric)
    if answer.log is not None:
        extra: dict[str, Any] = {"reason": str(failure), "failure": type(failure).__name__}
        if isinstance(failure, BoltApiError):
            extra.update(bolt_status=failure.status, bolt_code=failure.bolt_code)
        getattr(logger, answer.log)("request failed", extra=extra)
    if failure.code is not None:
        code = failure.code
    elif codes is Codes.ADMIN:
        code = answer.admin_code
    else:
        code = answer.bolt_code if answer.bolt_code is not None else invalid_code
    error = {"code": int(code), "message": answer.public_message or failure.message}
    body: dict[str, Any] = {"status": "failure", **({"errors": [error]} if errors_list else {"error": error})}
    if event_name:
        body = {"event": event_name, **body}
    if failure.details:
        body.update(failure.details)
    headers = {"Retry-After": answer.retry_after} if answer.retry_after else None
    return json_response(answer.status, body, headers)


def api_function(app: APIGatewayRestResolver) -> LambdaHandler:
    """The Lambda handler serving `app`, with correlation ids, traces and metrics."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return app.resolve(event, context)

    return cast(LambdaHandler, lambda_handler)


def json_api(codes: Codes) -> APIGatewayRestResolver:
    """A resolver for one of our JSON APIs (storefront, back office): every Failure answered from the error table.
    A fresh one per function instance: a resolver keeps per-request state, so instances never share one."""
    app = APIGatewayRestResolver()

    @app.exception_handler(Failure)  # type: ignore[untyped-decorator]
    def _failed(exc: Failure) -> Response[Any]:
        return failure_response(exc, codes)

    return app
