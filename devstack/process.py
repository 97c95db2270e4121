"""`python -m devstack` as a child process: started, awaited until it says it is ready, stopped.

The demo, the benchmark and anything else that wants a whole local stack over HTTP share this one way of running it.
"""

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devstack.template import ROOT

READY_LINE = "local stack ready on "  # what devstack/__main__.py prints once it serves
READY_TIMEOUT_SECONDS = 90.0


class StackFailed(RuntimeError):
    """The stack exited or did not become ready in time; the message ends with its log."""


@dataclass
class StackProcess:
    url: str
    process: "subprocess.Popen[bytes]"
    log: Path

    def exit_code(self) -> int | None:
        """None while the stack still runs."""
        return self.process.poll()

    def log_tail(self, lines: int = 15) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()[-lines:]


@contextmanager
def stack_process(
    environment: Mapping[str, str], port: int = 0, log_path: Path | None = None
) -> Iterator[StackProcess]:
    """The stack with exactly `environment` (plus PORT; 0 = a free port), its output in `log_path` or a temp file."""
    with tempfile.TemporaryDirectory(prefix="devstack-") as scratch:
        log = log_path or Path(scratch) / "stack.log"
        env = {**environment, "PORT": str(port), "PYTHONUNBUFFERED": "1"}
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "devstack"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
            )
        try:
            yield StackProcess(_wait_until_ready(process, log), process, log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(process: "subprocess.Popen[bytes]", log: Path) -> str:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith(READY_LINE):
                return line.removeprefix(READY_LINE).strip()
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise StackFailed(f"the local stack did not start:\n{log.read_text(errors='replace')[-4000:]}")
