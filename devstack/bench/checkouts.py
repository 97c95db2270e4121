"""Throughput of the local stack: full simulated checkouts over HTTP, N of them at concurrency C.

The checkouts are played by the Bolt simulator (`devstack.simulator`, issue 6 part 1); until it is there the row
says "pending: simulator". One checkout is, in order of preference:
- `devstack.simulator.scenarios.run_checkout(base_url, signing_secret, rng_seed=n)`, returning a result with `ok`,
  `errors` and `invariant_violations`;
- else one of HAPPY_PATH_FUNCTIONS in `devstack.simulator`, called with the base URL, which raises, or returns False
  or an object whose `ok` is False, when an answer or an invariant is unexpected.
"""

import importlib
import importlib.util
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.process import StackProcess, stack_process
from devstack.settings import DEFAULT_SIGNING_SECRET

SIMULATOR_MODULE = "devstack.simulator"
SIMULATOR_CHECKOUT = ("devstack.simulator.scenarios", "run_checkout")
HAPPY_PATH_FUNCTIONS = ("run_happy_path", "happy_path_checkout", "happy_path")
# The simulator signs with devstack's default secrets: a developer's own must not reach the stack.
SECRET_OVERRIDES = ("BOLT_SIGNING_SECRET", "BOLT_SIGNING_SECRET_PENDING", "BOLT_API_KEY")

HappyPath = Callable[[str, int], "Outcome"]
# moto keeps the table copies it makes for every TransactWriteItems (see BENCHMARKS.md): a long run can take the
# machine's memory. The stack is stopped, and the run reported as aborted, past this resident size.
DEFAULT_RSS_LIMIT_BYTES = 4 * 1024**3


@dataclass(frozen=True)
class Outcome:
    """One checkout: None when it went as expected, else a short reason; invariant violations apart."""

    error: str | None = None
    invariant_violations: int = 0
    finished: float = 0.0  # perf_counter when the checkout ended
    skipped: bool = False  # not played: the run was aborted before its turn


@dataclass
class CheckoutRun:
    checkouts: int
    concurrency: int
    pending: str | None = None
    seconds: float = 0.0
    errors: int = 0
    invariant_violations: int = 0
    first_errors: list[str] = field(default_factory=list)
    error_kinds: dict[str, int] = field(default_factory=dict)  # reason (digits blanked) -> count
    stack_exit_code: int | None = None  # set when the stack process had died by the end of the run
    aborted: str | None = None  # why the run was stopped early (the stack outgrew its memory limit)
    played: int = 0
    peak_rss_bytes: int = 0
    stack_log_tail: list[str] = field(default_factory=list)
    # checkouts/s over the first and the last fifth of the completions: a stack that slows down as its tables
    # grow shows here
    early_per_second: float = 0.0
    late_per_second: float = 0.0

    @property
    def per_second(self) -> float:
        return self.played / self.seconds if self.seconds else 0.0


def find_happy_path() -> HappyPath | str:
    """The simulator's one-checkout function, adapted to (base_url, number) -> Outcome; or why there is none."""
    try:
        if importlib.util.find_spec(SIMULATOR_MODULE) is None:
            return "pending: simulator"
        module_name, attribute = SIMULATOR_CHECKOUT
        if importlib.util.find_spec(module_name) is not None:
            run_checkout = getattr(importlib.import_module(module_name), attribute, None)
            if callable(run_checkout):
                return _adapt_run_checkout(run_checkout)
        module = importlib.import_module(SIMULATOR_MODULE)
    except Exception as exc:  # a simulator being written may not import yet
        return f"pending: simulator does not import ({type(exc).__name__}: {str(exc)[:80]})"
    for name in HAPPY_PATH_FUNCTIONS:
        candidate = getattr(module, name, None)
        if callable(candidate):
            return _adapt_happy_path(candidate)
    return "pending: simulator (no one-checkout function)"


def _adapt_run_checkout(run_checkout: Callable[..., Any]) -> HappyPath:
    def one(base_url: str, number: int) -> Outcome:
        result = run_checkout(base_url, DEFAULT_SIGNING_SECRET, rng_seed=f"bench-{number}")
        errors = list(getattr(result, "errors", []) or [])
        violations = len(getattr(result, "invariant_violations", []) or [])
        if getattr(result, "ok", False):
            return Outcome(None, violations)
        return Outcome("; ".join(str(e) for e in errors)[:200] or "not ok", violations)

    return one


def _adapt_happy_path(happy: Callable[[str], Any]) -> HappyPath:
    def one(base_url: str, _number: int) -> Outcome:
        outcome = happy(base_url)
        if outcome is False or getattr(outcome, "ok", True) is False:
            return Outcome(f"unexpected outcome: {str(outcome)[:160]}")
        return Outcome()

    return one


@contextmanager
def local_stack(containers: int) -> Iterator[StackProcess]:
    """`python -m devstack` on a free port, without a developer's own secrets: the simulator signs with the dev ones."""
    inherited = {name: value for name, value in os.environ.items() if name not in SECRET_OVERRIDES}
    environment = {**inherited, "LOCAL_CONTAINERS": os.environ.get("LOCAL_CONTAINERS", str(containers))}
    with stack_process(environment) as stack:
        yield stack


def _one(happy: HappyPath, base_url: str, number: int) -> Outcome:
    try:
        outcome = happy(base_url, number)
    except Exception as exc:  # any failure of one checkout is counted, not raised
        outcome = Outcome(f"{type(exc).__name__}: {str(exc)[:160]}")
    return Outcome(outcome.error, outcome.invariant_violations, time.perf_counter())


def _rate(started: float, finished: list[float], first: int, last: int) -> float:
    """Checkouts/s between completion number `first` and `last` (0-based, sorted completion times)."""
    if last <= first or last >= len(finished):
        return 0.0
    begin = started if first == 0 else finished[first - 1]
    seconds = finished[last] - begin
    return (last - first + 1) / seconds if seconds > 0 else 0.0


def resident_bytes(pid: int) -> int | None:
    """VmRSS of a process (Linux /proc), None where unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


class MemoryWatch:
    """Samples the stack's resident size every second; past the limit, stops the stack and sets `stop`."""

    def __init__(self, stack: StackProcess, limit_bytes: int) -> None:
        self.stack = stack
        self.limit = limit_bytes
        self.stop = threading.Event()
        self.peak = 0
        self.reason: str | None = None
        self.stopped_at = float("inf")
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="bench-rss", daemon=True)

    def __enter__(self) -> "MemoryWatch":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._done.wait(1.0):
            size = resident_bytes(self.stack.process.pid)
            if size is None:
                return
            self.peak = max(self.peak, size)
            if size > self.limit:
                self.reason = f"stack RSS {size / 1024**3:.1f} GiB > limit {self.limit / 1024**3:.1f} GiB"
                self.stopped_at = time.perf_counter()
                self.stop.set()
                self.stack.process.kill()
                return


def local_stack_checkouts(n: int, concurrency: int, rss_limit_bytes: int = DEFAULT_RSS_LIMIT_BYTES) -> CheckoutRun:
    """N happy-path checkouts against a fresh local stack, `concurrency` at a time; one untimed checkout first
    (the stack's own cold starts are not throughput). Stopped early if the stack outgrows `rss_limit_bytes`."""
    run = CheckoutRun(checkouts=n, concurrency=concurrency)
    happy = find_happy_path()
    if isinstance(happy, str):
        run.pending = happy
        return run
    with local_stack(containers=concurrency) as stack, MemoryWatch(stack, rss_limit_bytes) as watch:
        base_url = stack.url

        def play(number: int) -> Outcome:
            if watch.stop.is_set():
                return Outcome(skipped=True, finished=time.perf_counter())
            return _one(happy, base_url, number)

        warmup = play(-1)
        if warmup.error is not None:
            run.first_errors.append(f"warm-up: {warmup.error}")
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            played = [outcome for outcome in pool.map(play, range(n)) if not outcome.skipped]
        # checkouts cut off by the stop are not the stack's errors: they are left out with the skipped ones
        outcomes = [o for o in played if o.error is None or o.finished < watch.stopped_at]
        run.seconds = time.perf_counter() - started
        run.aborted = watch.reason
        run.peak_rss_bytes = watch.peak
        run.stack_exit_code = None if watch.reason else stack.exit_code()
        run.stack_log_tail = stack.log_tail()
    run.played = len(outcomes)
    finished = sorted(outcome.finished for outcome in outcomes)
    count = len(finished)
    fifth = max(1, count // 5)
    run.early_per_second = _rate(started, finished, 0, fifth - 1)
    run.late_per_second = _rate(started, finished, count - fifth, count - 1)
    failures = [outcome.error for outcome in outcomes if outcome.error is not None]
    run.errors = len(failures)
    run.invariant_violations = sum(outcome.invariant_violations for outcome in outcomes)
    run.first_errors += failures[:5]
    for reason in failures:
        kind = re.sub(r"\d+", "#", reason)[:100]
        run.error_kinds[kind] = run.error_kinds.get(kind, 0) + 1
    return run
