"""What `make run` prints: one short line per invocation, built from the event, the function's answer and what it
logged and counted (devstack/invocations.py).

  14:02:11.482  TransactionWebhook  capture                                   200  applied BO-X3IRWMZOER           11 ms
  14:02:12.913  Fulfilment          queue FulfilmentQueue BO-X3IRWMZOER: order.captured    fulfilment submitted  85 ms

Requests: the time, the function, the Bolt event (or the method and path), the status and the result (a webhook's
applied/duplicate/held/ignored, a failure's code and message, the order or cart an answer names). Stream and queue
batches and schedules: what they carried (event types and orders, never a payload) and what the function counted.
The function's warnings and errors follow their line, indented. LOG_FORMAT=json prints each function's JSON log
lines (as CloudWatch would get them) before its line. No line holds a body, a header or a log field beyond the
message and its reason.
"""

import json
import os
import re
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from devstack.invocations import Invocation
from devstack.settings import STACK_NAME

LOG_FORMAT_VARIABLE = "LOG_FORMAT"
FUNCTION_WIDTH, WHAT_WIDTH, RESULT_WIDTH = 18, 40, 30
_WORD = re.compile(r"[A-Z][a-z]*|[a-z]+|[0-9]+")
_TABLE = re.compile(r":table/([^/]+)")


def log_format() -> str:
    """'json' (LOG_FORMAT=json: the functions' JSON log lines too) or 'lines' (the default)."""
    return "json" if os.environ.get(LOG_FORMAT_VARIABLE, "").strip().lower() == "json" else "lines"


def short_function(function_id: str) -> str:
    return function_id.removesuffix("Function")


def metric_words(metrics: Mapping[str, int]) -> str:
    """{"OutboxEventPublished": 2, "DuplicateSuppressed": 1} -> 'outbox event published x2, duplicate suppressed'."""
    return ", ".join(
        " ".join(word.lower() for word in _WORD.findall(name)) + (f" x{count}" if count > 1 else "")
        for name, count in metrics.items()
    )


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) and text else None
    except ValueError:
        return None


def _resource(arn: str) -> str:
    """A table's or a queue's short name from its (stream) ARN: ...:table/bolt-merchant-local-OrdersTable/stream/...
    -> OrdersTable, ...:bolt-merchant-local-FulfilmentQueue.fifo -> FulfilmentQueue."""
    table = _TABLE.search(arn)
    name = table.group(1) if table else arn.rsplit(":", maxsplit=1)[-1]
    return name.removeprefix(f"{STACK_NAME}-").removesuffix(".fifo")


def _outbox_event(document: Any) -> str | None:
    """'<event type> <order id>' of an outbox event, or None if the document is not one."""
    if isinstance(document, Mapping) and "event_type" in document and "order_id" in document:
        return f"{document['event_type']} {document['order_id']}"
    return None


def _carried(events: Sequence[str | None], unit: str) -> str:
    """What a batch carried: 'BO-1: order.created, payment.authorized' for one order's events, else a count."""
    known = [event.split(" ") for event in events if event]
    orders = {order for _, order in known}
    if known and len(known) == len(events) and len(orders) == 1:
        return f"{orders.pop()}: {', '.join(kind for kind, _ in known)}"
    return f"{len(events)} {unit}{'s' if len(events) != 1 else ''}" + (f", {len(orders)} orders" if orders else "")


def _short_path(path: str) -> str:
    """Long path segments (cart ids) cut, so the line stays short: /storefront/carts/c_7164734f5e...-token."""
    return "/".join(part if len(part) <= 16 else part[:12] + "..." for part in path.split("/"))


def answer_outcome(status: int, body: Any, answered: Mapping[str, Any]) -> str:
    """What a request's answer says, in a few words, from its body and the function's log line."""
    if status == 401 and answered.get("signature"):
        return f"signature {answered['signature']}"
    if not isinstance(body, Mapping):
        return ""
    error = body.get("error") or (body.get("errors") or [None])[0]
    if isinstance(error, Mapping):
        return f"{error.get('code')} {error.get('message')}"
    if isinstance(body.get("message"), str) and status >= 400:
        return str(body["message"])
    data: Mapping[str, Any] = body["data"] if isinstance(body.get("data"), Mapping) else body
    word = body.get("result") or (body.get("status") if body.get("status") not in ("success", None) else None)
    names = [f"{data[key]}" for key in ("display_id", "order_id") if isinstance(data.get(key), str)][:1]
    if not names and isinstance(data.get("cart_id"), str):
        names = [f"cart {_short_path(data['cart_id'])}"]
    return " ".join(str(part) for part in [word or "ok", *names])


def invocation_line(invocation: Invocation) -> str:
    """One line: time, function, what it was given, status, what came of it, milliseconds."""
    event, result = invocation.event, invocation.result
    status, outcome = "", ""
    if "httpMethod" in event:
        answered = next((log for log in invocation.logs() if log.get("message") == "bolt request answered"), {})
        what = str(answered.get("bolt_event") or f"{event['httpMethod']} {_short_path(str(event.get('path', '')))}")
        if invocation.error is None and isinstance(result, Mapping):
            status = str(result.get("statusCode", ""))
            outcome = answer_outcome(int(result.get("statusCode") or 0), _json(result.get("body")), answered)
    else:
        records = event.get("Records") if isinstance(event.get("Records"), list) else None
        if records is None:
            what = "schedule" if not event else f"schedule {json.dumps(event)[:40]}"
        elif records and records[0].get("eventSource") == "aws:sqs":
            carried = [_outbox_event(_json(record.get("body"))) for record in records]
            what = f"queue {_resource(str(records[0].get('eventSourceARN', '')))} {_carried(carried, 'message')}"
        else:
            docs = [((record.get("dynamodb") or {}).get("NewImage") or {}).get("doc") or {} for record in records]
            carried = [_outbox_event(_json(doc.get("S"))) for doc in docs]
            source = _resource(str(records[0].get("eventSourceARN", ""))) if records else ""
            what = f"stream {source} {_carried(carried, 'record')}"
        outcome = metric_words(invocation.metrics) or "nothing counted"
        failures = result.get("batchItemFailures") if isinstance(result, Mapping) else None
        if failures:
            outcome += f"; {len(failures)} handed back"
    if invocation.error is not None:
        status, outcome = "502" if "httpMethod" in event else "", f"crashed: {type(invocation.error).__name__}"
    time = invocation.started.strftime("%H:%M:%S.%f")[:-3]
    name = short_function(invocation.function_id)
    return (
        f"{time}  {name:<{FUNCTION_WIDTH}}  {what:<{WHAT_WIDTH}}  {status:>3}  {outcome:<{RESULT_WIDTH}}"
        f"  {invocation.ms:5.0f} ms"
    )


def problem_lines(invocation: Invocation) -> list[str]:
    """The function's warnings and errors: level, message and, when given, its reason (never other fields)."""
    lines = []
    for log in invocation.logs():
        level = str(log.get("level", "")).lower()
        if level not in ("warning", "error", "critical"):
            continue
        detail = log.get("reason") or log.get("failure") or log.get("exception_name")
        lines.append(f"{'':14}{level}: {log.get('message')}" + (f" ({detail})" if detail else ""))
    return lines


class Console:
    """Prints each invocation (a Recorder listener), one at a time."""

    def __init__(self, mode: str = "lines", out: TextIO | None = None) -> None:
        self.mode = mode
        self._out = out
        self._lock = threading.Lock()

    def show(self, invocation: Invocation) -> None:
        lines = invocation.log_lines if self.mode == "json" else []
        text = "\n".join([*lines, invocation_line(invocation), *problem_lines(invocation)])
        out = self._out or sys.stdout
        with self._lock:
            out.write(text + "\n")
            out.flush()
