"""python -m devstack.sam_local: is there a container runtime `sam local` can use? (make invoke, make start-api)

`sam local` runs each function in a container. This asks SAM CLI itself (the same check `sam local` makes: Docker,
or a DOCKER_HOST such as Podman's socket, then Finch) and, when none answers, says plainly which runtimes are
installed but not running, or that none is installed, and points to `make run`, which needs none. Exit status 0
when one answers, 2 otherwise.
"""

import shutil
import sys

RUNTIMES = ("docker", "podman", "finch")


def runtime_reachable() -> bool:
    from samcli.local.docker.container_client_factory import ContainerClientFactory
    from samcli.local.docker.exceptions import ContainerNotReachableException

    try:
        ContainerClientFactory.create_client()
    except ContainerNotReachableException:
        return False
    return True


def no_runtime_message(installed: list[str]) -> str:
    if installed:
        found = " and ".join(installed)
        why = f"{found} {'is' if len(installed) == 1 else 'are'} installed but no container engine answers"
        hint = "start it (for Podman, also export DOCKER_HOST to its socket)"
    else:
        why = f"no container runtime is installed ({', '.join(RUNTIMES)} not found)"
        hint = "install Docker, Podman or Finch"
    return (
        f"sam local needs a container runtime: {why}. To use sam local, {hint}. "
        "Without one, `make run` serves every function on http://127.0.0.1:3000 with no container at all."
    )


def main() -> int:
    if runtime_reachable():
        return 0
    print(no_runtime_message([name for name in RUNTIMES if shutil.which(name)]), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
