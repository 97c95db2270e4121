"""One architecture per build: where `make build ARCH=...` writes, and the check that fails a build shipping another
architecture's binaries.

`sam build` keeps a cache and a build.toml (beside the build folder, not in it). With one shared .aws-sam/build, an
arm64 build after an x86_64 one copied the cached x86_64 layer ("Valid cache found") and shipped x86-64
pydantic-core next to functions declared arm64. Each architecture now has its own folder, .aws-sam/<arch>/ holding
build/, cache/ and build.toml, so nothing built for one can be copied into the other; and after every build

    python -m devstack.build_arch check <arch> [<build dir>]

reads the ELF header of every extension module (*.so) under the build output and fails when any is not for <arch>.

    python -m devstack.build_arch check-stage <config env> <arch>

fails when samconfig.toml deploys that stage with another Architecture parameter than the build's (`make deploy`
runs it first: functions declared x86_64 with an arm64 layer would fail at their first import).

Only the standard library: the Makefile runs this right after a build.
"""

import argparse
import shlex
import sys
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AWS_SAM = ROOT / ".aws-sam"
SAMCONFIG = ROOT / "samconfig.toml"
DEFAULT_ARCHITECTURE = "x86_64"  # template.yaml's Architecture default
# Lambda's architecture names -> ELF e_machine (EM_X86_64, EM_AARCH64) and how `file` names it.
ELF_MACHINES = {"x86_64": 62, "arm64": 183}
MACHINE_NAMES = {62: "x86-64", 183: "aarch64"}
_ELF_MAGIC = b"\x7fELF"


def arch_dir(arch: str, root: Path = AWS_SAM) -> Path:
    """.aws-sam/<arch>: SAM puts build.toml in the parent of --build-dir, so that parent is per architecture too."""
    if arch not in ELF_MACHINES:
        raise ValueError(f"unknown architecture {arch!r}: one of {', '.join(ELF_MACHINES)}")
    return root / arch


def build_dir(arch: str, root: Path = AWS_SAM) -> Path:
    return arch_dir(arch, root) / "build"


def cache_dir(arch: str, root: Path = AWS_SAM) -> Path:
    return arch_dir(arch, root) / "cache"


def elf_machine(path: Path) -> int | None:
    """The ELF e_machine of a file, or None when it is not an ELF file."""
    with path.open("rb") as handle:
        header = handle.read(20)
    if len(header) < 20 or not header.startswith(_ELF_MAGIC):
        return None
    big_endian = header[5] == 2  # EI_DATA: 1 little-endian, 2 big-endian
    return int.from_bytes(header[18:20], "big" if big_endian else "little")


def extension_modules(root: Path) -> Iterator[Path]:
    """Every shared object under root: *.so and versioned *.so.N files."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and (path.name.endswith(".so") or ".so." in path.name):
            yield path


def describe(machine: int | None) -> str:
    if machine is None:
        return "not an ELF file"
    return MACHINE_NAMES.get(machine, f"ELF machine {machine}")


def foreign_modules(root: Path, arch: str) -> list[tuple[Path, str]]:
    """(module, what it is) for every extension module under root that the architecture cannot load."""
    expected = ELF_MACHINES[arch]
    foreign = []
    for path in extension_modules(root):
        machine = elf_machine(path)
        if machine != expected:
            foreign.append((path, describe(machine)))
    return foreign


def check(arch: str, root: Path) -> list[str]:
    """Problems with the build output at root for arch (empty when it may ship)."""
    if not root.is_dir():
        return [f"{root} does not exist: run make build ARCH={arch}"]
    return [
        f"{path.relative_to(root)} is {what}, not {MACHINE_NAMES[ELF_MACHINES[arch]]}"
        for path, what in foreign_modules(root, arch)
    ]


def stage_architecture(config_env: str, samconfig: Path = SAMCONFIG) -> str:
    """The Architecture parameter samconfig.toml deploys config_env with (the template default when not set)."""
    config = tomllib.loads(samconfig.read_text(encoding="utf-8"))
    if config_env not in config:
        raise ValueError(f"{samconfig.name} has no [{config_env}] environment")
    overrides = config[config_env].get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    tokens = shlex.split(overrides) if isinstance(overrides, str) else list(overrides)
    for token in tokens:
        name, _, value = token.partition("=")
        if name == "Architecture":
            return value
    return DEFAULT_ARCHITECTURE


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.build_arch", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check_parser = commands.add_parser("check", help="fail if a build output holds another architecture's binaries")
    check_parser.add_argument("arch", choices=sorted(ELF_MACHINES))
    check_parser.add_argument("build_dir", nargs="?", type=Path)
    stage_parser = commands.add_parser("check-stage", help="fail if samconfig deploys the stage for another arch")
    stage_parser.add_argument("config_env")
    stage_parser.add_argument("arch", choices=sorted(ELF_MACHINES))
    args = parser.parse_args(argv)

    if args.command == "check":
        root = args.build_dir or build_dir(args.arch)
        problems = check(args.arch, root)
        if problems:
            print(f"{root}: this {args.arch} build holds binaries it cannot load; nothing may be deployed from it:")
            for problem in problems:
                print(f"  {problem}")
            return 1
        count = len(list(extension_modules(root)))
        print(f"{root}: {count} extension modules, all {MACHINE_NAMES[ELF_MACHINES[args.arch]]}")
        return 0

    deployed = stage_architecture(args.config_env)
    if deployed != args.arch:
        print(
            f"samconfig.toml deploys {args.config_env} with Architecture={deployed}, but this build is {args.arch}: "
            f"run make deploy ARCH={deployed}, or set Architecture={args.arch} in [{args.config_env}.deploy."
            "parameters] parameter_overrides"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
