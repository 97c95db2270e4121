"""Throughput of the local stack: N full happy-path checkouts over HTTP at concurrency C, played by the Bolt
simulator's load runner (devstack/simulator/load.py) against a fresh `python -m devstack`."""

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devstack.process import StackProcess, environment_with_default_secrets, stack_process
from devstack.settings import DEFAULT_SIGNING_SECRET
from devstack.simulator.load import LoadResult, run_load
from devstack.simulator.scenarios import run_checkout


@dataclass
class CheckoutRun:
    checkouts: int
    concurrency: int
    load: LoadResult | None = None  # None when the run was skipped
    warmup_error: str | None = None
    stack_exit_code: int | None = None  # set when the stack process had died by the end of the run
    peak_rss_bytes: int = 0
    stack_log_tail: tuple[str, ...] = ()

    def rate(self, fifth: str) -> float:
        """Checkouts/s over the first or the last fifth of the completions: a stack that slows down as its tables
        and queues grow shows here."""
        if self.load is None:
            return 0.0
        ends = sorted(r.timeline.finished for r in self.load.results if r.timeline and r.timeline.finished)
        count = max(1, len(ends) // 5)
        if len(ends) < 2 * count + 1:
            return 0.0
        window = ends[count - 1] - self.load.started if fifth == "first" else ends[-1] - ends[-count - 1]
        return count / window if window > 0 else 0.0


def resident_bytes(pid: int) -> int | None:
    """VmRSS of a process (Linux /proc), None where unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


class PeakMemory:
    """The stack process's largest resident size, sampled every second while the run lasts."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="bench-rss", daemon=True)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def _sample(self) -> None:
        while True:
            size = resident_bytes(self.pid)
            if size is None:
                return
            self.peak = max(self.peak, size)
            if self._done.wait(1.0):
                return


@contextmanager
def local_stack(containers: int) -> Iterator[StackProcess]:
    """`python -m devstack` on a free port, without a developer's own secrets: the simulator signs with the dev ones."""
    environment = {
        **environment_with_default_secrets(),
        "LOCAL_CONTAINERS": os.environ.get("LOCAL_CONTAINERS", str(containers)),
    }
    with stack_process(environment) as stack:
        yield stack


def local_stack_checkouts(n: int, concurrency: int) -> CheckoutRun:
    """N happy-path checkouts against a fresh local stack, `concurrency` at a time, after one untimed checkout
    (the stack's own cold starts are not throughput)."""
    run = CheckoutRun(checkouts=n, concurrency=concurrency)
    with local_stack(containers=concurrency) as stack, PeakMemory(stack.process.pid) as memory:
        warmup = run_checkout(stack.url, DEFAULT_SIGNING_SECRET, rng_seed="bench-warmup")
        run.warmup_error = "; ".join(warmup.errors)[:200] or None
        run.load = run_load(stack.url, DEFAULT_SIGNING_SECRET, checkouts=n, concurrency=concurrency, seed=1)
        run.stack_exit_code = stack.exit_code()
        run.stack_log_tail = tuple(stack.log_tail())
    run.peak_rss_bytes = memory.peak
    return run
