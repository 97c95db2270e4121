"""python -m devstack.reliability: the table it prints and the block it writes into RELIABILITY.md."""

import os
import platform
from datetime import UTC, datetime
from pathlib import Path

from devstack import reliability


def test_the_table_has_a_row_per_area_in_order_and_a_total() -> None:
    areas = {
        "faults": {"cases": 2, "unexpected_5xx": 1},
        "signatures": {"cases": 3, "rejected": 3},
        "bolt divergence": {"cases": 4, "lost_orders": 1, "divergent": 2, "unheld": 3},
        "extra": {},
    }

    lines = reliability.table(areas).splitlines()

    assert lines[0].startswith("| area | cases tried | rejected as expected | unexpected 5xx |")
    assert lines[0].endswith("| lost orders | money ≠ Bolt | unheld contradictions |")
    assert [line.split("|")[1].strip() for line in lines[2:]] == [
        "signatures",
        "faults",
        "bolt divergence",
        "extra",
        "**total**",
    ]
    assert lines[-1] == "| **total** | 9 | 3 | 1 | 0 | 0 | 0 | 0 | 1 | 2 | 3 |"


def test_update_replaces_only_the_block_between_the_marks(tmp_path: Path) -> None:
    document = tmp_path / "RELIABILITY.md"
    document.write_text(f"intro\n{reliability.START_MARK}\nold\n{reliability.END_MARK}\nrest\n", encoding="utf-8")

    reliability.update_document("new table", document)

    assert document.read_text(encoding="utf-8") == (
        f"intro\n{reliability.START_MARK}\nnew table\n{reliability.END_MARK}\nrest\n"
    )


def test_the_document_has_the_marks() -> None:
    text = reliability.DOCUMENT.read_text(encoding="utf-8")

    assert text.index(reliability.START_MARK) < text.index(reliability.END_MARK)


def test_the_machine_line_says_when_and_on_what() -> None:
    line = reliability.machine_line(datetime(2026, 12, 8, 1, 30, tzinfo=UTC))

    assert line.startswith(f"2026-12-08 01:30 UTC, {os.cpu_count()} x ")
    assert f"(nproc {os.cpu_count()}), Python {platform.python_version()}, " in line
