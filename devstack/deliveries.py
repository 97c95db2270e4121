"""What the local stack received from Bolt (or from anyone posting to a /bolt/ route): the last MAX_DELIVERIES hook
and webhook requests, each with its exact body bytes and headers, what it was answered and what came of it.

Local only: kept in the stack's memory (a Recorder listener, devstack/invocations.py) and served by its front door,
never by a deployed function. The Bolt simulator's tools read it (devstack/simulator/tools.py):

    GET /_local/deliveries[?after=<id>]   {"deliveries": [{id, received_at, kind, method, path, event, status, result,
                                           ms}, ...]}, oldest first (after: only those received since that one)
    GET /_local/deliveries/<id>           the same with "headers" and "body_base64": what resending needs
"""

import base64
import json
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from devstack.console import answer_outcome
from devstack.invocations import Invocation

MAX_DELIVERIES = 200
BOLT_PREFIX = "/bolt/"


@dataclass(frozen=True)
class Delivery:
    id: int
    received_at: str
    kind: str  # "webhook" or "hook"
    method: str
    path: str
    event: str | None  # the Bolt event or webhook type, when the function read one
    status: int  # 502 when the function crashed
    result: str
    ms: float
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)

    def summary(self) -> dict[str, Any]:
        return {name: value for name, value in asdict(self).items() if name not in ("headers", "body")}

    def detail(self) -> dict[str, Any]:
        return {**self.summary(), "headers": self.headers, "body_base64": base64.b64encode(self.body).decode()}


def raw_body(event: Mapping[str, Any]) -> bytes:
    """The exact bytes the request carried (API Gateway hands non-UTF-8 bodies over base64-encoded)."""
    body = event.get("body") or ""
    return base64.b64decode(body) if event.get("isBase64Encoded") else str(body).encode("utf-8")


def _json(status: int, document: Any) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(document)}


class DeliveryLog:
    """A Recorder listener keeping the last MAX_DELIVERIES /bolt/ requests, and the /_local/deliveries routes."""

    def __init__(self, size: int = MAX_DELIVERIES) -> None:
        self._deliveries: deque[Delivery] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._next = 1

    def record(self, invocation: Invocation) -> None:
        event = invocation.event
        path = str(event.get("path") or "")
        if "httpMethod" not in event or not path.startswith(BOLT_PREFIX):
            return
        answered = next((log for log in invocation.logs() if log.get("message") == "bolt request answered"), {})
        result = invocation.result if invocation.error is None and isinstance(invocation.result, Mapping) else {}
        status = int(result.get("statusCode") or 502)
        try:
            body = json.loads(result.get("body") or "null")
        except ValueError:
            body = None
        with self._lock:
            self._deliveries.append(
                Delivery(
                    id=self._next,
                    received_at=invocation.started.isoformat(timespec="milliseconds"),
                    kind="webhook" if path.startswith(f"{BOLT_PREFIX}webhooks/") else "hook",
                    method=str(event["httpMethod"]),
                    path=path,
                    event=answered.get("bolt_event"),
                    status=status,
                    result=answer_outcome(status, body, answered) if result else "crashed",
                    ms=round(invocation.ms, 1),
                    headers=dict(event.get("headers") or {}),
                    body=raw_body(event),
                )
            )
            self._next += 1

    def since(self, after: int = 0) -> list[Delivery]:
        with self._lock:
            return [delivery for delivery in self._deliveries if delivery.id > after]

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """The /_local/deliveries routes, answered as a Lambda proxy result."""
        wanted = (event.get("pathParameters") or {}).get("delivery_id")
        if wanted is None:
            after = str((event.get("queryStringParameters") or {}).get("after", "0"))
            if not after.isdigit():
                return _json(400, {"message": "after must be a delivery id"})
            return _json(200, {"deliveries": [delivery.summary() for delivery in self.since(int(after))]})
        found = [delivery for delivery in self.since() if str(delivery.id) == wanted]
        if not found:
            return _json(404, {"message": f"no delivery {wanted[:20]} (only the last {self._deliveries.maxlen} kept)"})
        return _json(200, found[0].detail())
