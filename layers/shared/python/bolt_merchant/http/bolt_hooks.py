"""Bolt-signed endpoints: raw body -> size check -> signature -> strict JSON -> envelope -> one domain call.

Order matters: nothing is parsed, looked up or written before the signature over the exact received bytes is
verified, and every failure is answered in Bolt's failure shape with a 4xx (503 when a dependency failed).
"""

import base64
import binascii
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel, ValidationError

from bolt_merchant.adapters.secrets import SecretsProvider
from bolt_merchant.domain.errors import BoltCode, DependencyUnavailable, HookError, RequestRefused
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


_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


def acknowledged(body: Mapping[str, Any]) -> Response[Any]:
    """A webhook's answer: {"status": "success", ...body}."""
    return _json_response(HTTPStatus.OK, {"status": "success", **body})


def _path_part(part: int | str) -> str:
    """Field names and list indexes only: a dict key in the path is caller input and may be personal data."""
    return str(part) if isinstance(part, int) or _FIELD_NAME.fullmatch(part) else "<key>"


def field_paths(exc: ValidationError) -> str:
    paths = sorted({".".join(_path_part(p) for p in error["loc"]) or "body" for error in exc.errors()})
    shown = ", ".join(paths[:5]) + (" ..." if len(paths) > 5 else "")
    return f"Invalid or missing fields: {shown}"


def _unwrap(body: dict[str, Any], default_event: str) -> tuple[str, Any, bool]:
    """Universal envelope {event, data}, or the legacy body with an optional top-level `type`."""
    if "event" in body and "data" in body:
        return str(body["event"]), body["data"], True
    legacy = {key: value for key, value in body.items() if key != "type"}
    return str(body.get("type") or default_event), legacy, False


class Rejected(Exception):
    """The request is refused before any domain code runs."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class SignedRequestReader:
    """Size limit, then Bolt's signature over the exact bytes, then strict JSON: nothing is parsed unsigned."""

    def __init__(self, secrets: Callable[[], SecretsProvider], max_body_bytes: Callable[[], int]) -> None:
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

    def read(self, event: APIGatewayProxyEvent, invalid_code: int) -> dict[str, Any]:
        limit = self._max_body_bytes()
        if len(event.get("body") or "") > limit * 4 // 3 + 4:
            raise Rejected(413, BoltCode.GENERAL_UNPROCESSABLE, "Request body too large")
        try:
            raw = raw_body(event)
        except RawBodyError as exc:
            raise Rejected(400, BoltCode.GENERAL_UNPROCESSABLE, "Request body is not valid base64") from exc
        if len(raw) > limit:
            raise Rejected(413, BoltCode.GENERAL_UNPROCESSABLE, "Request body too large")
        if not self._verified(raw, event):
            metrics.add_metric(name="SignatureRejected", unit=MetricUnit.Count, value=1)
            raise Rejected(401, BoltCode.SERVICE_ERROR, "Invalid or missing request signature")
        try:
            return loads_object(raw)
        except InvalidJson as exc:
            raise Rejected(400, invalid_code, f"Malformed request: {exc}") from exc


def answered(outcome: Response[Any], event: APIGatewayProxyEvent, bolt_event: str | None) -> Response[Any]:
    logger.info(
        "bolt request answered",
        extra={"bolt_event": bolt_event, "status_code": outcome.status_code, "path": event.get("path")},
    )
    return outcome


def unavailable(exc: DependencyUnavailable, event_name: str | None = None) -> Response[Any]:
    logger.warning("dependency unavailable", extra={"reason": str(exc)})
    metrics.add_metric(name="DependencyUnavailable", unit=MetricUnit.Count, value=1)
    return failure(event_name, BoltCode.SERVICE_ERROR, "Temporarily unavailable, retry later", 503)


def refused(exc: RequestRefused, event_name: str | None, code: int, **shape: bool) -> Response[Any]:
    logger.error("request refused by a dependency", extra={"reason": str(exc)})
    metrics.add_metric(name="RequestRefused", unit=MetricUnit.Count, value=1)
    return failure(event_name, code, "The request could not be processed", 422, **shape)


class BoltHookEndpoint:
    """Answers Bolt's signed Merchant Callback requests for the given events."""

    def __init__(self, hooks: Sequence[Hook], reader: SignedRequestReader) -> None:
        self._hooks = {hook.event: hook for hook in hooks}
        self._default = hooks[0]
        self._reader = reader

    def answer(self, event: APIGatewayProxyEvent) -> Response[Any]:
        event_name: str | None = None
        try:
            body = self._reader.read(event, self._default.invalid_code)
            event_name, data, universal = _unwrap(body, self._default.event)
            outcome = self._dispatch(event_name, data, universal)
        except Rejected as exc:
            outcome = failure(None, exc.code, exc.message, exc.status)
        except DependencyUnavailable as exc:
            outcome = unavailable(exc, event_name)
        return answered(outcome, event, event_name)

    def _dispatch(self, event_name: str, data: Any, universal: bool) -> Response[Any]:
        hook = self._hooks.get(event_name)
        if hook is None:
            metrics.add_metric(name="UnsupportedHookEvent", unit=MetricUnit.Count, value=1)
            message = "Unsupported event for this endpoint"
            return failure(event_name[:64], BoltCode.SERVICE_ERROR, message, 422, universal=universal)
        shape = {"universal": universal, "errors_list": hook.errors_list}
        try:
            result = hook.run(hook.request_model.model_validate(data))
        except ValidationError as exc:
            return failure(event_name, hook.invalid_code, field_paths(exc), 422, **shape)
        except HookError as exc:
            metrics.add_metric(name="HookBusinessFailure", unit=MetricUnit.Count, value=1)
            return failure(event_name, exc.code, exc.message, exc.http_status, **shape)
        except RequestRefused as exc:
            return refused(exc, event_name, hook.invalid_code, **shape)
        return success(event_name, result.model_dump(mode="json", exclude_none=True), universal)
