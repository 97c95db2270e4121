"""A build for one architecture ships only that architecture's binaries, whatever was built before it.

The switching tests run the real `make build` (sam build, the layer's pip install for the target platform) in a copy
of the repository, so the developer's own .aws-sam is left alone; what `make deploy` would ship is read from its
dry run (`make -n deploy`): the template it passes to `sam deploy`, and the build folder beside it.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from devstack import build_arch
from devstack.template import ROOT

COPIED = ("Makefile", "template.yaml", "samconfig.toml", "pyproject.toml", "uv.lock", "functions", "layers", "devstack")
SAM_DEFAULT_TEMPLATE = ".aws-sam/build/template.yaml"  # what `sam deploy` reads without --template-file


def elf_header(machine: int, *, big_endian: bool = False) -> bytes:
    data = 2 if big_endian else 1
    return b"\x7fELF" + bytes([2, data, 1]) + bytes(11) + machine.to_bytes(2, "big" if big_endian else "little")


# ---------------------------------------------------------------- the ELF check


def test_elf_machine_reads_the_header(tmp_path: Path) -> None:
    x86 = tmp_path / "a.so"
    x86.write_bytes(elf_header(62) + bytes(64))
    arm = tmp_path / "b.so"
    arm.write_bytes(elf_header(183, big_endian=True) + bytes(64))
    text = tmp_path / "c.so"
    text.write_bytes(b"not a shared object at all")

    assert build_arch.elf_machine(x86) == 62
    assert build_arch.elf_machine(arm) == 183
    assert build_arch.elf_machine(text) is None


def test_the_check_names_every_module_the_architecture_cannot_load(tmp_path: Path) -> None:
    (tmp_path / "Layer" / "python" / "pkg").mkdir(parents=True)
    (tmp_path / "Layer" / "python" / "pkg" / "_native.cpython-313-x86_64-linux-gnu.so").write_bytes(elf_header(62))
    (tmp_path / "Layer" / "python" / "pkg" / "_other.cpython-313-aarch64-linux-gnu.so").write_bytes(elf_header(183))
    (tmp_path / "Layer" / "python" / "libz.so.1").write_bytes(elf_header(62))
    (tmp_path / "Layer" / "python" / "pkg" / "module.py").write_text("x = 1\n")

    assert build_arch.check("x86_64", tmp_path) == [
        "Layer/python/pkg/_other.cpython-313-aarch64-linux-gnu.so is aarch64, not x86-64"
    ]
    assert build_arch.check("arm64", tmp_path) == [
        "Layer/python/libz.so.1 is x86-64, not aarch64",
        "Layer/python/pkg/_native.cpython-313-x86_64-linux-gnu.so is x86-64, not aarch64",
    ]
    assert build_arch.main(["check", "arm64", str(tmp_path)]) == 1
    assert build_arch.main(["check", "x86_64", str(tmp_path / "missing")]) == 1


def test_deploying_a_stage_needs_its_configured_architecture(tmp_path: Path) -> None:
    config = tmp_path / "samconfig.toml"
    config.write_text(
        'version = 0.1\n[dev.deploy.parameters]\nparameter_overrides = "Environment=dev LogLevel=DEBUG"\n'
        '[prod.deploy.parameters]\nparameter_overrides = "Environment=prod Architecture=arm64"\n'
    )
    assert build_arch.stage_architecture("dev", config) == "x86_64"  # the template's default
    assert build_arch.stage_architecture("prod", config) == "arm64"
    with pytest.raises(ValueError, match="staging"):
        build_arch.stage_architecture("staging", config)


# ---------------------------------------------------------------- the real build, both ways


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of what `make build` reads, sharing this checkout's virtualenv."""
    if not (ROOT / ".venv" / "bin" / "sam").exists():
        pytest.fail("run through make: the virtualenv with SAM CLI is missing")
    copy = tmp_path_factory.mktemp("repo")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__", ".aws-sam"))
        else:
            shutil.copy2(source, copy / name)
    (copy / ".venv").symlink_to(ROOT / ".venv")
    return copy


def make(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # -o: the shared virtualenv is up to date (the copies of pyproject.toml and uv.lock are newer than its stamp).
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("MAKE", "MFLAGS"))}
    return subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.synced", *args],
        cwd=workspace,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def deployed_build(workspace: Path, arch: str) -> Path:
    """The build folder `make deploy ARCH=arch` hands to `sam deploy` (from its dry run)."""
    dry_run = make(workspace, "-n", "deploy", f"ARCH={arch}")
    assert dry_run.returncode == 0, dry_run.stdout + dry_run.stderr
    deploys = [line for line in dry_run.stdout.splitlines() if re.search(r"\bsam deploy\b", line)]
    assert len(deploys) == 1, dry_run.stdout
    template = re.search(r"--template-file[= ](\S+)", deploys[0])
    return (workspace / (template.group(1) if template else SAM_DEFAULT_TEMPLATE)).parent


def machines(build: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in build_arch.extension_modules(build):
        found.setdefault(build_arch.describe(build_arch.elf_machine(path)), set()).add(path.name)
    return found


def test_switching_architectures_ships_only_the_new_architectures_binaries(workspace: Path) -> None:
    for arch in ("x86_64", "arm64", "x86_64", "arm64"):
        built = make(workspace, "build", f"ARCH={arch}")
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
        assert "has BuildArchitecture" not in built.stdout + built.stderr  # SAM builds the layer for ARCH

        found = machines(deployed_build(workspace, arch))
        expected = build_arch.MACHINE_NAMES[build_arch.ELF_MACHINES[arch]]
        assert set(found) == {expected}, f"after make build ARCH={arch}: {found}"
        assert any(name.startswith("_pydantic_core") for name in found[expected])


def test_a_build_holding_a_binary_for_another_architecture_fails(workspace: Path) -> None:
    # Given an x86-64 shared object that reaches the layer (a vendored library, a stale wheel)
    stray = workspace / "layers" / "shared" / "python" / "bolt_merchant" / "_stray.cpython-313-x86_64-linux-gnu.so"
    stray.write_bytes(elf_header(62) + bytes(64))
    try:
        # Then the arm64 build fails and names it
        built = make(workspace, "build", "ARCH=arm64")
        assert built.returncode != 0
        assert "_stray.cpython-313-x86_64-linux-gnu.so is x86-64, not aarch64" in built.stdout
        # while the x86_64 build, which can load it, still passes
        assert make(workspace, "build", "ARCH=x86_64").returncode == 0
    finally:
        stray.unlink()
