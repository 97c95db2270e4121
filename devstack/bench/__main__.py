"""python -m devstack.bench [--quick] [--json out.json] [--profile]: one table, every figure next to its floor/target.

Run `make build` first (`make bench` does): cold init and sizes are measured on the `sam build` output.
"""

import argparse
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devstack.bench import checkouts, cold, contention, first, warm
from devstack.bench.report import (
    INFO,
    MIB,
    MISS,
    OK,
    SKIPPED,
    Row,
    document,
    median,
    mib,
    ms,
    ratio_verdict,
    render_table,
    verdict,
)
from devstack.template import LocalResolver, function_specs, load_template

# Every verdict is a ratio to a floor measured in the same run (or a count): absolute milliseconds are context only.
COLD_RATIO_TARGET = 1.4  # cold init as deployed (traced), over the paired floor
DEFAULTS = {
    "cold_runs": 7,
    "first_runs": 7,
    "iterations": 2000,
    "warmup": 100,
    "checkouts": 500,
    "concurrency": 8,
}
QUICK = {"cold_runs": 3, "first_runs": 3, "iterations": 300, "warmup": 30, "checkouts": 50, "concurrency": 8}


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


# ---------------------------------------------------------------- rows


def _spread(ratios: list[float]) -> str:
    return f"{min(ratios):.2f}-{max(ratios):.2f}" if len(ratios) > 1 else f"{ratios[0]:.2f}"


def _cpu_ratio(target: cold.ColdTarget, floor: cold.ColdTarget, mode: str) -> float | None:
    if not target.cpu_samples.get(mode) or not floor.cpu_samples.get(mode):
        return None
    return median(target.cpu_samples[mode]) / median(floor.cpu_samples[mode])


def cold_rows(results: list[cold.ColdTarget], detail: str | None = cold.DETAIL_MODE) -> list[Row]:
    """One row per function: the headline (traced, as deployed) ratio to the paired floor, judged against
    COLD_RATIO_TARGET; `detail` (untraced) shown beside it, not judged. Milliseconds are context only."""
    headline = cold.HEADLINE_MODE
    floor = results[0]
    section = f"cold init ({headline}, as deployed)"
    floor_samples = floor.samples.get(headline, [])
    if floor.error or not floor_samples:
        return [Row(section, floor.name, f"failed: {floor.error}", "-", MISS)]
    floor_s = median(floor_samples)
    rows = [
        Row(
            section,
            floor.name,
            ms(floor_s),
            f"floor (median of {len(floor_samples)}, one run before each function's runs)",
            INFO,
            {"median_s": floor_s, "samples_s": floor_samples},
        )
    ]
    for target in results[1:]:
        ratios = target.ratios.get(headline, [])
        if target.error or not ratios:
            rows.append(Row(section, target.name, f"failed: {target.error}", "-", MISS))
            continue
        value = median(target.samples[headline])
        ratio = median(ratios)
        cpu_ratio = _cpu_ratio(target, floor, headline)
        measured = f"{ratio:.2f}x floor (paired, {_spread(ratios)}) · {ms(value)}"
        if cpu_ratio is not None:
            measured += f" · CPU {cpu_ratio:.2f}x"
        data: dict[str, Any] = {
            "mode": headline,
            "ratio": ratio,
            # CPU seconds over the floor's: a check on the wall-clock ratio when the machine was not quiet
            "cpu_ratio": cpu_ratio,
            "paired_ratios": ratios,
            "median_s": value,
            "samples_s": target.samples[headline],
            "modules_loaded": target.modules.get(headline),
            "notable_modules": target.notable.get(headline),
        }
        detail_ratios = target.ratios.get(detail, []) if detail else []
        if detail and detail_ratios:
            detail_ratio = median(detail_ratios)
            detail_ms = ms(median(target.samples[detail]))
            measured += f"; {detail} {detail_ratio:.2f}x ({_spread(detail_ratios)}) · {detail_ms}"
            data[detail] = {
                "ratio": detail_ratio,
                "paired_ratios": detail_ratios,
                "median_s": median(target.samples[detail]),
                "samples_s": target.samples[detail],
                "notable_modules": target.notable.get(detail),
            }
        rows.append(
            Row(
                section,
                f"{target.name} (import {target.module})",
                measured,
                f"target <= {COLD_RATIO_TARGET}x the paired floor ({headline}); floor {ms(floor_s)}",
                ratio_verdict(ratio, COLD_RATIO_TARGET),
                data,
            )
        )
    return rows


def first_request_rows(results: list[first.FirstTarget]) -> list[Row]:
    """Init + the first request, as deployed: the sum's ratio to the paired floor's sum (info, no target)."""
    section = "init + first request (traced)"
    floor = results[0]
    if floor.error or not floor.init:
        return [Row(section, floor.name, f"failed: {floor.error}", "-", MISS)]
    floor_init, floor_first, floor_total = median(floor.init), median(floor.first), median(floor.totals)
    rows = [
        Row(
            section,
            floor.name,
            f"{ms(floor_total)} (init {ms(floor_init)} + GetItem {ms(floor_first)})",
            f"floor (median of {len(floor.init)}, one run before each function's run)",
            INFO,
            {"median_s": floor_total, "init_s": floor.init, "first_s": floor.first},
        )
    ]
    for target in results[1:]:
        request = target.request.event if target.request is not None else "-"
        subject = f"{target.name} ({request})"
        if target.error or not target.ratios:
            rows.append(Row(section, subject, f"failed: {target.error}", "-", MISS))
            continue
        ratio = median(target.ratios)
        total, init, first_request = median(target.totals), median(target.init), median(target.first)
        rows.append(
            Row(
                section,
                subject,
                f"{ratio:.2f}x floor (paired, {_spread(target.ratios)}) · {ms(total)} = init {ms(init)} "
                f"+ first request {ms(first_request)}",
                f"floor {ms(floor_total)}; no target (compared before and after a change)",
                INFO,
                {
                    "ratio": ratio,
                    "paired_ratios": target.ratios,
                    "median_s": total,
                    "init_median_s": init,
                    "first_median_s": first_request,
                    "init_s": target.init,
                    "first_s": target.first,
                },
            )
        )
    return rows


def artifact_rows(found: list[cold.Artifact]) -> list[Row]:
    rows = []
    layer = found[0]
    copies = [f"{a.logical_id}/{path}" for a in found for path in a.runtime_copies]
    rows.append(
        Row(
            "artifacts",
            "boto3/botocore/s3transfer copies in the layer and functions",
            ", ".join(copies) if copies else "none",
            "target: none (the runtime provides them)",
            verdict(not copies and layer.size >= 0),
            {"copies": copies},
        )
    )
    sources = sum(a.sources for a in found)
    missing = [f"{a.logical_id}/{path}" for a in found for path in a.missing_bytecode]
    rows.append(
        Row(
            "artifacts",
            "compiled bytecode (.pyc for cpython-313)",
            f"{sources - len(missing)} of {sources} .py files compiled",
            "target: all (/opt and /var/task are read-only)",
            verdict(not missing and sources > 0),
            {"missing": missing[:50]},
        )
    )
    for artifact in found:
        if artifact.size < 0:
            rows.append(Row("size", artifact.logical_id, "not built", "run make build", MISS))
            continue
        total = artifact.size + (layer.size if artifact is not layer else 0)
        reference = (
            f"with layer {total / MIB:.2f} MiB of the 250 MiB unzipped limit"
            if artifact is not layer
            else "Lambda limit: 250 MiB unzipped, function + layers"
        )
        rows.append(
            Row(
                "size",
                artifact.logical_id,
                mib(artifact.size),
                reference,
                verdict(total <= cold.LAMBDA_UNZIPPED_LIMIT),
                {"bytes": artifact.size},
            )
        )
    return rows


def warm_rows(results: list[warm.HookResult]) -> list[Row]:
    rows = []
    for result in results:
        case = result.case
        p50, p99 = result.p(50), result.p(99)
        floor50 = result.floor(50)
        ratio = p50 / floor50
        target = f"target p50 <= {case.target_p50_ratio:g}x" if case.target_p50_ratio is not None else "no target set"
        notes = []
        if result.failures:
            notes.append(f"{result.failures} unexpected answers")
        if result.missed:
            notes.append(f"{len(result.missed)} calls not replayed")
        if notes:
            status = MISS
        elif case.target_p50_ratio is None:
            status = INFO
        else:
            status = ratio_verdict(ratio, case.target_p50_ratio)
        rows.append(
            Row(
                "warm overhead",
                f"{case.name} ({result.logical_id})",
                f"p50 {ratio:.1f}x floor · p50 {ms(p50)} · p99 {ms(p99)} (n={len(result.samples)})"
                + (f" · {'; '.join(notes)}" if notes else ""),
                f"floor p50 {ms(floor50)} (HMAC+JSON+model, same run); {target}",
                status,
                {
                    "ratio_p50": ratio,
                    "p50_s": p50,
                    "p99_s": p99,
                    "floor_p50_s": floor50,
                    "floor_p99_s": result.floor(99),
                    "iterations": len(result.samples),
                    "failures": result.failures,
                    "replayed_calls": result.replayed,
                    "missed_calls": result.missed,
                },
            )
        )
    return rows


def _calls_text(calls: list[str]) -> str:
    if not calls:
        return "0"
    counts: dict[str, int] = {}
    for call in calls:
        counts[call] = counts.get(call, 0) + 1
    return f"{len(calls)} (" + ", ".join(f"{name}{f' x{n}' if n > 1 else ''}" for name, n in counts.items()) + ")"


def call_rows(results: list[warm.HookResult]) -> list[Row]:
    rows = []
    for result in results:
        case = result.case
        cold_n, warm_n = len(result.cold_calls), len(result.warm_calls)
        if case.target_calls is None:
            reference, status = "no target set", INFO
        else:
            reference = f"target <= {case.target_calls}" + (" (0 warm is better)" if case.target_calls == 1 else "")
            if warm_n > case.target_calls:
                status = MISS
            elif cold_n > case.target_calls:
                status = f"ok warm; cold +{cold_n - case.target_calls}"
            else:
                status = OK
        if not result.secrets_client_seen:
            status = f"{status}; secrets client not Powertools' default"
        rows.append(
            Row(
                "AWS calls/request",
                f"{case.name}",
                f"cold {_calls_text(result.cold_calls)} · warm {_calls_text(result.warm_calls)}",
                reference,
                status,
                {
                    "cold": result.cold_calls,
                    "warm": result.warm_calls,
                    "warm_average": result.warm_calls_per_request,
                },
            )
        )
    return rows


def checkout_row(run: checkouts.CheckoutRun) -> Row:
    reference = "target: 500 full checkouts at concurrency 8, 0 errors, 0 invariant violations"
    subject = f"{run.checkouts} simulated full checkouts at concurrency {run.concurrency}"
    load = run.load
    if load is None:
        return Row("local stack", subject, "not measured (--skip-local)", reference, SKIPPED)
    notes = ""
    if run.warmup_error:
        notes += f"; warm-up checkout failed: {run.warmup_error[:90]}"
    failed = [result for result in load.results if not result.ok]
    if failed:
        notes += f"; first: {'; '.join(failed[0].errors)[:90]}"
    if run.stack_exit_code is not None:
        notes += f"; the stack process exited with {run.stack_exit_code} during the run"
    if load.errors or load.invariant_violations or run.stack_exit_code is not None:
        status = MISS
    elif run.checkouts >= 500 and run.concurrency >= 8:
        status = OK
    else:
        status = "ok (smaller run than the target's)"
    return Row(
        "local stack",
        subject,
        f"{load.per_second:.1f} checkouts/s ({load.seconds:.1f} s; first fifth {run.rate('first'):.1f}/s, "
        f"last fifth {run.rate('last'):.1f}/s; per checkout p50 {load.percentile(0.5) * 1000:.0f} ms, "
        f"p95 {load.percentile(0.95) * 1000:.0f} ms), {load.errors} errors, "
        f"{load.invariant_violations} invariant violations, peak stack RSS {run.peak_rss_bytes / 1024**2:.0f} MiB"
        f"{notes}",
        reference,
        status,
        {
            "seconds": load.seconds,
            "per_second": load.per_second,
            "first_fifth_per_second": run.rate("first"),
            "last_fifth_per_second": run.rate("last"),
            "p50_seconds": load.percentile(0.5),
            "p95_seconds": load.percentile(0.95),
            "errors": load.errors,
            "invariant_violations": load.invariant_violations,
            "failed_checkouts": [{"order_id": r.order_id, "errors": r.errors[:3]} for r in failed[:10]],
            "warmup_error": run.warmup_error,
            "stack_exit_code": run.stack_exit_code,
            "peak_rss_bytes": run.peak_rss_bytes,
            "stack_log_tail": list(run.stack_log_tail),
        },
    )


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devstack.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs and iterations (CI smoke)")
    parser.add_argument("--json", type=Path, help="also write every row with its raw figures to this file")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of each hook's warm loop to stderr")
    parser.add_argument("--cold-runs", type=int, help="fresh processes per function (default 7, quick 3)")
    parser.add_argument("--iterations", type=int, help="timed warm invocations per hook (default 2000, quick 300)")
    parser.add_argument("--warmup", type=int, help="untimed warm invocations per hook (default 100, quick 30)")
    parser.add_argument("--checkouts", type=int, help="local stack checkouts (default 500, quick 50)")
    parser.add_argument("--concurrency", type=int, help="local stack concurrency (default 8)")
    parser.add_argument("--first-runs", type=int, help="init + first request processes per function (default 7)")
    parser.add_argument(
        "--cold-detail",
        choices=[mode for mode in cold.COLD_ENVIRONMENTS if mode != cold.HEADLINE_MODE],
        default=cold.DETAIL_MODE,
        help="the environment shown beside the traced headline (default untraced: LAMBDA_TASK_ROOT set, Tracer off)",
    )
    parser.add_argument(
        "--build-dir",
        type=Path,
        default=cold.BUILD_DIR,
        help="the sam build output to measure (default .aws-sam/build; another build's, to compare two versions)",
    )
    parser.add_argument("--skip-cold", action="store_true", help="leave out cold init")
    parser.add_argument("--skip-first", action="store_true", help="leave out init + first request")
    parser.add_argument("--skip-warm", action="store_true", help="leave out warm overhead and AWS calls")
    parser.add_argument("--skip-local", action="store_true", help="leave out the local stack checkouts")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main(argv: list[str] | None = None) -> int:
    if (sys.argv[1:] if argv is None else argv)[:1] == ["contention"]:  # its own table: devstack/bench/contention.py
        return contention.main((sys.argv[1:] if argv is None else argv)[1:])
    args = parse_args(argv)
    cold.check_interpreter()
    started = datetime.now(UTC)
    meta: dict[str, Any] = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "load_average_start": load_average(),
        "settings": {k: getattr(args, k) for k in (*DEFAULTS, "quick", "cold_detail")},
        "build_dir": str(args.build_dir),
    }
    template = load_template()
    specs = function_specs(template, LocalResolver(template, warm.STACK_NAME))
    rows: list[Row] = []

    if not args.skip_cold:
        modes = (cold.HEADLINE_MODE, args.cold_detail)
        progress(f"cold init: {len(specs)} functions + floor, {args.cold_runs} fresh processes each in {modes}")
        rows += cold_rows(cold.measure(specs, args.cold_runs, args.build_dir, modes), args.cold_detail)
    if not args.skip_first:
        progress(f"init + first request: {len(specs)} functions + floor, {args.first_runs} runs each (traced)")
        rows += first_request_rows(first.measure(specs, args.first_runs, args.build_dir, progress=progress))
    hook_results: list[warm.HookResult] = []
    if not args.skip_warm:
        progress(f"warm: {args.iterations} timed invocations per hook after {args.warmup} warm-ups")
        hook_results = warm.run(iterations=args.iterations, warmup=args.warmup, profile=args.profile, progress=progress)
    rows += warm_rows(hook_results)
    rows += call_rows(hook_results)
    rows += artifact_rows(cold.artifacts([spec.logical_id for spec in specs], args.build_dir))
    if args.skip_local:
        run = checkouts.CheckoutRun(args.checkouts, args.concurrency)
    else:
        progress(f"local stack: {args.checkouts} checkouts at concurrency {args.concurrency}")
        run = checkouts.local_stack_checkouts(args.checkouts, args.concurrency)
    rows.append(checkout_row(run))
    meta["load_average_end"] = load_average()
    meta["seconds"] = round((datetime.now(UTC) - started).total_seconds(), 1)

    if args.profile:
        for result in hook_results:
            print(f"\n===== cProfile: {result.case.name} =====\n{result.profile}", file=sys.stderr)
    cpu = meta["machine"]
    print(
        f"Benchmark {meta['date']} · {cpu['nproc']} x {cpu['cpu']} · Python {cpu['python']} · "
        f"load {meta['load_average_start']} -> {meta['load_average_end']} · {meta['seconds']} s"
        + (" · --quick" if args.quick else "")
    )
    print()
    print(render_table(rows), end="")
    if args.json:
        args.json.write_text(json.dumps(document(rows, meta), indent=2) + "\n", encoding="utf-8")
        progress(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
