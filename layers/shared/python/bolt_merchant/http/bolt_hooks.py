"""Bolt-signed endpoints: raw body -> size check -> signature -> strict JSON -> envelope -> one domain call.

Order matters: nothing is parsed, looked up or written before the signature over the exact received bytes is
verified, and every failure is answered in Bolt's failure shape with a 4xx (503 when a dependency failed).
"""

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel, ValidationError

from bolt_merchant.adapters.secrets import SecretsProvider
from bolt_merchant.domain.errors import BoltCode, DependencyUnavailable, HookError
from bolt_merchant.observability import logger, metrics
from bolt_merchant.signing import PENDING_SIGNATURE_HEADER, SIGNATURE_HEADER, is_signed_by
from bolt_merchant.strict_json import InvalidJson, loads_object

RETRY_AFTER_SECONDS = "5"


@dataclass(frozen=True)
class Hook:
    """One Bolt event: how to read its data and which domain call answers it."""

    event: str
    request_model: type[BaseModel]
    run: Callable[[Any], BaseModel]
    invalid_code: BoltCode = BoltCode.GENERAL_UNPROCESSABLE
    errors_list: bool = False  # cart.update answers failures as {"errors": [...]} (reference §3.7)


class RawBodyError(Exception):
    pass


def raw_body(event: APIGatewayProxyEvent) -> bytes:
    """The exact bytes Bolt signed. API Gateway hands binary-typed bodies over base64-encoded."""
    body = event.get("body")
    if body is None:
        return b""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RawBodyError("body is not valid base64") from exc
    return str(body).encode("utf-8")


def _json_response(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response[Any]:
    return Response(status_code=status, content_type="application/json", body=dict(body), headers=headers)


def failure(
    event_name: str | None, code: int, message: str, status: int, *, universal: bool = True, errors_list: bool = False
) -> Response[Any]:
    error = {"code": int(code), "message": message}
    body: dict[str, Any] = {"status": "failure", **({"errors": [error]} if errors_list else {"error": error})}
    if universal and event_name:
        body = {"event": event_name, **body}
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if status == HTTPStatus.SERVICE_UNAVAILABLE else None
    return _json_response(status, body, headers)


def success(event_name: str, data: Mapping[str, Any], universal: bool) -> Response[Any]:
    if universal:
        return _json_response(HTTPStatus.OK, {"event": event_name, "status": "success", "data": dict(data)})
    return _json_response(HTTPStatus.OK, {"status": "success", **data})


def field_paths(exc: ValidationError) -> str:
    paths = sorted({".".join(str(p)[:64] for p in error["loc"]) or "body" for error in exc.errors()})
    shown = ", ".join(paths[:5]) + (" ..." if len(paths) > 5 else "")
    return f"Invalid or missing fields: {shown}"


def _unwrap(body: dict[str, Any], default_event: str) -> tuple[str, Any, bool]:
    """Universal envelope {event, data}, or the legacy body with an optional top-level `type`."""
    if "event" in body and "data" in body:
        return str(body["event"]), body["data"], True
    legacy = {key: value for key, value in body.items() if key != "type"}
    return str(body.get("type") or default_event), legacy, False


class BoltHookEndpoint:
    """Answers Bolt's signed hook requests for the given events."""

    def __init__(
        self,
        hooks: Sequence[Hook],
        secrets: Callable[[], SecretsProvider],
        max_body_bytes: Callable[[], int],
    ) -> None:
        self._hooks = {hook.event: hook for hook in hooks}
        self._default_event = hooks[0].event
        self._secrets = secrets
        self._max_body_bytes = max_body_bytes

    def _verified(self, raw: bytes, event: APIGatewayProxyEvent) -> bool:
        headers = event.headers
        signatures = [headers.get(SIGNATURE_HEADER), headers.get(PENDING_SIGNATURE_HEADER)]
        provider = self._secrets()
        if is_signed_by(raw, signatures, provider.get().signing_secrets):
            return True
        refreshed = provider.refreshed() if any(signatures) else None
        return refreshed is not None and is_signed_by(raw, signatures, refreshed.signing_secrets)

    def answer(self, event: APIGatewayProxyEvent) -> Response[Any]:
        outcome: Response[Any]
        event_name: str | None = None
        try:
            outcome, event_name = self._answer(event)
        except DependencyUnavailable as exc:
            logger.warning("dependency unavailable", extra={"reason": str(exc)})
            metrics.add_metric(name="DependencyUnavailable", unit=MetricUnit.Count, value=1)
            outcome = failure(event_name, BoltCode.SERVICE_ERROR, "Temporarily unavailable, retry later", 503)
        logger.info(
            "bolt hook answered",
            extra={"bolt_event": event_name, "status_code": outcome.status_code, "path": event.get("path")},
        )
        return outcome

    def _answer(self, event: APIGatewayProxyEvent) -> tuple[Response[Any], str | None]:
        default = self._default_event
        declared_length = len(event.get("body") or "")
        if declared_length > self._max_body_bytes() * 4 // 3 + 4:
            return failure(None, BoltCode.GENERAL_UNPROCESSABLE, "Request body too large", 413), None
        try:
            raw = raw_body(event)
        except RawBodyError:
            return failure(None, BoltCode.GENERAL_UNPROCESSABLE, "Request body is not valid base64", 400), None
        if len(raw) > self._max_body_bytes():
            return failure(None, BoltCode.GENERAL_UNPROCESSABLE, "Request body too large", 413), None
        if not self._verified(raw, event):
            metrics.add_metric(name="SignatureRejected", unit=MetricUnit.Count, value=1)
            return failure(None, BoltCode.SERVICE_ERROR, "Invalid or missing request signature", 401), None
        try:
            body = loads_object(raw)
        except InvalidJson as exc:
            return failure(None, self._hooks[default].invalid_code, f"Malformed request: {exc}", 400), None
        event_name, data, universal = _unwrap(body, default)
        hook = self._hooks.get(event_name)
        if hook is None:
            metrics.add_metric(name="UnsupportedHookEvent", unit=MetricUnit.Count, value=1)
            code = BoltCode.SERVICE_ERROR
            return failure(
                event_name[:64], code, "Unsupported event for this endpoint", 422, universal=universal
            ), event_name
        try:
            request = hook.request_model.model_validate(data)
            result = hook.run(request)
        except ValidationError as exc:
            answer = failure(
                event_name, hook.invalid_code, field_paths(exc), 422, universal=universal, errors_list=hook.errors_list
            )
            return answer, event_name
        except HookError as exc:
            metrics.add_metric(name="HookBusinessFailure", unit=MetricUnit.Count, value=1)
            answer = failure(
                event_name, exc.code, exc.message, exc.http_status, universal=universal, errors_list=hook.errors_list
            )
            return answer, event_name
        return success(event_name, result.model_dump(mode="json", exclude_none=True), universal), event_name
