"""HTTP to the merchant backend as Bolt and the storefront reach it, and the timeline every answer is recorded in."""

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import requests

from devstack.bolt_payloads import bolt_headers, legacy, php_style_json, universal

Routes = Literal["universal", "split"]
OrderViewMode = Literal["auto", "sigv4", "off"]

# Bolt's per-hook callback URLs (README "Routes"); universal mode sends every hook to /bolt/universal.
HOOK_PATHS = {
    "order.shipping": "/bolt/shipping",
    "order.tax": "/bolt/tax",
    "order.shipping_and_tax": "/bolt/shipping-and-tax",
    "discounts.code.apply": "/bolt/discounts/apply",
    "order.create": "/bolt/order/create",
    "cart.update": "/bolt/cart/update",
}
UNIVERSAL_PATH = "/bolt/universal"
WEBHOOK_PATH = "/bolt/webhooks/transaction"
DEFAULT_TIMEOUT_SECONDS = 15.0


class Aborted(Exception):
    """The checkout cannot go on (an answer it depends on was wrong); the problem is already on the timeline."""


def dig(value: Any, *path: str) -> Any:
    """value[path[0]][path[1]]..., or None where a level is missing or not an object."""
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no HTTP answer (connection refused, timeout)
    body: Any
    ms: float
    error: str | None = None

    def field(self, *path: str) -> Any:
        return dig(self.body, *path)

    @property
    def failure(self) -> str:
        """Bolt-shaped failure as 'code: message', or whatever the body says."""
        error = self.field("error")
        if isinstance(error, Mapping):
            return f"{error.get('code')}: {error.get('message')}"
        errors = self.field("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
            return f"{errors[0].get('code')}: {errors[0].get('message')}"
        if self.error:
            return self.error
        return json.dumps(self.body)[:200] if self.body is not None else "(empty body)"


@dataclass
class Step:
    name: str
    status: int | None = None
    ms: float = 0.0
    facts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def fact(self, text: str) -> None:
        self.facts.append(text)

    def check(self, condition: bool, problem: str) -> bool:
        if not condition:
            self.problems.append(problem)
        return condition

    def need(self, value: Any, what: str) -> Any:
        """The value, or a problem and an abort when the answer lacks it."""
        if value is None:
            self.problems.append(f"answer has no {what}")
            raise Aborted(what)
        return value


@dataclass
class Timeline:
    """One checkout's steps, in order, with what was checked."""

    title: str
    steps: list[Step] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None
    final_order: dict[str, Any] | None = None
    order_id: str | None = None

    def step(self, name: str, answer: Answer | None = None) -> Step:
        step = Step(name)
        if answer is not None:
            step.status = answer.status
            step.ms = answer.ms
        self.steps.append(step)
        return step

    def note(self, name: str, text: str) -> Step:
        step = self.step(name)
        step.fact(text)
        return step

    @property
    def problems(self) -> list[str]:
        return [f"{step.name}: {problem}" for step in self.steps for problem in step.problems]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def seconds(self) -> float:
        return (self.finished or time.perf_counter()) - self.started


def expect_status(step: Step, answer: Answer, expected: int) -> None:
    """Abort unless the status is the expected one: later steps depend on it."""
    if answer.status != expected:
        detail = answer.error or answer.failure
        step.problems.append(f"HTTP {answer.status or 'no answer'}, expected {expected} ({detail})")
        raise Aborted(step.name)


Signer = Callable[[str, str], dict[str, str]]  # (method, url) -> extra headers


class Target:
    """A merchant backend at base_url. Not thread-safe (one requests.Session): one Target per thread."""

    def __init__(
        self,
        base_url: str,
        secret: str,
        pending_secret: str | None = None,
        *,
        session: requests.Session | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        routes: Routes = "universal",
        order_view: OrderViewMode = "auto",
        order_view_signer: Signer | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.pending_secret = pending_secret
        self.session = session or requests.Session()
        self.timeout = timeout
        self.routes = routes
        self.order_view = order_view
        self.order_view_signer = order_view_signer
        self.order_view_unavailable: str | None = "disabled (--order-view off)" if order_view == "off" else None

    # ------------------------------------------------------------ transport
    def send(
        self, method: str, path: str, raw: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> Answer:
        url = self.base_url + path
        started = time.perf_counter()
        try:
            response = self.session.request(method, url, data=raw, headers=dict(headers or {}), timeout=self.timeout)
        except requests.RequestException as exc:
            return Answer(0, None, (time.perf_counter() - started) * 1000, f"{type(exc).__name__}: {exc}"[:300])
        ms = (time.perf_counter() - started) * 1000
        try:
            body: Any = response.json() if response.content else None
        except ValueError:
            body = response.text[:300]
        return Answer(response.status_code, body, ms)

    def signed(self, path: str, payload: Any, trace_id: str) -> Answer:
        raw = php_style_json(payload)
        return self.send("POST", path, raw, bolt_headers(raw, self.secret, self.pending_secret, trace_id))

    # ------------------------------------------------------------ what Bolt calls
    def hook(self, event: str, data: Mapping[str, Any], trace_id: str) -> tuple[Answer, Any]:
        """A Merchant Callback; returns the answer and its data (the universal `data`, or the legacy body)."""
        if self.routes == "universal":
            answer = self.signed(UNIVERSAL_PATH, universal(event, data), trace_id)
            return answer, answer.field("data")
        answer = self.signed(HOOK_PATHS[event], legacy(event, data), trace_id)
        body = answer.body if isinstance(answer.body, Mapping) else None
        return answer, ({k: v for k, v in body.items() if k != "status"} if body is not None else None)

    def webhook(self, envelope: Mapping[str, Any], trace_id: str) -> Answer:
        return self.signed(WEBHOOK_PATH, envelope, trace_id)

    # ------------------------------------------------------------ what the storefront and the operator call
    def storefront(self, path: str, body: Any = None) -> Answer:
        raw = php_style_json(body) if body is not None else b""
        return self.send("POST", path, raw, {"Content-Type": "application/json"})

    def operate(self, method: str, path: str, body: Any = None, key: str | None = None) -> Answer:
        """A back-office call (/orders/...), as an operator makes it: JSON, an Idempotency-Key if given, SigV4 when
        the order view is signed."""
        raw = php_style_json(body) if body is not None else None
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if key is not None:
            headers["Idempotency-Key"] = key
        if self.order_view == "sigv4" and self.order_view_signer is not None:
            headers |= self.order_view_signer(method, self.base_url + path)
        return self.send(method, path, raw, headers)

    def read_order(self, order_id: str) -> Answer | None:
        """GET /orders/{id} (the back office), or None once it is known to be unreachable for us."""
        if self.order_view_unavailable is not None:
            return None
        path = f"/orders/{order_id}"
        headers = {"Accept": "application/json"}
        if self.order_view == "sigv4" and self.order_view_signer is not None:
            headers |= self.order_view_signer("GET", self.base_url + path)
        answer = self.send("GET", path, None, headers)
        if answer.status == 200 or _is_backoffice_answer(answer):
            return answer
        if self.order_view == "auto" and answer.status in (401, 403, 404):
            # API Gateway's "Missing Authentication Token"/IAM refusal, or a stack without the route.
            self.order_view_unavailable = f"GET /orders answered {answer.status} ({answer.failure})"
            return None
        return answer


def _is_backoffice_answer(answer: Answer) -> bool:
    """The back office's own failures ({"status": "failure", ...}) as opposed to the gateway's {"message": ...}."""
    return bool(answer.field("status") == "failure")


def sigv4_signer(base_url: str, region: str | None) -> Signer:
    """SigV4 for execute-api with the default AWS credential chain (AWS_IAM back-office routes)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.session import get_session

    credentials = get_session().get_credentials()
    if credentials is None:
        raise SystemExit("--order-view sigv4: no AWS credentials found (profile, environment or SSO)")
    host = urlsplit(base_url).hostname or ""
    parts = host.split(".")
    resolved = region or (parts[2] if len(parts) > 3 and parts[1] == "execute-api" else None)
    if not resolved:
        raise SystemExit("--order-view sigv4: cannot tell the region from the URL; pass --region")
    frozen = credentials.get_frozen_credentials()

    def sign(method: str, url: str) -> dict[str, str]:
        request = AWSRequest(method=method, url=url)
        SigV4Auth(frozen, "execute-api", resolved).add_auth(request)
        return {name: str(value) for name, value in request.headers.items()}

    return sign
