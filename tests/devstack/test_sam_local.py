"""make invoke / make start-api without a container runtime: one plain message pointing to `make run`, before any
build (devstack/sam_local.py asks SAM CLI's own runtime check)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.template import ROOT

NO_ENGINE = "unix:///nonexistent/docker.sock"  # SAM's Docker check then finds no engine


def sam_local(path: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DOCKER_HOST": NO_ENGINE, "PATH": str(path)}
    return subprocess.run(
        [sys.executable, "-m", "devstack.sam_local"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_no_runtime_installed_says_so_and_points_to_make_run(tmp_path: Path) -> None:
    finished = sam_local(tmp_path)

    assert finished.returncode == 2
    assert finished.stderr.strip() == (
        "sam local needs a container runtime: no container runtime is installed (docker, podman, finch not found)."
        " To use sam local, install Docker, Podman or Finch. Without one, `make run` serves every function on"
        " http://127.0.0.1:3000 with no container at all."
    )


def test_a_runtime_installed_but_not_running_is_named(tmp_path: Path) -> None:
    podman = tmp_path / "podman"
    podman.write_text("#!/bin/sh\nexit 1\n")
    podman.chmod(0o755)

    finished = sam_local(tmp_path)

    assert finished.returncode == 2
    assert "podman is installed but no container engine answers" in finished.stderr
    assert "export DOCKER_HOST" in finished.stderr


@pytest.mark.parametrize("target", ["invoke", "start-api"])
def test_make_stops_before_building_when_no_runtime_answers(target: str) -> None:
    event = "events/shipping/universal_valid.json"
    finished = subprocess.run(
        ["make", "--no-print-directory", target, "FUNCTION=ShippingFunction", f"EVENT={event}"],
        cwd=ROOT,
        env={**os.environ, "DOCKER_HOST": NO_ENGINE},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert finished.returncode == 2
    assert "sam local needs a container runtime" in finished.stderr
    assert "`make run` serves every function" in finished.stderr
    assert "sam build" not in finished.stdout
