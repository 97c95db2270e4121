"""Calls to other HTTP services (Bolt's API, the OMS): a few attempts, with backoff and jitter, on 429, 5xx,
connection failures and timeouts; any other answer is returned at once.

The loop is ours rather than urllib3's Retry because each attempt builds its own request: Bolt wants a fresh nonce
per attempt, the OMS a fresh signature time. This module imports requests, so only the clients that use it load
it (on first use), and X-Ray traces requests' calls from then on.
"""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from bolt_merchant.core.observability import trace_requests

trace_requests()

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_MAX_RETRY_AFTER_SECONDS = 5.0


@dataclass(frozen=True)
class Retries:
    max_attempts: int
    backoff_seconds: float
    sleep: Callable[[float], None] = time.sleep

    def send(self, attempt: Callable[[], requests.Response]) -> tuple[requests.Response | None, str]:
        """(the first answer that is not worth retrying, "") or (None, what the last attempt ran into)."""
        last_failure = "no attempt made"
        for number in range(self.max_attempts):
            retry_after = None
            try:
                response = attempt()
            except (requests.ConnectionError, requests.Timeout) as exc:
                last_failure = type(exc).__name__
            else:
                if response.status_code not in RETRYABLE_STATUS:
                    return response, ""
                last_failure = f"HTTP {response.status_code}"
                retry_after = response.headers.get("Retry-After")
            if number + 1 < self.max_attempts:
                self._pause(number, retry_after)
        return None, last_failure

    def _pause(self, number: int, retry_after: str | None) -> None:
        delay = self.backoff_seconds * 2**number * (0.5 + random.random())  # noqa: S311 - jitter, not cryptography
        if retry_after and retry_after.isdigit():
            delay = max(delay, min(float(retry_after), _MAX_RETRY_AFTER_SECONDS))
        self.sleep(delay)
