"""Order hand-off to the stage's order management system (OMS) over HTTPS.

POST <endpoint> submits an order, POST <endpoint>/cancellations cancels one; both carry an Idempotency-Key and are
signed (fanout/signing.py: X-Merchant-Timestamp, X-Merchant-Signature over the exact body bytes) with the stage's
OMS signing secret from Secrets Manager. Plain http is refused, except to this machine (the local stack's sink).
Short timeouts and a few retries with backoff and jitter on 429, 5xx and connection failures; whatever is still
failing then raises, so the queue redelivers the message and finally parks it in the DLQ.
"""

import json
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from aws_lambda_powertools.utilities import parameters

from bolt_merchant.core.errors import ConfigurationError, DependencyUnavailable
from bolt_merchant.core.http import Retries
from bolt_merchant.core.settings import settings
from bolt_merchant.fanout.signing import signed_headers

# Plain http only to this machine: the local stack's OMS sink (devstack/oms_sink.py).
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def checked_endpoint(url: str) -> str:
    """The OMS endpoint if hand-offs may go there: https, or http to a loopback address."""
    parts = urlsplit(url)
    if parts.hostname and (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS)):
        return url.rstrip("/")
    raise ConfigurationError("OMS_ENDPOINT_URL must be an https:// URL (plain http only to 127.0.0.1 or localhost)")


def oms_signing_secret() -> str:
    """The stage's OMS signing secret: {"signing_secret": ...} in the secret named OMS_SIGNING_SECRET_NAME, cached
    like the Bolt secret (so a rotated secret is picked up within SECRETS_MAX_AGE_SECONDS)."""
    stage = settings()
    name = stage.require("oms_signing_secret_name")
    try:
        document = parameters.get_secret(name, transform="json", max_age=stage.secrets_max_age_seconds)
    except (parameters.exceptions.GetParameterError, parameters.exceptions.TransformParameterError) as exc:
        raise DependencyUnavailable("OMS signing secret could not be read") from exc
    secret = document.get("signing_secret") if isinstance(document, dict) else None
    if not isinstance(secret, str) or not secret:
        raise ConfigurationError("the OMS signing secret document has no signing_secret")
    return secret


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
        signing_secret: Callable[[], str],
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (3.05, 8.0),
        max_attempts: int = 3,
        backoff_seconds: float = 0.5,
        cooldown_seconds: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._endpoint = checked_endpoint(endpoint_url)
        self._signing_secret = signing_secret
        self._wall_clock = wall_clock
        self._session = session or requests.Session()
        self._timeout = timeout
        self._retries = Retries(max_attempts, backoff_seconds, sleep)
        self._cooldown = cooldown_seconds
        self._clock = clock
        self._down_until = 0.0

    def submit(self, order: Mapping[str, Any], idempotency_key: str) -> None:
        self._post(self._endpoint, order, idempotency_key)

    def cancel(self, cancellation: Mapping[str, Any], idempotency_key: str) -> None:
        self._post(f"{self._endpoint}/cancellations", cancellation, idempotency_key)

    def _post(self, url: str, body: Mapping[str, Any], idempotency_key: str) -> None:
        # After an outage was confirmed, fail the rest of the batch fast instead of spending a retry cycle on
        # every message: the function's timeout is sized for one cycle per invocation.
        if self._clock() < self._down_until:
            raise OmsUnavailable("OMS failed moments ago; not retrying yet")
        payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
        secret = self._signing_secret()

        def attempt() -> requests.Response:
            # Signed again on every attempt: a retry carries its own send time, over the same bytes.
            headers = {
                "Content-Type": "application/json",
                "Idempotency-Key": idempotency_key,
                **signed_headers(secret, payload, self._wall_clock()),
            }
            return self._session.post(url, data=payload, headers=headers, timeout=self._timeout, allow_redirects=False)

        response, last_failure = self._retries.send(attempt)
        if response is not None:
            if response.status_code >= 300:
                raise OmsRejected(response.status_code)
            return
        self._down_until = self._clock() + self._cooldown
        raise OmsUnavailable(f"OMS failed after {self._retries.max_attempts} attempts: {last_failure}")
