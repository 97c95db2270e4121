"""The scenarios the Bolt simulator plays, and one checkout for the benchmark.

Each scenario records a Timeline (devstack/simulator/client.py) through a Shopper (shopper.py). The SKUs and codes
are the demo catalog's (data/demo-catalog.json).

Stock: the demo catalog has 200 MUG-12OZ, 1000 GIFT-25 and 1 LAST-ONE. One run of every scenario keeps 4 mugs and
6 gift cards (captured or authorised orders keep their stock); the declined-card scenario gives its LAST-ONE back.
`make load-catalog` resets the stock of a deployed stage; the local stack starts fresh every time.
"""

import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import requests

from devstack.simulator.client import Aborted, Signer, Target, Timeline
from devstack.simulator.money import MONEY_SCENARIOS
from devstack.simulator.shopper import ORDER_REJECTED, Expected, Options, ScenarioFn, Shopper


def happy_path(target: Target, timeline: Timeline, options: Options) -> None:
    """Cart, token, shipping, tax, discount, order.create, then pending, auth and capture of the whole total."""
    shopper = Shopper(target, timeline, f"{options.seed}:happy", token=options.token)
    shopper.until_order_create([("MUG-12OZ", 1), ("GIFT-25", 1)], "standard", discount=("WELCOME10", "fixed_amount"))
    shopper.order_create()
    total = shopper.state.total
    keys = shopper.pay_in_full()
    shopper.check_order(Expected("captured", total, total, 0, frozenset(keys)))


def declined_card(target: Target, timeline: Timeline, options: Options) -> None:
    """failed_payment after order.create: the order is cancelled and its stock released (the last poster is
    bought again by a second shopper, then declined again so the stock ends as it started)."""
    first = Shopper(target, timeline, f"{options.seed}:declined", token=options.token)
    first.until_order_create([("LAST-ONE", 1)], "standard")
    first.order_create()
    first.send(first.hook("failed_payment"))
    first.check_order(Expected("cancelled", 0, 0, 0, frozenset({first.key("failed_payment")})))
    first.send(first.hook("failed_payment"), ("duplicate",), label="webhook failed_payment (replayed)")
    first.order_create_refused(ORDER_REJECTED, "order.create retried after the decline")

    second = Shopper(target, timeline, f"{options.seed}:declined-2", token=options.token, who="shopper 2:")
    second.until_order_create([("LAST-ONE", 1)], "standard")
    second.order_create("order.create (the released unit)")
    second.send(second.hook("failed_payment"))
    second.check_order(Expected("cancelled", 0, 0, 0, frozenset({second.key("failed_payment")})))
    timeline.order_id = first.order_id


def fraud_review(target: Target, timeline: Timeline, options: Options) -> None:
    """pending, then rejected_reversible (manual review), then auth once the merchant approves."""
    shopper = Shopper(target, timeline, f"{options.seed}:fraud", token=options.token)
    shopper.until_order_create([("MUG-12OZ", 1), ("GIFT-25", 2)], "standard", discount=("FREESHIP", "free_shipping"))
    shopper.order_create()
    total = shopper.state.total
    shopper.send(shopper.hook("pending"))
    shopper.send(shopper.hook("rejected_reversible"))
    review_keys = {shopper.key("pending"), shopper.key("rejected_reversible")}
    shopper.check_order(Expected("payment_review", 0, 0, 0, frozenset(review_keys)), "order view (in review)")
    shopper.send(shopper.hook("auth"))
    shopper.check_order(Expected("authorized", total, 0, 0, frozenset({*review_keys, shopper.key("auth")})))


def partial_refunds(target: Target, timeline: Timeline, options: Options) -> None:
    """Picked up in store; auth, full capture, then two partial credits with their own transaction ids."""
    shopper = Shopper(target, timeline, f"{options.seed}:refunds", token=options.token)
    shopper.until_order_create([("MUG-12OZ", 1), ("GIFT-25", 1)], "store-sf")
    shopper.order_create()
    total = shopper.state.total
    keys = shopper.pay_in_full()
    first, second = total // 4, total // 5
    credits = [shopper.credit(first), shopper.credit(second)]
    for hook in credits:
        shopper.send(hook)
    keys |= set(map(shopper.credit_key, credits))
    shopper.check_order(Expected("partially_refunded", total, total, first + second, frozenset(keys)))


def out_of_order(target: Target, timeline: Timeline, options: Options) -> None:
    """order.create twice (Bolt's retry), then pending, auth, two captures and a credit in a shuffled order,
    then all of them again in another order: every replay is a duplicate and the order ends the same."""
    shopper = Shopper(target, timeline, f"{options.seed}:out-of-order", token=options.token)
    shopper.until_order_create([("GIFT-25", 2)], "noshipping")
    shopper.order_create()
    shopper.order_create("order.create (Bolt retries)")
    total = shopper.state.total
    part = total // 3
    credit = total // 10
    hooks = [
        shopper.hook("pending"),
        shopper.hook("auth"),
        shopper.capture(part),
        shopper.capture(total - part),
        shopper.credit(credit),
    ]
    rng = random.Random(f"{options.seed}:shuffle")  # noqa: S311 - an arrival order, not a secret
    first_pass = rng.sample(hooks, len(hooks))
    timeline.note("arrival order", ", ".join(h.label.removeprefix("webhook ") for h in first_pass))
    for hook in first_pass:
        # an auth after a capture (which implied it), or a capture whose ids arrived already, changes nothing; a
        # credit ahead of its capture holds the order until the capture arrives
        shopper.send(hook, ("applied", "duplicate", "held"))
    keys = {shopper.key("pending"), shopper.key("auth"), *shopper.capture_keys(), shopper.credit_key(hooks[-1])}
    expected = Expected("partially_refunded", total, total, credit, frozenset(keys))
    before = shopper.check_order(expected, "order view (after the shuffle)")
    for hook in rng.sample(hooks, len(hooks)):
        shopper.send(hook, ("duplicate",), label=f"{hook.label} (replayed)")
    after = shopper.check_order(expected)
    if before is not None and after is not None:
        timeline.steps[-1].check(
            after.get("version") == before.get("version"),
            f"replays changed the order (version {before.get('version')} -> {after.get('version')})",
        )


def dropped_order(target: Target, timeline: Timeline, options: Options) -> None:
    """order.create never reached the merchant; Bolt authorised anyway and its pending webhook (with the cart in
    data.order.cart) creates the order."""
    shopper = Shopper(target, timeline, f"{options.seed}:dropped", token=options.token)
    shopper.until_order_create([("MUG-12OZ", 1)], "express", discount=("WELCOME10", "fixed_amount"))
    timeline.note("order.create", "dropped: never reaches the merchant")
    total = shopper.state.total
    pending = shopper.send(shopper.hook("pending"))
    step = timeline.steps[-1]
    order_id = step.need(pending.field("display_id"), "display_id of the recovered order")
    step.fact(f"order {order_id} created from data.order.cart")
    shopper._adopt(str(order_id))
    for hook in (shopper.hook("auth"), shopper.capture(total)):
        shopper.send(hook)
    keys = {shopper.key("pending"), shopper.key("auth"), *shopper.capture_keys()}
    shopper.check_order(Expected("captured", total, total, 0, frozenset(keys)))


SCENARIOS: dict[str, tuple[str, ScenarioFn]] = {
    "happy": ("happy path", happy_path),
    "declined": ("declined card", declined_card),
    "fraud-review": ("fraud review", fraud_review),
    "refunds": ("partial refunds", partial_refunds),
    "out-of-order": ("out-of-order and duplicate webhooks", out_of_order),
    "dropped-order": ("dropped order", dropped_order),
    **MONEY_SCENARIOS,
}


def run_scenario(name: str, target: Target, options: Options) -> Timeline:
    title, play = SCENARIOS[name]
    timeline = Timeline(title)
    try:
        play(target, timeline, options)
    except Aborted:
        pass  # the problem is on the timeline
    except Exception as exc:  # a bug or an answer of an unexpected shape: reported, not a traceback
        timeline.note("error", "").problems.append(f"{type(exc).__name__}: {exc}")
    timeline.finished = time.perf_counter()
    return timeline


# ---------------------------------------------------------------- one checkout for the benchmark
# GIFT-25 is digital (no parcel, untaxed) and 1000 are in stock: a fresh local stack takes 1000 of these checkouts.
BENCH_ITEMS: tuple[tuple[str, int], ...] = (("GIFT-25", 1),)
BENCH_DISCOUNT = "WELCOME10"  # max_uses 10000


@dataclass
class CheckoutResult:
    ok: bool
    errors: list[str]
    seconds: float
    order_id: str | None = None
    requests: int = 0
    # the subset of errors about the final order's money and ledger (the benchmark's "invariant violations")
    invariant_violations: list[str] = field(default_factory=list)
    timeline: Timeline | None = None


_sessions = threading.local()


def _thread_session() -> requests.Session:
    session: requests.Session | None = getattr(_sessions, "session", None)
    if session is None:
        session = requests.Session()
        _sessions.session = session
    return session


def run_checkout(
    base_url: str,
    secret: str,
    *,
    rng_seed: int | str,
    pending_secret: str | None = None,
    token: bool = True,
    verify_order: bool = True,
    items: Sequence[tuple[str, int]] = BENCH_ITEMS,
    timeout: float = 15.0,
    session: requests.Session | None = None,
    order_view_signer: Signer | None = None,
) -> CheckoutResult:
    """One full happy-path checkout: cart, token, shipping, tax, discount, order.create, pending, auth, capture,
    and (verify_order) the final order read back and checked. Thread-safe: each thread uses its own
    requests.Session unless one is given; ids come from rng_seed and the server's cart id, so they never repeat.
    """
    target = Target(
        base_url,
        secret,
        pending_secret,
        session=session or _thread_session(),
        timeout=timeout,
        order_view="sigv4" if order_view_signer else "auto",
        order_view_signer=order_view_signer,
    )
    if not verify_order:
        target.order_view_unavailable = "not verified"
    timeline = Timeline("checkout")
    shopper = Shopper(target, timeline, f"bench:{rng_seed}", token=token)
    try:
        shopper.until_order_create(items, "noshipping", "standard", discount=(BENCH_DISCOUNT, "fixed_amount"))
        shopper.order_create()
        total = shopper.state.total
        keys = shopper.pay_in_full()
        if verify_order:
            shopper.check_order(Expected("captured", total, total, 0, frozenset(keys)))
    except Aborted:
        pass
    except Exception as exc:
        timeline.note("error", "").problems.append(f"{type(exc).__name__}: {exc}")
    timeline.finished = time.perf_counter()
    errors = timeline.problems
    return CheckoutResult(
        ok=not errors,
        errors=errors,
        seconds=timeline.seconds,
        order_id=shopper.order_id,
        requests=sum(1 for step in timeline.steps if step.status is not None),
        invariant_violations=[e for e in errors if e.startswith("order view") or "invariant:" in e],
        timeline=timeline,
    )
