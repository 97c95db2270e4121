"""`python -m devstack` as a child process: started, awaited until it says it is ready, stopped.

The demo, the benchmark, the end-to-end tests and anything else that wants a whole local stack over HTTP share this
one way of running it.
"""

import os
import re
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
# Lines the stack prints along with its ready line (where its services listen) come within moments of it.
ANNOUNCED_TIMEOUT_SECONDS = 10.0
# What replaces devstack's default Bolt secrets (devstack/settings.py).
SECRET_VARIABLES = ("BOLT_SIGNING_SECRET", "BOLT_SIGNING_SECRET_PENDING", "BOLT_API_KEY")
_READY = re.compile(f"^{re.escape(READY_LINE)}(\\S+)")


class StackFailed(RuntimeError):
    """The stack exited or did not print what was awaited in time; the message ends with its log."""


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

    def announced(self, pattern: re.Pattern[str], timeout: float = ANNOUNCED_TIMEOUT_SECONDS) -> str:
        """Group 1 of the first line of the stack's output that `pattern` matches (re.search), e.g. the URL of one
        of its services; waits up to `timeout` for the line."""
        failure = f"printed no line matching {pattern.pattern!r}"
        return _await_line(self.process, self.log, pattern, timeout, failure).group(1)


def environment_with_default_secrets(*dropped: str) -> dict[str, str]:
    """os.environ without a developer's own Bolt secrets (nor the `dropped` variables): the stack then uses
    devstack's default secrets, the ones a caller signs with."""
    leave_out = {*SECRET_VARIABLES, *dropped}
    return {name: value for name, value in os.environ.items() if name not in leave_out}


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
            url = _await_line(process, log, _READY, READY_TIMEOUT_SECONDS, "did not start").group(1)
            yield StackProcess(url, process, log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _await_line(
    process: "subprocess.Popen[bytes]", log: Path, pattern: re.Pattern[str], timeout: float, failure: str
) -> re.Match[str]:
    """`pattern`'s match in the first line of the log it matches; StackFailed ("the local stack {failure}") once the
    stack has exited or `timeout` has passed without one."""
    deadline = time.monotonic() + timeout
    while True:
        text = log.read_text(errors="replace")
        # Only whole lines: one still being written could match with half a URL.
        for line in text.split("\n")[:-1]:
            found = pattern.search(line)
            if found is not None:
                return found
        if process.poll() is not None or time.monotonic() >= deadline:
            raise StackFailed(f"the local stack {failure}:\n{text[-4000:]}")
        time.sleep(0.05)
