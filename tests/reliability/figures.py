"""The reliability figures: what the suite tried and what it saw, per area (devstack/reliability.py defines the
columns and prints the table).

Tests record into the process-wide FIGURES as they go, before asserting, so a failing run still reports what it
saw. tests/reliability/conftest.py prints the table at the end of a run and, when RELIABILITY_FIGURES_FILE is set
(`python -m devstack.reliability` sets it), writes the tallies there as JSON.
"""

import json
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from devstack.reliability import FIGURES_FILE_VARIABLE, Tally, table

__all__ = ["FIGURES", "FIGURES_FILE_VARIABLE", "Area", "Figures", "table"]


class Figures:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.areas: dict[str, Tally] = {}

    def area(self, name: str) -> "Area":
        return Area(self, name)

    def bump(self, area: str, **counts: int) -> None:
        with self._lock:
            tally = self.areas.setdefault(area, Tally())
            for name, value in counts.items():
                setattr(tally, name, getattr(tally, name) + value)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {name: asdict(tally) for name, tally in self.areas.items()}

    def write(self, path: Path, tests: int, failed: int) -> None:
        document = {"areas": self.as_dict(), "tests": tests, "failed": failed}
        path.write_text(json.dumps(document, indent=2, sort_keys=True), encoding="utf-8")


@dataclass(frozen=True)
class Area:
    figures: Figures
    name: str

    def case(self, status: int | None = None, *, rejected: bool = False, fault: bool = False) -> None:
        """One request (or check) answered `status`. rejected: it was meant to be refused and was. fault: a fault
        was injected (or the answer is a designed "retry later"), so a 503, or API Gateway's 502 after an injected
        crash, is expected."""
        unexpected = status is not None and status >= 500 and not (fault and status in (502, 503))
        self.figures.bump(self.name, cases=1, rejected=int(rejected), unexpected_5xx=int(unexpected))

    def count(self, **counts: int) -> None:
        self.figures.bump(self.name, **counts)


FIGURES = Figures()
