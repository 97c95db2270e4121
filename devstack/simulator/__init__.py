"""Bolt simulator: Bolt's side of checkout, signed like Bolt, played against the local stack or a deployed stage.

  python -m devstack.simulator --base-url URL [--secret S | --secret-id NAME] [--pending-secret P]
                               [--scenario NAME ...] [--checkouts N --concurrency C] [--no-token]
                               [--routes universal|split] [--order-view auto|sigv4|off] [--seed N]
  python -m devstack.simulator.demo   (make demo: local stack on a free port, every scenario, then stops it)

payloads.py holds what Bolt knows about each checkout (cart, chosen delivery, payment) and turns it into what Bolt
sends, built and signed by devstack/bolt_payloads.py; client.py sends it and records a timeline; scenarios.py plays
the checkouts and checks every answer and the final order; run_checkout() is one happy-path checkout for the
benchmark (thread-safe), run_load() many of them at once.
"""

from devstack.simulator.load import LoadResult, run_load
from devstack.simulator.scenarios import BENCH_ITEMS, SCENARIOS, CheckoutResult, run_checkout, run_scenario
from devstack.simulator.shopper import Options

__all__ = [
    "BENCH_ITEMS",
    "SCENARIOS",
    "CheckoutResult",
    "LoadResult",
    "Options",
    "run_checkout",
    "run_load",
    "run_scenario",
]
