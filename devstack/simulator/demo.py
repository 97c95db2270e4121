"""python -m devstack.simulator.demo (make demo): start the local stack, play every scenario, print the timelines
and final orders, stop the stack. Exit status 0 only if every scenario passed.

The stack runs as `python -m devstack` in a subprocess on a free port (or --port / PORT), with its output in a
temporary log (shown if it does not start). It signs with the secrets the stack uses (BOLT_SIGNING_SECRET and
BOLT_SIGNING_SECRET_PENDING if set, else the dev defaults), sending both headers as Bolt does during a rotation.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from devstack.settings import bolt_secret_document
from devstack.simulator.cli import play
from devstack.simulator.report import summary_text
from devstack.simulator.scenarios import SCENARIOS, Options

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "local stack ready on "
READY_TIMEOUT_SECONDS = 90.0


class StackFailed(RuntimeError):
    pass


@contextmanager
def local_stack(port: int = 0, env: Mapping[str, str] | None = None, log_path: Path | None = None) -> Iterator[str]:
    """`python -m devstack` in a subprocess until the block ends; yields its base URL. port 0: a free port."""
    with tempfile.TemporaryDirectory(prefix="devstack-demo-") as scratch:
        log = log_path or Path(scratch) / "stack.log"
        environment = {**os.environ, **(env or {}), "PORT": str(port), "PYTHONUNBUFFERED": "1"}
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "devstack"], cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT
            )
        try:
            yield _wait_until_ready(process, log)
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.simulator.demo", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT") or 0), help="0: a free port")
    parser.add_argument("--seed", type=int, default=7, help="seed for ids and the shuffled webhook order")
    args = parser.parse_args(argv)
    secrets = bolt_secret_document()
    print("starting the local stack ...", flush=True)
    started = time.perf_counter()
    try:
        with local_stack(args.port) as base_url:
            print(f"local stack ready on {base_url} in {time.perf_counter() - started:.1f} s\n", flush=True)
            timelines = play(
                base_url,
                secrets["signing_secret"],
                secrets["signing_secret_pending"],
                list(SCENARIOS),
                Options(token=True, seed=args.seed),
            )
            print(summary_text(timelines, base_url, args.seed), flush=True)
    except StackFailed as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"stack stopped; {time.perf_counter() - started:.1f} s in all", flush=True)
    return 0 if all(t.ok for t in timelines) else 1


if __name__ == "__main__":
    sys.exit(main())
