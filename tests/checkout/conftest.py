"""Fixtures for the checkout hooks: the functions, the demo cart stored first, and Bolt's API faked over HTTP.

No network: any socket is an error, unless a test opts in with pytest-socket's `@pytest.mark.enable_socket` or
`@pytest.mark.allow_hosts([...])` markers (the fake Bolt API is on 127.0.0.1)."""

import functools
import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from bolt_merchant.bolt import api as storefront_http
from bolt_merchant.bolt.api import BoltApiClient
from bolt_merchant.bolt.secrets import api_key
from bolt_merchant.checkout.carts import StoredCart
from bolt_merchant.core import settings as wiring
from bolt_merchant.core.settings import settings

from tests import seed
from tests.support import (
    AwsStack,
    HookFunction,
    no_network,  # noqa: F401 - the autouse network guard, applied to this folder
)


@pytest.fixture
def order_create(hook_function: Callable[[str], HookFunction]) -> HookFunction:
    return hook_function("order_create")


@pytest.fixture
def discounts(hook_function: Callable[[str], HookFunction]) -> HookFunction:
    return hook_function("discounts")


@pytest.fixture
def cart_update(hook_function: Callable[[str], HookFunction]) -> HookFunction:
    return hook_function("cart_update")


@pytest.fixture
def universal(hook_function: Callable[[str], HookFunction]) -> HookFunction:
    return hook_function("universal")


@pytest.fixture
def storefront(hook_function: Callable[[str], HookFunction]) -> HookFunction:
    return hook_function("storefront")


@pytest.fixture
def transaction_webhook(hook_function: Callable[[str], HookFunction]) -> HookFunction:
    return hook_function("transaction_webhook")


@pytest.fixture
def demo_cart(aws: AwsStack) -> StoredCart:
    """bolt_payloads.DEMO_CART_ID, the cart every checkout event in events/ refers to."""
    return seed.seed_cart(aws)


# ---------------------------------------------------------------- Bolt's API at the HTTP boundary


@dataclass
class BoltRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeBoltApi:
    """POST /v1/merchant/orders on 127.0.0.1: answers from a script (status, body, headers), then with a token.

    Every request is recorded with its headers and JSON body; `sleeps` records the client's back-off pauses
    (the client is given this list's append as its sleep, so retries cost no wall time)."""

    url: str = ""
    requests: list[BoltRequest] = field(default_factory=list)
    script: deque[tuple[int, Any, dict[str, str]]] = field(default_factory=deque)
    sleeps: list[float] = field(default_factory=list)
    deployed_factory: Any = None  # the storefront's bolt_api as deployed, before the fixture replaced it

    def then(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> "FakeBoltApi":
        self.script.append((status, body, headers or {}))
        return self

    def answer(self, request: BoltRequest) -> tuple[int, Any, dict[str, str]]:
        self.requests.append(request)
        if self.script:
            return self.script.popleft()
        return 200, {"token": f"bolt-token-{len(self.requests)}"}, {}

    @property
    def token_requests(self) -> list[BoltRequest]:
        return [r for r in self.requests if r.path == "/v1/merchant/orders"]


def _handler_for(fake: FakeBoltApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.loads(raw) if raw else None
            status, answer, headers = fake.answer(BoltRequest("POST", self.path, dict(self.headers.items()), body))
            payload = json.dumps(answer).encode() if answer is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def fake_bolt(aws: AwsStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBoltApi]:
    """A fake Bolt API over loopback, configured as the stage's BOLT_API_BASE_URL.

    Tests using it need @pytest.mark.allow_hosts(["127.0.0.1"]). The functions keep their real BoltApiClient and
    requests session; only its sleep is recorded instead of slept (the same client bolt/api.py bolt_api() builds)."""
    fake = FakeBoltApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_port}"
    aws.set_env("BOLT_API_BASE_URL", fake.url)
    wiring.reset()

    @functools.cache
    def bolt_api() -> BoltApiClient:
        return BoltApiClient(settings().bolt_api_base_url, api_key=api_key, sleep=fake.sleeps.append)

    fake.deployed_factory = storefront_http.bolt_api
    monkeypatch.setattr(storefront_http, "bolt_api", bolt_api)
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
