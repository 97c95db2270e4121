"""Bolt-signed endpoints: raw body -> size check -> signature -> strict JSON -> envelope -> one feature call.

Order matters: nothing is parsed, looked up or written before Bolt's signature over the exact received bytes is
verified (base64(HMAC-SHA256(signing secret, raw body)), active and pending secret, constant time), and every
failure is answered in Bolt's failure shape from the error table (core/errors.py).
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel

from bolt_merchant.bolt.secrets import SecretsProvider, secrets
from bolt_merchant.core.api import (
    api_function,
    failure_response,
    json_response,
    loads_object,
    raw_body,
    validated,
)
from bolt_merchant.core.errors import BoltCode, DependencyUnavailable, Failure, TooLarge, Unauthorized, UnsupportedEvent
from bolt_merchant.core.observability import LambdaHandler, logger
from bolt_merchant.core.settings import max_body_bytes

SIGNATURE_HEADER = "X-Bolt-Hmac-Sha256"
PENDING_SIGNATURE_HEADER = "X-Bolt-Hmac-Sha256-Pending"
BOLT_TRACE_HEADER = "X-Bolt-Trace-Id"
_MAX_SIGNATURE_CHARS = 128  # a SHA-256 digest is 44 base64 characters; anything much longer is junk


# ---------------------------------------------------------------- signatures
def _decode_signature(header_value: str | None) -> bytes | None:
    if not header_value or len(header_value) > _MAX_SIGNATURE_CHARS:
        return None
    try:
        decoded = base64.b64decode(header_value.strip().encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return None
    return decoded if len(decoded) == hashlib.sha256().digest_size else None


def is_signed_by(raw_body: bytes, header_values: Iterable[str | None], secrets: Iterable[str]) -> bool:
    """True when any provided signature matches the body under any configured secret. Total: whatever arrives in
    the headers, the answer is True or False, never an exception.

    Bolt sends the active-secret signature in X-Bolt-Hmac-Sha256 and, during rotation, the pending-secret one in
    X-Bolt-Hmac-Sha256-Pending. Every pair is compared (bytes, constant time) so the result does not depend on
    which header matched.
    """
    signatures = [s for s in (_decode_signature(v) for v in header_values) if s is not None]
    expected = [hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest() for secret in secrets if secret]
    matched = False
    for signature in signatures:
        for digest in expected:
            matched |= hmac.compare_digest(signature, digest)
    return matched


def why_refused(header_values: Iterable[str | None]) -> str:
    """Why no signature verified, for the log line: never a signature or what was expected."""
    sent = [value for value in header_values if value]
    if not sent:
        return "header missing"
    if all(_decode_signature(value) is None for value in sent):
        return "header malformed"
    return "no match"


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

    def read(self, event: APIGatewayProxyEvent) -> dict[str, Any]:
        limit = self._max_body_bytes()
        if len(event.get("body") or "") > limit * 4 // 3 + 4:
            raise TooLarge("Request body too large")
        raw = raw_body(event)
        if len(raw) > limit:
            raise TooLarge("Request body too large")
        if not self._verified(raw, event):
            # The answer stays the same for every refusal; the request's log line says why.
            sent = [event.headers.get(SIGNATURE_HEADER), event.headers.get(PENDING_SIGNATURE_HEADER)]
            logger.append_keys(signature=why_refused(sent))
            raise Unauthorized("Invalid or missing request signature")
        return loads_object(raw)


def signed_reader() -> SignedRequestReader:
    return SignedRequestReader(secrets=secrets, max_body_bytes=max_body_bytes)


# ---------------------------------------------------------------- answers
def answered(outcome: Response[Any], event: APIGatewayProxyEvent, bolt_event: str | None) -> Response[Any]:
    logger.info(
        "bolt request answered",
        extra={"bolt_event": bolt_event, "status_code": outcome.status_code, "path": event.get("path")},
    )
    return outcome


def success(event_name: str, data: Mapping[str, Any], universal: bool) -> Response[Any]:
    if universal:
        return json_response(HTTPStatus.OK, {"event": event_name, "status": "success", "data": dict(data)})
    return json_response(HTTPStatus.OK, {"status": "success", **data})


# ---------------------------------------------------------------- Merchant Callback hooks
@dataclass(frozen=True)
class Hook:
    """One Bolt event: how to read its data and which feature call answers it."""

    event: str
    request_model: type[BaseModel]
    run: Callable[[Any], BaseModel]
    invalid_code: BoltCode = BoltCode.GENERAL_UNPROCESSABLE
    errors_list: bool = False  # cart.update answers failures as {"errors": [...]} (reference §3.7)


def _unwrap(body: dict[str, Any], default_event: str) -> tuple[str, Any, bool]:
    """Universal envelope {event, data}, or the legacy body with an optional top-level `type`."""
    if "event" in body and "data" in body:
        return str(body["event"]), body["data"], True
    legacy = {key: value for key, value in body.items() if key != "type"}
    return str(body.get("type") or default_event), legacy, False


class BoltHookEndpoint:
    """Answers Bolt's signed Merchant Callback requests for the given events."""

    def __init__(self, hooks: Sequence[Hook], reader: SignedRequestReader) -> None:
        self._hooks = {hook.event: hook for hook in hooks}
        self._default = hooks[0]
        self._reader = reader

    def answer(self, event: APIGatewayProxyEvent) -> Response[Any]:
        event_name: str | None = None
        hook = self._default
        shape: dict[str, Any] = {}  # how a failure is answered: before the envelope is read, in neither shape
        try:
            body = self._reader.read(event)
            event_name, data, universal = _unwrap(body, self._default.event)
            found = self._hooks.get(event_name)
            if found is None:
                event_name = event_name[:64]
                shape = {"event_name": event_name if universal else None}
                raise UnsupportedEvent("Unsupported event for this endpoint")
            hook = found
            shape = {"event_name": event_name if universal else None, "errors_list": hook.errors_list}
            result = hook.run(validated(hook.request_model, data))
            outcome = success(event_name, result.model_dump(mode="json", exclude_none=True), universal)
        except DependencyUnavailable as exc:
            outcome = failure_response(exc, event_name=event_name)
        except Failure as exc:
            outcome = failure_response(exc, invalid_code=hook.invalid_code, **shape)
        return answered(outcome, event, event_name)


# ---------------------------------------------------------------- Lambda entry points
class SignedEndpoint(Protocol):
    def answer(self, event: APIGatewayProxyEvent) -> Response[Any]: ...


def signed_function(path: str, bolt_endpoint: SignedEndpoint) -> LambdaHandler:
    """A function answering Bolt-signed POSTs on `path` with `bolt_endpoint`."""
    app = APIGatewayRestResolver()

    @app.post(path)
    def answer() -> Any:
        trace_id = app.current_event.headers.get(BOLT_TRACE_HEADER)
        if trace_id:
            logger.append_keys(bolt_trace_id=trace_id[:64])
        return bolt_endpoint.answer(app.current_event)

    return api_function(app)


def bolt_hook_function(path: str, *hooks: Hook) -> LambdaHandler:
    """A function answering Bolt-signed POSTs on `path` for the given hook events."""
    return signed_function(path, BoltHookEndpoint(hooks, signed_reader()))
