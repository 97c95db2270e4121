"""Cold init of every function from the `sam build` output, and what the built artifacts contain.

Each measurement is a fresh `python -I -S -B` process whose sys.path is what Lambda gives a function: the function's
code (/var/task), the shared layer (/opt/python) and a "runtime" folder holding only what /var/runtime provides
(boto3, botocore, s3transfer, jmespath, dateutil, six, urllib3, symlinked from this venv), then the standard library.
"""

import ast
import importlib.util
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.template import ROOT, FunctionSpec

# `make bench` passes the build it just made (.aws-sam/<ARCH>/build, see devstack/build_arch.py).
BUILD_DIR = ROOT / os.environ.get("BENCH_BUILD_DIR", ".aws-sam/x86_64/build")
LAYER_LOGICAL_ID = "SharedLayer"
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
# What must never be copied into our artifacts: the Lambda runtime already has it.
RUNTIME_ONLY = ("boto3", "botocore", "s3transfer")
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024  # function + all its layers
# Modules whose presence after a handler import is worth reporting (heavy, or only some functions need them).
NOTABLE_MODULES = (
    "requests",
    "aws_xray_sdk",
    "pydantic",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.parser",
    "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.utilities.parameters",
    "boto3.dynamodb.types",
)

# Runs in the child. Nothing is imported before the clock starts except what the interpreter already loaded
# (sys, time and importlib are built in or frozen), and nothing is printed through json (not imported yet).
CHILD_CODE = """
import importlib, sys, time
function_dir, layer_dir, runtime_dir, target, notable = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
sys.path[:0] = [p for p in (function_dir, layer_dir, runtime_dir) if p]
cpu_started = time.process_time()
started = time.perf_counter()
if target == ":floor":
    import boto3
    boto3.client("dynamodb")
else:
    importlib.import_module(target)
elapsed = time.perf_counter() - started
cpu = time.process_time() - cpu_started
loaded = sorted(name for name in notable.split(",") if name in sys.modules)
print(repr({"seconds": elapsed, "cpu_seconds": cpu, "modules": len(sys.modules), "notable": loaded}))
"""

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


# What the child's environment says about being in Lambda (see BENCHMARKS.md):
# - "traced" (the headline, as deployed: template.yaml sets Tracing: Active): LAMBDA_TASK_ROOT and
#   AWS_LAMBDA_FUNCTION_NAME set and the X-Ray daemon address and context-missing strategy Lambda gives an actively
#   traced function, so Powertools' Tracer is on and patches what it is told to. No daemon listens here; the X-Ray
#   SDK sends UDP without waiting for an answer, so that changes nothing.
# - "untraced" (detail): LAMBDA_TASK_ROOT set, so the X-Ray SDK takes its Lambda path (LocalSampler), and
#   POWERTOOLS_TRACE_DISABLED=true: what a stage with Tracing: PassThrough and the Tracer disabled would pay.
# - "bare": neither set. The X-Ray SDK then builds its centralised DefaultSampler, which creates two botocore X-Ray
#   clients at import (aws/aws-xray-sdk-python#273, #311): ~100-150 ms that never happens in Lambda.
COLD_ENVIRONMENTS = ("traced", "untraced", "bare")
HEADLINE_MODE = "traced"
DETAIL_MODE = "untraced"
XRAY_LAMBDA_ENVIRONMENT = {"AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000", "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR"}


def lambda_markers(mode: str, function_dir: Path | None, function_name: str) -> dict[str, str]:
    task_root = str(function_dir) if function_dir is not None else str(BUILD_DIR)
    if mode == "traced":
        return {"LAMBDA_TASK_ROOT": task_root, "AWS_LAMBDA_FUNCTION_NAME": function_name, **XRAY_LAMBDA_ENVIRONMENT}
    if mode == "untraced":
        return {"LAMBDA_TASK_ROOT": task_root, "POWERTOOLS_TRACE_DISABLED": "true"}
    if mode == "bare":
        return {}
    raise ValueError(f"unknown cold environment {mode!r}; one of {COLD_ENVIRONMENTS}")


@dataclass
class ColdTarget:
    """One thing to import cold: a function's handler module, or the boto3 + DynamoDB client floor."""

    name: str
    module: str
    function_dir: Path | None
    environment: dict[str, str] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)  # environment mode -> seconds
    cpu_samples: dict[str, list[float]] = field(default_factory=dict)  # the same imports' CPU seconds
    # mode -> each sample over the floor sample taken just before it, in the same round
    ratios: dict[str, list[float]] = field(default_factory=dict)
    modules: dict[str, int] = field(default_factory=dict)  # mode -> modules loaded after the import
    notable: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None

    @property
    def is_floor(self) -> bool:
        return self.module == ":floor"


def check_interpreter() -> None:
    if sys.version_info[:2] != (3, 13):
        raise SystemExit(f"the benchmark needs Python 3.13 (the functions' runtime), not {sys.version.split()[0]}")


@contextmanager
def runtime_dir() -> Iterator[Path]:
    """A temporary /var/runtime look-alike: symlinks to this venv's copies of the runtime-provided packages."""
    with tempfile.TemporaryDirectory(prefix="bench-runtime-") as temp:
        root = Path(temp)
        for name in RUNTIME_PACKAGES:
            spec = importlib.util.find_spec(name)
            if spec is None or spec.origin is None:
                raise SystemExit(f"{name} is not installed in this environment (run make build first)")
            origin = Path(spec.origin)
            source = origin.parent if origin.name == "__init__.py" else origin
            (root / source.name).symlink_to(source)
        yield root


def targets(specs: Sequence[FunctionSpec], build_dir: Path = BUILD_DIR) -> list[ColdTarget]:
    found = [ColdTarget("floor: import boto3 + boto3.client('dynamodb')", ":floor", None)]
    for spec in specs:
        found.append(ColdTarget(spec.logical_id, spec.module, build_dir / spec.logical_id, dict(spec.environment)))
    return found


def child_environment(target: ColdTarget, home: Path, mode: str = HEADLINE_MODE) -> dict[str, str]:
    """A clean environment: the function's own variables, fake credentials, no config files, no bytecode writes,
    and the Lambda markers of `mode`."""
    return {
        **target.environment,
        **lambda_markers(mode, target.function_dir, target.name),
        **FAKE_CREDENTIALS,
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "missing-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "missing-credentials"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }


def run_once(target: ColdTarget, layer_dir: Path, runtime: Path, mode: str = HEADLINE_MODE) -> float | None:
    """One fresh process importing the target in `mode`'s environment: its seconds (also recorded), or None."""
    function_dir = "" if target.function_dir is None else str(target.function_dir)
    layer = "" if target.is_floor else str(layer_dir)
    # -I: ignore PYTHON* variables and the user site; -S: no site-packages; -B: never write .pyc (-I would
    # ignore PYTHONDONTWRITEBYTECODE, so it is passed as a flag too).
    command = [sys.executable, "-I", "-S", "-B", "-c", CHILD_CODE]
    command += [function_dir, layer, str(runtime), target.module, ",".join(NOTABLE_MODULES)]
    completed = subprocess.run(  # noqa: S603 - our own interpreter and code
        command, env=child_environment(target, runtime, mode), capture_output=True, text=True, timeout=120, check=False
    )
    if completed.returncode != 0:
        target.error = (completed.stderr.strip().splitlines() or ["failed"])[-1][:200]
        return None
    result: dict[str, Any] = ast.literal_eval(completed.stdout.strip().splitlines()[-1])
    seconds = float(result["seconds"])
    target.samples.setdefault(mode, []).append(seconds)
    target.cpu_samples.setdefault(mode, []).append(float(result["cpu_seconds"]))
    target.modules[mode] = int(result["modules"])
    target.notable[mode] = list(result["notable"])
    return seconds


def local_floor(floor_samples: Sequence[float], index: int) -> float:
    """The median of the floor sample at `index` and its neighbours in time (the ones before and after it).

    A process's own time moves by a third from one to the next on a busy 2-core machine; the median of three floor
    processes around a function's sample is steadier than the one just before it, and still as close in time."""
    window = floor_samples[max(0, index - 1) : index + 2]
    return sorted(window)[len(window) // 2] if len(window) != 2 else (window[0] + window[1]) / 2


def measure(
    specs: Sequence[FunctionSpec],
    runs: int,
    build_dir: Path = BUILD_DIR,
    modes: Sequence[str] = (HEADLINE_MODE, DETAIL_MODE),
) -> list[ColdTarget]:
    """Every function `runs` times in each of `modes`, right after a floor run, round-robin over the functions.

    On a shared machine the load moves between rounds by 2x or more; each function sample is therefore paired
    with the floor samples taken around it (local_floor: the one just before it, in the same round, before the
    function's samples of every mode, whose order alternates from round to round, and its two neighbours), and the
    ratio reported is the median of those paired ratios."""
    check_interpreter()
    for mode in modes:
        lambda_markers(mode, None, "")  # refuse an unknown mode before starting
    all_targets = targets(specs, build_dir)
    floor, functions = all_targets[0], all_targets[1:]
    layer_dir = build_dir / LAYER_LOGICAL_ID / "python"
    paired: list[tuple[ColdTarget, str, float, int]] = []  # (function, mode, seconds, index of its floor sample)
    with runtime_dir() as runtime:
        for round_number in range(runs):
            order = list(modes) if round_number % 2 == 0 else list(reversed(modes))
            for target in functions:
                if target.error is not None or floor.error is not None:
                    continue
                if target.function_dir is not None and not target.function_dir.is_dir():
                    target.error = "not built: run make build"
                    continue
                if run_once(floor, layer_dir, runtime, modes[0]) is None:
                    continue
                floor_index = len(floor.samples[modes[0]]) - 1
                for mode in order:
                    sample = run_once(target, layer_dir, runtime, mode)
                    if sample is not None:
                        paired.append((target, mode, sample, floor_index))
    floor_samples = floor.samples.get(modes[0], [])
    for target, mode, sample, floor_index in paired:
        target.ratios.setdefault(mode, []).append(sample / local_floor(floor_samples, floor_index))
    return all_targets


# ---------------------------------------------------------------- artifacts


def tree_size(path: Path) -> int:
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            total += (Path(directory) / name).lstat().st_size
    return total


def import_roots(path: Path) -> list[Path]:
    """Where Lambda imports from in an artifact: its root (function), python/ and python/lib/python3.x/site-packages
    (layer)."""
    roots = [path, path / "python", *sorted((path / "python" / "lib").glob("python3*/site-packages"))]
    return [root for root in roots if root.is_dir()]


def runtime_copies(path: Path) -> list[str]:
    """boto3/botocore/s3transfer packages or their dist-info found at an import root of the artifact."""
    found = []
    for root in import_roots(path):
        for entry in root.iterdir():
            base = entry.name.split("-", 1)[0].split(".", 1)[0].lower()
            if base in RUNTIME_ONLY:
                found.append(str(entry.relative_to(path)))
    return sorted(found)


def missing_bytecode(path: Path) -> tuple[int, list[str]]:
    """(number of .py files, those without a cpython-313 .pyc next to them in __pycache__)."""
    tag = sys.implementation.cache_tag
    sources = 0
    missing = []
    for directory, _, files in os.walk(path):
        for name in files:
            if not name.endswith(".py"):
                continue
            sources += 1
            compiled = Path(directory) / "__pycache__" / f"{name[:-3]}.{tag}.pyc"
            if not compiled.exists():
                missing.append(str((Path(directory) / name).relative_to(path)))
    return sources, missing


@dataclass
class Artifact:
    logical_id: str
    path: Path
    size: int
    runtime_copies: list[str]
    sources: int
    missing_bytecode: list[str]


def artifacts(logical_ids: Sequence[str], build_dir: Path = BUILD_DIR) -> list[Artifact]:
    found = []
    for logical_id in [LAYER_LOGICAL_ID, *logical_ids]:
        path = build_dir / logical_id
        if not path.is_dir():
            found.append(Artifact(logical_id, path, -1, [], 0, []))
            continue
        sources, missing = missing_bytecode(path)
        found.append(Artifact(logical_id, path, tree_size(path), runtime_copies(path), sources, missing))
    return found
