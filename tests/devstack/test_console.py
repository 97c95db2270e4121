"""What `make run` prints (devstack/console.py) from what the recorder keeps of each invocation
(devstack/invocations.py): real handlers with the layer's own Powertools logger and metrics routed through the
recorder, and the lines built from real events (events/)."""

import io
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from bolt_merchant.core import observability

from devstack.console import Console, invocation_line, metric_words, problem_lines
from devstack.invocations import Invocation, Recorder
from tests.support import HookFunction, load_event, signed_event

LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3}  (?P<function>\S+) +(?P<what>.+?)  +(?P<rest>.*?)\s+(?P<ms>\d+) ms$")
STARTED = datetime(2026, 1, 1, 14, 2, 11, 482000, tzinfo=UTC)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """A recorder with the layer's logger and metrics routed through it, as the local stack installs it."""
    handler = observability.logger.registered_handler
    original = handler.stream
    recorder = Recorder(passthrough=io.StringIO())
    recorder.install(observability.logger, observability.metrics)
    try:
        yield recorder
    finally:
        handler.setStream(original)
        del observability.metrics.add_metric  # the instance attribute install() set: Powertools' own again


def shown(recorder: Recorder, mode: str = "lines") -> io.StringIO:
    out = io.StringIO()
    recorder.listeners.append(Console(mode, out).show)
    return out


def fields(line: str) -> dict[str, str]:
    match = LINE.match(line)
    assert match is not None, line
    return {name: value.strip() for name, value in match.groupdict().items()}


# ---------------------------------------------------------------- requests, through the real handlers
def test_a_webhook_is_one_line_with_its_type_status_result_and_time(
    hook_function: Callable[[str], HookFunction], recorder: Recorder
) -> None:
    out = shown(recorder)
    webhook = hook_function("credit_card_webhook")
    event = load_event("credit_card_webhook/credit_card_deleted.json")

    for _ in range(2):
        recorder.run("CreditCardWebhookFunction", event, lambda: webhook(event))

    first, again = out.getvalue().splitlines()
    assert fields(first) | {"ms": "-"} == {
        "function": "CreditCardWebhook",
        "what": "credit_card_deleted",
        "rest": "200  applied",
        "ms": "-",
    }
    assert fields(again)["rest"] == "200  duplicate"
    assert "{" not in out.getvalue()  # no JSON log line, no EMF blob


def test_a_refused_signature_says_why_and_the_json_mode_adds_the_functions_log_lines(
    hook_function: Callable[[str], HookFunction], recorder: Recorder
) -> None:
    out = shown(recorder, "json")
    shipping = hook_function("shipping")
    event = signed_event("shipping", b"{}", secret="not-the-secret")

    recorder.run("ShippingFunction", event, lambda: shipping(event))

    logged, line = out.getvalue().splitlines()
    assert json.loads(logged)["signature"] == "no match"
    assert fields(line) | {"ms": "-"} == {
        "function": "Shipping",
        "what": "POST /bolt/shipping",
        "rest": "401  signature no match",
        "ms": "-",
    }


def test_metrics_and_log_lines_go_to_the_invocation_of_their_own_thread(recorder: Recorder) -> None:
    seen: list[Invocation] = []
    recorder.listeners.append(seen.append)
    barrier = threading.Barrier(2)

    def work(name: str) -> dict[str, Any]:
        barrier.wait()
        observability.logger.info(f"{name} working")
        observability.metrics.add_metric(name=f"{name}Counted", unit="Count", value=1)
        barrier.wait()
        return {}

    threads = [threading.Thread(target=recorder.run, args=(n, {}, lambda n=n: work(n))) for n in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    observability.logger.info("between invocations")

    by_function = {invocation.function_id: invocation for invocation in seen}
    assert {name: [log["message"] for log in inv.logs()] for name, inv in by_function.items()} == {
        "A": ["A working"],
        "B": ["B working"],
    }
    assert {name: dict(inv.metrics) for name, inv in by_function.items()} == {
        "A": {"ACounted": 1},
        "B": {"BCounted": 1},
    }
    assert "between invocations" in recorder.passthrough.getvalue()  # type: ignore[union-attr]


def test_a_failing_listener_changes_nothing_about_the_invocation(
    recorder: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(invocation: Invocation) -> None:
        raise ValueError("display bug")

    recorder.listeners.append(broken)

    assert recorder.run("Fn", {}, lambda: {"statusCode": 200}) == {"statusCode": 200}
    assert "display bug" in capsys.readouterr().err


# ---------------------------------------------------------------- batches and schedules, from events/
def invocation(event: dict[str, Any], result: Any = None, **kwargs: Any) -> Invocation:
    return Invocation("FulfilmentFunction", event, started=STARTED, result=result, ms=12.4, **kwargs)


def test_a_consumer_batch_names_its_events_and_what_the_function_counted() -> None:
    event = load_event("fulfilment/sqs_batch.json")

    line = invocation_line(invocation(event, {"batchItemFailures": []}, metrics=Counter({"FulfilmentSubmitted": 1})))

    assert line == (
        "14:02:11.482  Fulfilment          queue FulfilmentQueue BO-DEMO000001: order.authorized"
        "       fulfilment submitted               12 ms"
    )


def test_a_stream_batch_with_a_record_handed_back_says_so() -> None:
    event = load_event("outbox_publisher/stream_batch.json")
    failures = {"batchItemFailures": [{"itemIdentifier": "1"}]}

    line = invocation_line(
        Invocation("OutboxPublisherFunction", event, STARTED, failures, metrics=Counter({"OutboxSendFailed": 1}))
    )

    assert fields(line)["function"] == "OutboxPublisher"
    assert fields(line)["what"] == "stream OrdersTable BO-DEMO000001: order.authorized"
    assert fields(line)["rest"] == "outbox send failed; 1 handed back"


def test_a_schedule_and_a_crash() -> None:
    scheduled = invocation_line(
        Invocation("ReconcilerFunction", {}, STARTED, {}, metrics=Counter({"ReconcileUnchanged": 3}))
    )
    crashed = invocation_line(
        Invocation("ShippingFunction", load_event("shipping/universal_valid.json"), STARTED, error=KeyError("x"))
    )

    assert fields(scheduled)["what"] == "schedule"
    assert fields(scheduled)["rest"] == "reconcile unchanged x3"
    assert fields(crashed)["rest"] == "502  crashed: KeyError"


def test_warnings_and_errors_follow_their_line_with_the_reason_only() -> None:
    logs = [
        {"level": "INFO", "message": "bolt request answered"},
        {"level": "WARNING", "message": "request failed", "reason": "Bolt secrets could not be read", "x": "hidden"},
        {"level": "ERROR", "message": "boom", "exception_name": "ValueError", "exception": "Traceback ..."},
    ]

    lines = problem_lines(invocation({}, log_lines=[json.dumps(log) for log in logs]))

    assert [line.strip() for line in lines] == [
        "warning: request failed (Bolt secrets could not be read)",
        "error: boom (ValueError)",
    ]


def test_metric_names_read_as_words() -> None:
    assert metric_words({"OutboxEventPublished": 2, "DuplicateSuppressed": 1}) == (
        "outbox event published x2, duplicate suppressed"
    )
