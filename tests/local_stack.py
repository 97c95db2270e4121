"""The local stack as the end-to-end tests run and call it: the environment they start it with (through
devstack.process.stack_process), where its services listen, JSON requests to it (Bolt-signed with devstack's default
secret where asked) and a client for its API and its fake Bolt API.
"""

import http.client
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bolt_merchant.bolt.signed import SIGNATURE_HEADER

from devstack.bolt_payloads import sign
from devstack.process import environment_with_default_secrets
from devstack.settings import DEFAULT_SIGNING_SECRET

# Ports a developer may have fixed for `make run`: the stacks of several test modules can run at once.
SERVICE_PORTS = ("FAKE_BOLT_PORT", "MOTO_PORT", "LOCAL_OMS_PORT")

# Where the stack's services listen, as it prints them when it starts (devstack/fake_bolt.py, devstack/__main__.py).
FAKE_BOLT_URL = re.compile(r"^fake Bolt API on (\S+)$")
EMBEDDED_AWS_URL = re.compile(r"^  embedded AWS +(http://\S+)")
OMS_SINK_URL = re.compile(r"^  OMS sink +(http://[^/\s]+)")
SF_ADDRESS = {  # taxed at 7.25%, near the demo catalog's pickup store
    "street_address1": "1 Market St",
    "locality": "San Francisco",
    "region": "CA",
    "postal_code": "94102",
    "country_code": "US",
}
REQUEST_TIMEOUT_SECONDS = 60  # a back-office call may wait out the fake Bolt's injected faults and retries
FANOUT_TIMEOUT_SECONDS = 20  # for the pollers and consumers to act on what a request wrote


def stack_environment(*dropped: str, **settings: str) -> dict[str, str]:
    """os.environ for a test's stack, plus `settings`: without a developer's own Bolt secrets (the tests sign with
    devstack's defaults), fixed service ports, or the `dropped` variables."""
    return {**environment_with_default_secrets(*SERVICE_PORTS, *dropped), **settings}


def wait_for[T](what: str, probe: Callable[[], T | None], timeout: float = FANOUT_TIMEOUT_SECONDS) -> T:
    """probe()'s first truthy answer, asked every 0.1 s; AssertionError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout}s")


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any  # the JSON answer, None when empty
    headers: dict[str, str]


def request(
    base_url: str, method: str, path: str, body: Any = None, headers: Mapping[str, str | bytes] | None = None
) -> Reply:
    """One request: `body` as JSON (bytes are sent as they are), headers as given (http.client lets a test send
    bytes that urllib would refuse)."""
    url = urlsplit(base_url)
    raw = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        connection.request(method, path, body=raw, headers={"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        text = response.read()
        return Reply(response.status, json.loads(text) if text else None, dict(response.getheaders()))
    finally:
        connection.close()


def post_signed(base_url: str, path: str, payload: Any, secret: str = DEFAULT_SIGNING_SECRET) -> Reply:
    """A Bolt hook call: the exact bytes sent, signed with `secret`."""
    raw = json.dumps(payload).encode()
    return request(base_url, "POST", path, raw, {SIGNATURE_HEADER: sign(raw, secret)})


@dataclass(frozen=True)
class StackClient:
    """The stack's API, called as the storefront, an operator and Bolt do, and its fake Bolt API's control routes."""

    api: str
    bolt: str

    def call(self, method: str, path: str, body: Any = None, key: str | None = None) -> Reply:
        """Unsigned (storefront and back office), with `key` as the Idempotency-Key if given."""
        return request(self.api, method, path, body, {"Idempotency-Key": key} if key else None)

    def signed(self, path: str, payload: Any) -> Reply:
        return post_signed(self.api, path, payload)

    def fake(self, method: str, path: str, body: Any = None) -> Any:
        """The fake Bolt API's answer to a /_fake/... call, which must succeed."""
        reply = request(self.bolt, method, path, body)
        assert reply.status == 200, reply
        return reply.body
