"""The Bolt simulator against the local stack: every scenario passes, the split routes too, concurrent checkouts
for the benchmark, the CLI's exit status, and a wrong secret is caught as a failure."""

from collections.abc import Iterator

import pytest

from devstack.settings import bolt_secret_document
from devstack.simulator import SCENARIOS, Options, run_checkout, run_load
from devstack.simulator.cli import main, play
from devstack.simulator.demo import local_stack
from devstack.simulator.report import timeline_text

pytestmark = pytest.mark.e2e

SECRETS = bolt_secret_document()


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with local_stack(0) as url:
        yield url


def test_every_scenario_passes_signed_with_both_secrets(base_url: str) -> None:
    timelines = play(
        base_url,
        SECRETS["signing_secret"],
        SECRETS["signing_secret_pending"],
        list(SCENARIOS),
        Options(seed=11),
        out=False,
    )

    failed = [timeline_text(t) for t in timelines if not t.ok]
    assert not failed, "\n\n".join(failed)
    # every scenario read its final order back from the back office, and shows the order its header names
    assert all(t.final_order is not None for t in timelines)
    assert {t.title: t.final_order["order_id"] for t in timelines if t.final_order} == {
        t.title: t.order_id for t in timelines
    }
    assert {t.final_order["status"] for t in timelines if t.final_order} == {
        "captured",
        "cancelled",
        "authorized",
        "partially_refunded",
        "on_hold",
    }


def test_happy_path_through_the_per_hook_routes_in_bolts_legacy_shape(base_url: str) -> None:
    [timeline] = play(base_url, SECRETS["signing_secret"], None, ["happy"], Options(seed=12), routes="split", out=False)

    assert timeline.ok, timeline_text(timeline)


def test_concurrent_checkouts_for_the_benchmark(base_url: str) -> None:
    load = run_load(base_url, SECRETS["signing_secret"], checkouts=4, concurrency=2, seed=1000)

    assert load.errors == 0, load.text()
    assert load.invariant_violations == 0
    assert len({r.order_id for r in load.results}) == 4
    assert all(r.requests >= 10 for r in load.results)


def test_one_checkout_without_the_token_step_or_the_order_view(base_url: str) -> None:
    result = run_checkout(base_url, SECRETS["signing_secret"], rng_seed="no-token", token=False, verify_order=False)

    assert result.ok, result.errors
    assert result.order_id is not None
    assert result.order_id.startswith("BO-")
    assert result.seconds > 0


def test_cli_exit_status(base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    passed = main(["--base-url", base_url, "--secret", SECRETS["signing_secret"], "--scenario", "fraud-review"])
    refused = main(["--base-url", base_url, "--secret", "not-the-secret", "--scenario", "happy"])

    out = capsys.readouterr().out
    assert passed == 0
    assert refused == 1
    assert "HTTP 401, expected 200" in out
    assert "1 scenarios: 0 passed, 1 failed" in out
