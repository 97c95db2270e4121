"""Unit tests never touch the network: any socket is an error, unless a test opts in with pytest-socket's
`@pytest.mark.enable_socket` or `@pytest.mark.allow_hosts([...])` markers."""

from collections.abc import Iterator

import pytest
from pytest_socket import disable_socket, enable_socket


@pytest.fixture(autouse=True)
def _no_network(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("enable_socket") or request.node.get_closest_marker("allow_hosts"):
        yield
        return
    disable_socket(allow_unix_socket=False)
    yield
    enable_socket()
