"""Bolt is the system of record for money (issue 12's acceptance run): at least 200 checkouts on the local stack
where Bolt and the operators misbehave at once (dropped, held, reordered and duplicated webhooks, changes made in
Bolt's dashboard without a webhook, lost answers, concurrent refunds, reviews, dropped order.create calls), then one
reconciliation pass, then every payment in the fake Bolt's books compared with its order
(devstack/simulator/chaos.py). 0 lost orders, 0 orders whose money differs from Bolt's, 0 contradictions without a
hold, no 5xx beyond the webhook's designed retry-later.
"""

from collections.abc import Iterator

import pytest

from devstack.process import stack_process
from devstack.settings import DEFAULT_SIGNING_SECRET
from devstack.simulator.bolt_side import discover
from devstack.simulator.chaos import run_chaos
from devstack.simulator.client import Target
from tests.local_stack import stack_environment
from tests.reliability.conftest import examples
from tests.reliability.harness import area

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.allow_hosts(["127.0.0.1"])]

DIVERGENCE = area("bolt divergence")
CHECKOUTS = 200


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with stack_process(stack_environment()) as stack:
        yield stack.url


def test_after_chaos_and_one_reconciliation_pass_every_order_agrees_with_bolt(base_url: str) -> None:
    bolt = discover(Target(base_url, DEFAULT_SIGNING_SECRET))
    assert bolt is not None, "the local stack names no fake Bolt"

    report = run_chaos(
        base_url, DEFAULT_SIGNING_SECRET, bolt, checkouts=examples(CHECKOUTS), concurrency=8, seed=20261207
    )

    DIVERGENCE.count(
        cases=len(report.compared),
        lost_orders=len(report.lost),
        divergent=len(report.divergent),
        unheld=len(report.unheld),
        unexpected_5xx=len(report.unexpected),
    )
    print(report.text())
    assert len(report.compared) >= CHECKOUTS  # every checkout paid at Bolt
    assert report.ok, report.text()
    # the run exercised what it claims to: each kind of trouble happened
    for trouble in ("webhook drop", "webhook hold", "webhook duplicate", "order.create dropped", "Bolt answer lost"):
        assert report.counts[trouble] > 0, trouble
    assert report.reconciled["changed"] > 0
    assert report.reconciled["recovered"] > 0
