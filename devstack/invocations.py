"""Every invocation of a local function, recorded with what it logged and counted, for the console and the delivery
log (devstack/console.py, devstack/deliveries.py).

All functions share one process, so the layer's one Powertools Logger and Metrics serve every thread at once. The
recorder routes them by thread: the logger's handler writes into the recorder, which keeps each line with the
invocation running on the writing thread (lines written outside one go on to the real stdout); the metrics object's
add_metric is replaced by one that counts into that invocation. Metrics are never printed locally (the deployed
stack's EMF blobs are CloudWatch's business), so nothing is published, and nothing piles up in Powertools' metric
set, which it never clears while metrics are disabled.
"""

import json
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO


@dataclass
class Invocation:
    function_id: str  # the template's logical id
    event: dict[str, Any]
    started: datetime = field(default_factory=lambda: datetime.now().astimezone())  # local time, with its offset
    result: Any = None
    error: BaseException | None = None
    ms: float = 0.0
    log_lines: list[str] = field(default_factory=list)  # the function's log lines, as CloudWatch would get them
    metrics: Counter[str] = field(default_factory=Counter)  # metric name -> value counted

    def logs(self) -> list[dict[str, Any]]:
        """The log lines that are JSON objects (Powertools' structured lines), parsed."""
        parsed = []
        for line in self.log_lines:
            try:
                document = json.loads(line)
            except ValueError:
                continue
            if isinstance(document, dict):
                parsed.append(document)
        return parsed


Listener = Callable[[Invocation], None]


class Recorder:
    """Runs invocations (FunctionPool's observer) and tells each listener about every one once it has finished."""

    def __init__(self, passthrough: TextIO | None = None) -> None:
        self.listeners: list[Listener] = []
        self.passthrough = passthrough
        self._local = threading.local()
        self._lock = threading.Lock()

    def install(self, logger: Any, metrics: Any) -> None:
        """Route the layer's Powertools `logger` and `metrics` (bolt_merchant.core.observability) through here."""
        logger.registered_handler.setStream(self)
        metrics.add_metric = self._add_metric
        # Powertools then warns after every invocation that it has nothing to publish: locally it never publishes.
        warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

    def run(self, function_id: str, event: dict[str, Any], call: Callable[[], Any]) -> Any:
        invocation = Invocation(function_id, event)
        self._local.current = invocation
        started = time.perf_counter()
        try:
            invocation.result = call()
            return invocation.result
        except BaseException as exc:
            invocation.error = exc
            raise
        finally:
            invocation.ms = (time.perf_counter() - started) * 1000
            self._local.current = None
            for listener in self.listeners:
                try:
                    listener(invocation)
                except Exception as exc:  # what is shown or kept about an invocation never changes its outcome
                    print(f"local stack: {listener!r} failed on {function_id}: {exc!r}", file=sys.stderr, flush=True)

    # ------------------------------------------------------------ what the layer's logger and metrics call
    def write(self, text: str) -> int:
        current: Invocation | None = getattr(self._local, "current", None)
        if current is not None:
            current.log_lines.extend(line for line in text.splitlines() if line)
        else:
            with self._lock:
                (self.passthrough or sys.stdout).write(text)
        return len(text)

    def flush(self) -> None:
        (self.passthrough or sys.stdout).flush()

    def _add_metric(self, name: str, unit: Any, value: float, resolution: Any = 60) -> None:  # noqa: ARG002
        current: Invocation | None = getattr(self._local, "current", None)
        if current is not None:
            current.metrics[name] += int(value)  # every metric of the layer is a Count
