"""Tests of the local stack itself (devstack/), apart from the product's. Like unit tests they never touch the
network: any socket is an error, unless a test opts in with pytest-socket's `@pytest.mark.enable_socket` or
`@pytest.mark.allow_hosts([...])` markers."""

from tests.support import no_network  # noqa: F401 - the autouse network guard, applied to this folder
