"""Calls to Bolt's API (reference §1, §5): API key, a fresh X-Nonce per attempt, Idempotency-Key on retried
POSTs, short timeouts, and retries with backoff and jitter on 429, 5xx and connection failures.

The retries are core/http.py's, which loads requests: callers import this module on first use, so only a request
that calls Bolt loads it.
"""

import json
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import requests

from bolt_merchant.bolt.secrets import api_key
from bolt_merchant.core.errors import (
    BoltAccessDenied,
    BoltApiError,
    BoltBusy,
    BoltNotFound,
    BoltRefused,
    BoltUnavailable,
)
from bolt_merchant.core.http import Retries
from bolt_merchant.core.settings import per_container, settings

_TYPED_ERRORS: dict[int, type[BoltApiError]] = {
    400: BoltRefused,
    422: BoltRefused,
    409: BoltBusy,
    404: BoltNotFound,
    401: BoltAccessDenied,
    403: BoltAccessDenied,
}


def typed_error(error: BoltApiError) -> BoltApiError:
    """The most specific BoltApiError for the status Bolt answered (the same object when there is none)."""
    kind = _TYPED_ERRORS.get(error.status)
    if kind is None or isinstance(error, kind):
        return error
    return kind(error.status, error.bolt_code, error.bolt_message)


def _error_from(response: requests.Response) -> BoltApiError:
    code: int | None = None
    message = response.reason or "error"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            code = first.get("code") if isinstance(first.get("code"), int) else None
            message = str(first.get("message", message))[:300]
    return BoltApiError(response.status_code, code, message)


class BoltApiClient:
    def __init__(
        self,
        base_url: str,
        api_key: Callable[[], str],
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (3.05, 10.0),
        max_attempts: int = 4,
        backoff_seconds: float = 0.25,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._session = session or requests.Session()
        self._timeout = timeout
        self._retries = Retries(max_attempts, backoff_seconds, sleep)

    def request(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        url = f"{self._base_url}{path}"
        payload = json.dumps(body).encode("utf-8") if body is not None else None

        def attempt() -> requests.Response:
            headers = {
                "X-Api-Key": self._api_key(),
                "X-Nonce": uuid.uuid4().hex,
                "Content-Type": "application/json",
                "Accept": "application/json",
            }
            if idempotency_key:
                headers["Idempotency-Key"] = idempotency_key
            return self._session.request(
                method, url, data=payload, headers=headers, timeout=self._timeout, allow_redirects=False
            )

        response, last_failure = self._retries.send(attempt)
        if response is not None:
            if response.status_code >= 300:
                raise _error_from(response)
            return response.json() if response.content else {}
        raise BoltUnavailable(
            f"Bolt API {method} {path} failed after {self._retries.max_attempts} attempts: {last_failure}"
        )

    def create_order_token(self, order_request: dict[str, Any]) -> str:
        """POST /v1/merchant/orders: the token the storefront hands to Bolt's checkout button."""
        response = self.request("POST", "/v1/merchant/orders", order_request)
        token = response.get("token")
        if not isinstance(token, str) or not token:
            raise BoltApiError(200, None, "order token missing from Bolt's answer")
        return token

    # ------------------------------------------------------------ Transactions API (reference §5.2-§5.9)
    # Merchant-initiated actions: an Idempotency-Key on every POST (the caller derives it from its own operation
    # key, so a retry after a timeout is a replay on Bolt's side) and skip_hook_notification, because the caller
    # records the result itself and the echo webhook would only repeat it.

    def transaction(self, reference: str) -> dict[str, Any]:
        """GET /v1/merchant/transactions/{reference}: the authoritative transaction (BoltNotFound: Bolt does not
        know it)."""
        try:
            return self.request("GET", f"/v1/merchant/transactions/{quote(reference, safe='')}")
        except BoltApiError as exc:
            error = typed_error(exc)
            if error is exc:
                raise
            raise error from exc

    def capture(
        self,
        reference: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        merchant_event_id: str | None = None,
    ) -> dict[str, Any]:
        """POST /v1/merchant/transactions/capture: the transaction, with its `captures`, after this one."""
        body = {"amount": amount, "currency": currency}
        return self._merchant_action("capture", reference, body, idempotency_key, merchant_event_id)

    def credit(
        self,
        reference: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        merchant_event_id: str | None = None,
    ) -> dict[str, Any]:
        """POST /v1/merchant/transactions/credit: the new cc_credit transaction (the refund)."""
        body = {"amount": amount, "currency": currency}
        return self._merchant_action("credit", reference, body, idempotency_key, merchant_event_id)

    def void(self, reference: str, idempotency_key: str, merchant_event_id: str | None = None) -> dict[str, Any]:
        """POST /v1/merchant/transactions/void: the transaction, cancelled."""
        return self._merchant_action("void", reference, {}, idempotency_key, merchant_event_id)

    def review(self, reference: str, decision: str, idempotency_key: str) -> dict[str, Any]:
        """POST /v1/merchant/transactions/review: approve or reject a reversibly rejected payment (§5.6)."""
        body = {"transaction_reference": reference, "decision": decision}
        return self._transaction_action("/v1/merchant/transactions/review", body, idempotency_key)

    def _merchant_action(
        self,
        action: str,
        reference: str,
        fields: Mapping[str, Any],
        idempotency_key: str,
        merchant_event_id: str | None,
    ) -> dict[str, Any]:
        body = {
            "transaction_reference": reference,
            **fields,
            "skip_hook_notification": True,
            **({"merchant_event_id": merchant_event_id} if merchant_event_id else {}),
        }
        return self._transaction_action(f"/v1/merchant/transactions/{action}", body, idempotency_key)

    def track_shipment(
        self,
        reference: str,
        carrier: str,
        tracking_number: str,
        items: list[dict[str, Any]],
        idempotency_key: str,
    ) -> dict[str, Any]:
        """POST /v1/merchant/track_shipment. Not a transaction action: no webhook to skip, so the spec's body only."""
        body = {
            "transaction_reference": reference,
            "tracking_number": tracking_number,
            "carrier": carrier,
            "items": items,
            "is_non_bolt_order": False,
        }
        return self._transaction_action("/v1/merchant/track_shipment", body, idempotency_key)

    def _transaction_action(self, path: str, body: Mapping[str, Any], idempotency_key: str) -> dict[str, Any]:
        """One idempotent POST. A 409 means Bolt is still running an earlier request with this key (ours, timed out
        on our side): it is waited for briefly, then reported as BoltBusy."""
        pauses = iter(_CONCURRENT_REQUEST_PAUSES)
        while True:
            try:
                return self.request("POST", path, body, idempotency_key=idempotency_key)
            except BoltApiError as exc:
                error = typed_error(exc)
                pause = next(pauses, None) if isinstance(error, BoltBusy) else None
                if pause is None:
                    if error is exc:
                        raise
                    raise error from exc
            self._retries.sleep(pause)


# Waits before asking again while Bolt answers 409 for the same Idempotency-Key.
_CONCURRENT_REQUEST_PAUSES = (0.5, 1.0)


# Bolt calls made while an operator waits behind API Gateway's 29 s limit: 3 attempts of at most ~8 s each.
BACKOFFICE_BOLT_TIMEOUT = (3.05, 5.0)
BACKOFFICE_BOLT_ATTEMPTS = 3


@per_container
def bolt_api() -> BoltApiClient:
    """For the storefront's order tokens."""
    return BoltApiClient(settings().bolt_api_base_url, api_key=api_key)


@per_container
def backoffice_bolt_api() -> BoltApiClient:
    """For operator actions: shorter, since an operator waits behind API Gateway."""
    return BoltApiClient(
        settings().bolt_api_base_url,
        api_key=api_key,
        timeout=BACKOFFICE_BOLT_TIMEOUT,
        max_attempts=BACKOFFICE_BOLT_ATTEMPTS,
    )
