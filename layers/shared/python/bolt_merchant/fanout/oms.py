"""Order hand-off to the stage's order management system (OMS) over HTTPS.

POST <endpoint> submits an order, POST <endpoint>/cancellations cancels one; both carry an Idempotency-Key.
Short timeouts and a few retries with backoff and jitter on 429, 5xx and connection failures; whatever is still
failing then raises, so the queue redelivers the message and finally parks it in the DLQ.
"""

import json
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from bolt_merchant.core.errors import DependencyUnavailable

_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


_MAX_RETRY_AFTER_SECONDS = 5.0


class OmsUnavailable(DependencyUnavailable):
    """The OMS kept failing (5xx, 429, timeouts) after every retry, or did so moments ago."""


class OmsRejected(Exception):
    """The OMS refused the request (4xx other than 429). Only the status: OMS answers may echo the order."""

    def __init__(self, status: int) -> None:
        super().__init__(f"OMS answered {status}")
        self.status = status


class OmsClient:
    def __init__(
        self,
        endpoint_url: str,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (3.05, 8.0),
        max_attempts: int = 3,
        backoff_seconds: float = 0.5,
        cooldown_seconds: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._endpoint = endpoint_url.rstrip("/")
        self._session = session or requests.Session()
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._cooldown = cooldown_seconds
        self._sleep = sleep
        self._clock = clock
        self._down_until = 0.0

    def submit(self, order: Mapping[str, Any], idempotency_key: str) -> None:
        self._post(self._endpoint, order, idempotency_key)

    def cancel(self, cancellation: Mapping[str, Any], idempotency_key: str) -> None:
        self._post(f"{self._endpoint}/cancellations", cancellation, idempotency_key)

    def _pause(self, attempt: int, retry_after: str | None) -> None:
        delay = self._backoff * 2**attempt * (0.5 + random.random())  # noqa: S311 - jitter, not cryptography
        if retry_after and retry_after.isdigit():
            delay = max(delay, min(float(retry_after), _MAX_RETRY_AFTER_SECONDS))
        self._sleep(delay)

    def _post(self, url: str, body: Mapping[str, Any], idempotency_key: str) -> None:
        # After an outage was confirmed, fail the rest of the batch fast instead of spending a retry cycle on
        # every message: the function's timeout is sized for one cycle per invocation.
        if self._clock() < self._down_until:
            raise OmsUnavailable("OMS failed moments ago; not retrying yet")
        payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key}
        last_failure = "no attempt made"
        for attempt in range(self._max_attempts):
            retry_after = None
            try:
                response = self._session.post(
                    url, data=payload, headers=headers, timeout=self._timeout, allow_redirects=False
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                last_failure = type(exc).__name__
            else:
                if response.status_code < 300:
                    return
                if response.status_code not in _RETRYABLE_STATUS:
                    raise OmsRejected(response.status_code)
                last_failure = f"HTTP {response.status_code}"
                retry_after = response.headers.get("Retry-After")
            if attempt + 1 < self._max_attempts:
                self._pause(attempt, retry_after)
        self._down_until = self._clock() + self._cooldown
        raise OmsUnavailable(f"OMS failed after {self._max_attempts} attempts: {last_failure}")
