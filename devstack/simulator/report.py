"""Timelines and final orders as plain text (ASCII, fixed columns, one line per request)."""

from collections.abc import Mapping, Sequence
from typing import Any

from devstack.simulator.client import Timeline

NAME_WIDTH = 40


def timeline_text(timeline: Timeline) -> str:
    order = f"  (order {timeline.order_id})" if timeline.order_id else ""
    lines = [f"== {timeline.title}{order}"]
    for number, step in enumerate(timeline.steps, start=1):
        status = str(step.status) if step.status is not None else "-"
        ms = f"{step.ms:7.1f} ms" if step.status is not None else " " * 10
        facts = "; ".join(fact for fact in step.facts if fact)
        lines.append(f"  {number:>2}  {step.name:<{NAME_WIDTH}} {status:>4} {ms}  {facts}".rstrip())
        lines.extend(f"        !! {problem}" for problem in step.problems)
    if timeline.final_order is not None:
        lines.extend(order_text(timeline.final_order))
    requests = sum(1 for step in timeline.steps if step.status is not None)
    verdict = "PASS" if timeline.ok else f"FAIL ({len(timeline.problems)} problems)"
    lines.append(f"  {verdict}  {requests} requests in {timeline.seconds:.2f} s")
    return "\n".join(lines)


def order_text(view: Mapping[str, Any]) -> list[str]:
    totals = view.get("totals") or {}
    amounts = view.get("amounts") or {}
    hold = f", on hold: {view['hold_reason']}" if view.get("hold_reason") else ""
    lines = [
        f"  final order {view.get('order_id')}: {view.get('status')} "
        f"(payment {view.get('payment_phase')}, {view.get('fulfilment_status')}{hold})",
        "    totals  " + "  ".join(f"{name} {totals.get(name)}" for name in totals),
        "    money   " + "  ".join(f"{name} {amounts.get(name)}" for name in amounts),
        "    items   " + ", ".join(f"{i.get('quantity')} x {i.get('sku')}" for i in view.get("items") or []),
    ]
    ledger = view.get("timeline") or []
    for index, entry in enumerate(ledger):
        label = "ledger" if index == 0 else ""
        state = "applied" if entry.get("applied") else f"not applied: {entry.get('note')}"
        lines.append(f"    {label:<7} {entry.get('key', ''):<32} {entry.get('amount', 0):>7}  {state}")
    return lines


def summary_text(timelines: Sequence[Timeline], base_url: str, seed: int) -> str:
    lines = ["", f"{'scenario':<40} {'result':<6} {'requests':>8} {'seconds':>8}  order"]
    for timeline in timelines:
        requests = sum(1 for step in timeline.steps if step.status is not None)
        result = "PASS" if timeline.ok else "FAIL"
        order = timeline.order_id or "-"
        lines.append(f"{timeline.title:<40} {result:<6} {requests:>8} {timeline.seconds:>8.2f}  {order}")
    failed = sum(1 for timeline in timelines if not timeline.ok)
    lines.append(
        f"{len(timelines)} scenarios: {len(timelines) - failed} passed, {failed} failed"
        f"  (against {base_url}, --seed {seed})"
    )
    return "\n".join(lines)
