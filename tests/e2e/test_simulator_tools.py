"""The simulator's tools against the local stack: trigger builds a webhook from the order's real state, deliveries
lists what the stack received, resend replays one byte for byte, tail follows them."""

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.process import stack_process
from devstack.settings import DEFAULT_SIGNING_SECRET
from devstack.simulator import run_checkout
from devstack.simulator.cli import main
from devstack.simulator.client import Target
from devstack.simulator.tools import tail
from tests.local_stack import request, stack_environment

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with stack_process(stack_environment(LOCAL_POLLERS="0", LOCAL_CONTAINERS="2")) as stack:
        yield stack.url


@pytest.fixture(scope="module")
def order_id(base_url: str) -> str:
    """A captured order, paid in full through the happy path's webhooks."""
    result = run_checkout(base_url, DEFAULT_SIGNING_SECRET, rng_seed="tools")
    assert result.ok, result.errors
    return str(result.order_id)


def tool(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main([*argv])
    output = capsys.readouterr()
    return status, output.out, output.err


def order(base_url: str, order_id: str) -> dict[str, Any]:
    reply = request(base_url, "GET", f"/orders/{order_id}")
    assert reply.status == 200, reply
    body: dict[str, Any] = reply.body
    return body


def deliveries(base_url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = request(base_url, "GET", "/_local/deliveries").body["deliveries"]
    return found


def test_trigger_credit_is_applied_and_a_second_auth_is_a_duplicate(
    base_url: str, order_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = order(base_url, order_id)["amounts"]

    credited = tool(capsys, "--base-url", base_url, "trigger", "credit", "--order", order_id, "--amount", "500")
    again = tool(capsys, "--base-url", base_url, "trigger", "auth", "--order", order_id)

    assert credited[0] == 0
    assert credited[1].startswith(f"credit for {order_id}: 200 applied")
    # the same transaction id and amount as the order's own authorisation: Bolt's redelivery, not a new fact
    assert again[1].startswith(f"auth for {order_id}: 200 duplicate")
    after = order(base_url, order_id)["amounts"]
    assert after["refunded"] == before["refunded"] + 500
    assert after["authorized"] == before["authorized"]


def test_trigger_for_an_unknown_order_says_so(base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = tool(capsys, "--base-url", base_url, "trigger", "capture", "--order", "BO-UNKNOWN000")

    assert (status, out) == (1, "")
    assert err.strip() == (
        f"trigger: cannot read order BO-UNKNOWN000 at {base_url}: GET /orders/BO-UNKNOWN000 answered 404"
        " (7001: Order not found)"
    )


def test_deliveries_lists_hooks_and_webhooks_with_their_status_and_result(
    base_url: str, order_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = tool(capsys, "--base-url", base_url, "deliveries")

    assert status == 0
    rows = [line.split() for line in out.splitlines()]
    assert ["hook", "order.create", "200", "ok", order_id] in [row[2:7] for row in rows]
    assert ["webhook", "capture", "200", "applied", order_id] in [row[2:7] for row in rows]
    assert {row[-1] for row in rows} <= {"/bolt/universal", "/bolt/webhooks/transaction"}


def test_resend_replays_the_exact_bytes_and_headers(
    base_url: str, order_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    original = next(d for d in reversed(deliveries(base_url)) if d["event"] == "capture")

    status, out, _ = tool(capsys, "--base-url", base_url, "resend", str(original["id"]))

    assert status == 0
    assert out.startswith(f"resent delivery {original['id']} (webhook capture, ")
    assert out.strip().endswith(f": 200 duplicate {order_id}")
    replayed = deliveries(base_url)[-1]
    first = request(base_url, "GET", f"/_local/deliveries/{original['id']}").body
    second = request(base_url, "GET", f"/_local/deliveries/{replayed['id']}").body
    assert second["body_base64"] == first["body_base64"]
    assert second["headers"] == first["headers"]
    assert (second["status"], second["result"]) == (200, f"duplicate {order_id}")


def test_resend_of_an_unknown_delivery_says_so(base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = tool(capsys, "--base-url", base_url, "resend", "999999")

    assert status == 1
    assert "answered 404" in err


def test_tail_prints_each_new_delivery_as_it_arrives(base_url: str, order_id: str) -> None:
    shown: list[str] = []
    follower = threading.Thread(target=tail, args=(Target(base_url, DEFAULT_SIGNING_SECRET), 1, shown.append, 0.05))
    follower.start()
    while not shown:  # tail has read where the log stands
        follower.join(0.05)
    assert main(["--base-url", base_url, "trigger", "rejected_reversible", "--order", order_id]) == 0
    follower.join(10)

    assert not follower.is_alive()
    [header, line] = shown
    assert header == f"following {base_url}/_local/deliveries (Ctrl-C stops)"
    assert line.split()[2:5] == ["webhook", "rejected_reversible", "200"]
