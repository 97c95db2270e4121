"""python -m devstack.simulator.demo (make demo): start the local stack, play every scenario, print the timelines
and final orders, stop the stack. Exit status 0 only if every scenario passed.

The stack runs as `python -m devstack` in a subprocess on a free port (or --port / PORT), with its output in a
temporary log (shown if it does not start). It signs with the secrets the stack uses (BOLT_SIGNING_SECRET and
BOLT_SIGNING_SECRET_PENDING if set, else the dev defaults), sending both headers as Bolt does during a rotation.
"""

import argparse
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from devstack.process import StackFailed, stack_process
from devstack.settings import bolt_secret_document
from devstack.simulator.cli import play
from devstack.simulator.report import summary_text
from devstack.simulator.scenarios import SCENARIOS
from devstack.simulator.shopper import Options


@contextmanager
def local_stack(port: int = 0, env: Mapping[str, str] | None = None, log_path: Path | None = None) -> Iterator[str]:
    """`python -m devstack` in a subprocess until the block ends; yields its base URL. port 0: a free port."""
    with stack_process({**os.environ, **(env or {})}, port, log_path) as stack:
        yield stack.url


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
