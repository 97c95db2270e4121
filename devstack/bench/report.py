"""Pure helpers of the benchmark: statistics, rows, the markdown table and the JSON document."""

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

MIB = 1024 * 1024


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def ms(seconds: float) -> str:
    """Milliseconds with a precision that suits the magnitude."""
    value = seconds * 1000
    if value >= 100:
        return f"{value:.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms" if value >= 1 else f"{value:.3f} ms"


def mib(size: int) -> str:
    value = size / MIB
    return f"{size:,} B ({value:.2f} MiB)" if value >= 0.01 else f"{size:,} B ({value:.5f} MiB)"


OK = "ok"
MISS = "MISS"
INFO = "-"
SKIPPED = "skipped"


@dataclass
class Row:
    """One line of the table: what was measured, the figure, its floor and/or target, and the verdict."""

    section: str
    subject: str
    measured: str
    reference: str
    verdict: str = INFO
    data: dict[str, Any] = field(default_factory=dict)


def verdict(passed: bool) -> str:
    return OK if passed else MISS


def ratio_verdict(ratio: float, target: float) -> str:
    """The only kind of timing verdict the benchmark gives: a ratio to a floor measured in the same run against
    its target. Absolute milliseconds depend on the machine and are shown as context, never judged."""
    if not math.isfinite(ratio) or ratio <= 0:
        return MISS
    return verdict(ratio <= target)


HEADER = ("Section", "Subject", "Measured", "Floor / target", "Verdict")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_table(rows: Iterable[Row]) -> str:
    """One GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    for row in rows:
        cells = (row.section, row.subject, row.measured, row.reference, row.verdict)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def document(rows: Iterable[Row], meta: dict[str, Any]) -> dict[str, Any]:
    """What --json writes: the run's metadata and every row with its raw figures."""
    return {"meta": meta, "rows": [asdict(row) for row in rows]}
