"""python -m devstack.reliability: run the reliability suite (tests/reliability) and print its figures.

    python -m devstack.reliability                 # the suite, then the figures table (exit status: pytest's)
    python -m devstack.reliability --scale 10      # ten times the examples of every property (a nightly run)
    python -m devstack.reliability --update        # also write the table into RELIABILITY.md
    python -m devstack.reliability -- -k signature # anything after -- goes to pytest

The tests record what they tried and saw into a process-wide tally (tests/reliability/figures.py) and, when
RELIABILITY_FIGURES_FILE is set, write it there as JSON at the end of the run; this command sets it, runs pytest in
a subprocess, reads the file and prints one row per area and a total:

  cases tried           requests, deliveries and checks the suite made
  rejected as expected  cases meant to be refused (4xx, or a retryable 503 under an injected fault) that were
  unexpected 5xx        any 5xx not asked for by an injected fault
  duplicates            duplicate orders, ledger entries, outbox events or consumer side effects found
  lost events           acknowledged events missing afterwards (not persisted, published or consumed)
  canary hits           canary personal data or secrets found in a log line or an error body
  other violations      other broken promises (AWS calls on a bad signature, writes on a refusal, status regressions)
  lost orders           payments Bolt holds or took money for with no order at the merchant
  money ≠ Bolt          orders whose captures or credits (by Bolt id and amount) or payment state differ from Bolt's
  unheld contradictions orders whose money contradicts itself (captured above authorised, refunded above captured,
                        money kept on a cancelled payment) without being on hold
"""

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SUITE = "tests/reliability"
DOCUMENT = ROOT / "RELIABILITY.md"
FIGURES_FILE_VARIABLE = "RELIABILITY_FIGURES_FILE"
SCALE_VARIABLE = "RELIABILITY_SCALE"
START_MARK = "<!-- figures:start -->"
END_MARK = "<!-- figures:end -->"

# Areas in table order (an area a run did not touch is left out).
AREAS = (
    "signatures",
    "hostile input",
    "faults",
    "replays",
    "concurrency",
    "stateful",
    "log canaries",
    "schemathesis",
    "contract",
    "template",
    "bolt divergence",
)
COLUMNS = (
    ("cases", "cases tried"),
    ("rejected", "rejected as expected"),
    ("unexpected_5xx", "unexpected 5xx"),
    ("duplicates", "duplicates"),
    ("lost", "lost events"),
    ("canary_hits", "canary hits"),
    ("violations", "other violations"),
    ("lost_orders", "lost orders"),
    ("divergent", "money ≠ Bolt"),
    ("unheld", "unheld contradictions"),
)


@dataclass
class Tally:
    """One area's counts (see the module docstring for what each means)."""

    cases: int = 0
    rejected: int = 0
    unexpected_5xx: int = 0
    duplicates: int = 0
    lost: int = 0
    canary_hits: int = 0
    violations: int = 0
    lost_orders: int = 0
    divergent: int = 0
    unheld: int = 0

    def add(self, other: "Tally") -> None:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))

    @classmethod
    def of(cls, counts: Mapping[str, int]) -> "Tally":
        return cls(**{item.name: int(counts.get(item.name, 0)) for item in fields(cls)})


def table(areas: Mapping[str, Mapping[str, int]]) -> str:
    """The figures as a Markdown table: one row per area, then the total."""
    ordered = [name for name in AREAS if name in areas] + sorted(set(areas) - set(AREAS))
    total = Tally()
    rows: list[tuple[str, Tally]] = []
    for name in ordered:
        tally = Tally.of(areas[name])
        total.add(tally)
        rows.append((name, tally))
    rows.append(("**total**", total))
    lines = ["| area | " + " | ".join(title for _, title in COLUMNS) + " |", "|---|" + "---:|" * len(COLUMNS)]
    for name, tally in rows:
        lines.append(f"| {name} | " + " | ".join(str(getattr(tally, key)) for key, _ in COLUMNS) + " |")
    return "\n".join(lines)


def update_document(block: str, document: Path = DOCUMENT) -> None:
    """Replace what stands between the figures marks of RELIABILITY.md."""
    text = document.read_text(encoding="utf-8")
    start = text.index(START_MARK) + len(START_MARK)
    end = text.index(END_MARK)
    document.write_text(text[:start] + "\n" + block + "\n" + text[end:], encoding="utf-8")


def machine_line(now: datetime | None = None) -> str:
    """When and on what the figures were measured: date, CPU model and count (nproc), Python, OS, load average."""
    model = platform.machine()
    with contextlib.suppress(OSError):
        models = [line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
        model = models[0].split(":", 1)[1].strip() if models else model
    load = f", load average {os.getloadavg()[0]:.1f} at the end" if hasattr(os, "getloadavg") else ""
    when = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{when}, {os.cpu_count()} x {model} (nproc {os.cpu_count()}), Python {platform.python_version()},"
        f" {platform.system()} {platform.machine()}{load}."
    )


def run(pytest_args: Sequence[str], scale: int) -> tuple[int, dict[str, Any], float]:
    """pytest on the suite in a subprocess; (exit status, {"areas", "tests", "failed"}, seconds)."""
    with tempfile.TemporaryDirectory(prefix="reliability-") as directory:
        figures_file = Path(directory) / "figures.json"
        env = {**os.environ, FIGURES_FILE_VARIABLE: str(figures_file), SCALE_VARIABLE: str(scale)}
        command = [sys.executable, "-m", "pytest", SUITE, "-q", "-p", "no:cacheprovider", *pytest_args]
        started = time.monotonic()
        status = subprocess.call(command, cwd=ROOT, env=env)  # noqa: S603 - our own interpreter and arguments
        elapsed = time.monotonic() - started
        document: dict[str, Any] = json.loads(figures_file.read_text(encoding="utf-8")) if figures_file.exists() else {}
    return status, document, elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.reliability", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1, help="multiply every property's example budget")
    parser.add_argument("--update", action="store_true", help="write the table into RELIABILITY.md")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    options = parser.parse_args(argv)
    status, document, elapsed = run(options.pytest_args, max(1, options.scale))
    if not document.get("areas"):
        print("no figures were recorded (did the suite run?)", file=sys.stderr)
        return status or 1
    tests, failed = int(document.get("tests", 0)), int(document.get("failed", 0))
    verdict = (
        f"{tests} tests, all passed" if status == 0 else f"{tests} tests, {failed} failed (pytest status {status})"
    )
    block = (
        f"{table(document['areas'])}\n\n"
        f"`python -m devstack.reliability{' --scale ' + str(options.scale) if options.scale > 1 else ''}`: "
        f"{elapsed:.0f} s, {verdict}, {machine_line()}"
    )
    print()
    print(block)
    if options.update:
        update_document(block)
        print(f"\nwritten to {DOCUMENT.relative_to(ROOT)}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
