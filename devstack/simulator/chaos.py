"""Many checkouts where Bolt and the operators do everything at once, then one reconciliation pass, then every
payment in the fake Bolt's books compared with its order (python -m devstack.simulator --chaos N).

Each checkout draws a story from its own seeded random generator: order.create may be dropped; Bolt's webhooks
for the payment may be dropped (as when Bolt gives up: at most one per payment, and never its only one, since a
payment the merchant never heard of has no reference to ask Bolt about), held back (delivered at the end, in a
shuffled order) or delivered twice; the
payment may be captured at once, flagged for review, or left authorised; then the operator and Bolt's dashboard
act on it (captures, refunds, cancels, reviews, some answers lost on the way back, some refunds at the same time,
dashboard changes with and without their webhook). Against the local stack only: it needs the fake Bolt.

The figures: how many payments Bolt holds whose order is missing (lost), whose money differs from Bolt's by
capture and credit ids and amounts (divergent), and orders whose money contradicts itself without a hold
(unheld); each must be 0. Answers 5xx other than the webhook's designed retry-later are counted too.
"""

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from devstack.simulator.bolt_side import Divergence, FakeBoltControl, divergences
from devstack.simulator.client import Aborted, Answer, Target, Timeline
from devstack.simulator.payloads import order_cart
from devstack.simulator.shopper import Shopper

# A pass takes what falls due within this look-ahead: every order opened in the run (due an hour after it was
# last looked at), and nothing the pass itself has just checked (due two hours later).
PASS_AHEAD_SECONDS = 90 * 60
MAX_RECONCILER_RUNS = 50
WEBHOOK_FAULTS = (("drop", 0.12), ("hold", 0.15), ("duplicate", 0.1))
STORIES = (
    "left authorised",
    "operator captures all",
    "operator captures part, refunds part",
    "dashboard capture, operator cancels",
    "dashboard capture and credit, no webhooks",
    "dashboard void, no webhook",
    "operator cancels",
    "concurrent refunds",
    "review approved",
    "review rejected",
)
ITEMS = (("GIFT-25", 1), ("MUG-12OZ", 1), ("GIFT-25", 2))


@dataclass
class ChaosReport:
    checkouts: int
    seconds: float = 0.0
    counts: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)  # 5xx answers and checkouts that could not run
    reconciler_runs: int = 0
    reconciled: Counter[str] = field(default_factory=Counter)
    compared: list[Divergence] = field(default_factory=list)

    @property
    def lost(self) -> list[Divergence]:
        return [d for d in self.compared if d.lost]

    @property
    def divergent(self) -> list[Divergence]:
        return [d for d in self.compared if d.problems and not d.lost]

    @property
    def unheld(self) -> list[Divergence]:
        return [d for d in self.compared if d.unheld]

    def text(self) -> str:
        held = sum(1 for d in self.compared if d.held)
        lines = [
            f"{self.checkouts} chaotic checkouts in {self.seconds:.1f} s; {len(self.compared)} payments at Bolt, "
            f"{held} orders on hold after reconciliation",
            *(f"  {count:4d}  {name}" for name, count in sorted(self.counts.items())),
            f"  reconciliation: {self.reconciler_runs} runs, "
            + ", ".join(f"{name} {count}" for name, count in sorted(self.reconciled.items())),
            f"  lost orders {len(self.lost)}, orders whose money differs from Bolt's {len(self.divergent)}, "
            f"contradictions without a hold {len(self.unheld)}, unexpected answers {len(self.unexpected)}",
        ]
        for divergence in [*self.lost, *self.divergent, *self.unheld][:10]:
            problems = "; ".join([*divergence.problems, *divergence.unheld])
            lines.append(f"  !! {divergence.order_id or divergence.cart_id}: {problems[:300]}")
        lines += [f"  !! {problem[:300]}" for problem in self.unexpected[:10]]
        return "\n".join(lines)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.divergent or self.unheld or self.unexpected)


class _Story:
    """One checkout's chaos, recorded in the shared report."""

    def __init__(self, target: Target, bolt: FakeBoltControl, report: ChaosReport, lock: threading.Lock, seed: str):
        self.target = target
        self.bolt = bolt
        self.report = report
        self.lock = lock
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible story, not a secret
        self.shopper = Shopper(target, Timeline(seed), seed, token=True)

    def count(self, name: str, number: int = 1) -> None:
        with self.lock:
            self.report.counts[name] += number

    def answered(self, what: str, answer: Answer, retry_later_ok: bool = False) -> None:
        if answer.status >= 500 and not (retry_later_ok and answer.status == 503):
            with self.lock:
                self.report.unexpected.append(f"{what}: {answer.status} {answer.failure}")

    def play(self) -> None:
        shopper = self.shopper
        shopper.until_order_create([self.rng.choice(ITEMS)], "standard", "noshipping")
        if self.rng.random() < 0.12:
            self.count("order.create dropped")
        else:
            shopper.order_create()
        story = self.rng.choice(STORIES)
        self.count(story)
        reference = self.pay(story)
        self.act(story, reference)

    def pay(self, story: str) -> str:
        cart = self.shopper.state
        review = story.startswith("review")
        auto_capture = story == "concurrent refunds"
        kinds = ["rejected_reversible"] if review else ["payment"] if auto_capture else ["pending", "auth"]
        dropped = False
        for kind in kinds:
            for action, chance in WEBHOOK_FAULTS:
                # Bolt gives up on a webhook only after days of retries. A payment none of whose webhooks ever
                # arrived has no reference the merchant could ask Bolt about, so at most one is dropped, and only
                # when another can still arrive.
                if action == "drop" and (dropped or len(kinds) == 1):
                    continue
                if self.rng.random() < chance:
                    self.bolt.webhook_fault(action, reference=cart.cart_id, kind=kind)
                    self.count(f"webhook {action}")
                    dropped |= action == "drop"
                    break
        authorised = self.bolt.authorize(
            cart.token,
            cart=order_cart(cart),
            amount=cart.total,
            auto_capture=auto_capture,
            review=review,
            webhooks=kinds,
        )
        for sent in authorised["webhooks"]:
            status = sent.get("status")
            if status == 503:
                self.count("webhook answered retry-later")
            elif isinstance(status, int) and status >= 500:
                self.report_unexpected(f"webhook {sent.get('type')}: {status} {sent.get('body')}")
        return str(authorised["transaction"]["reference"])

    def report_unexpected(self, text: str) -> None:
        with self.lock:
            self.report.unexpected.append(text)

    def operate(self, operation: str, body: dict[str, Any] | None = None, key: str | None = None) -> Answer:
        order_id = self.shopper.order_id
        if order_id is None:  # order.create was dropped: the operator finds no order until reconciliation
            self.count("operator action without an order")
            return Answer(404, None, 0.0)
        if self.rng.random() < 0.15 and operation in ("capture", "refund", "cancel"):
            path = {"cancel": "void", "refund": "credit"}.get(operation, operation)
            self.bolt.lose_answer(f"/v1/merchant/transactions/{path}")
            self.count("Bolt answer lost")
        answer = self.target.operate("POST", f"/orders/{order_id}/{operation}", body or {}, key or self.rng_key())
        self.operator_answer(operation, order_id, answer)
        return answer

    def operator_answer(self, operation: str, order_id: str, answer: Answer) -> None:
        refused = f" ({str(answer.field('error', 'message'))[:48]})" if 400 <= answer.status < 500 else ""
        self.count(f"operator {operation} {answer.status}{refused}")
        self.answered(f"operator {operation} {order_id}", answer)

    def rng_key(self) -> str:
        return f"chaos-{self.rng.getrandbits(64):016x}"

    def act(self, story: str, reference: str) -> None:
        total = self.shopper.state.total
        part = max(1, total // 3)
        dashboard = self.bolt.dashboard
        if story == "operator captures all":
            self.operate("capture", {"amount": total})
        elif story == "operator captures part, refunds part":
            self.operate("capture", {"amount": part})
            self.operate("refund", {"amount": max(1, part // 2)})
        elif story == "dashboard capture, operator cancels":
            self.tolerant(lambda: dashboard(reference, "capture", part))
            self.operate("cancel")
        elif story == "dashboard capture and credit, no webhooks":
            self.tolerant(lambda: dashboard(reference, "capture", total))
            self.tolerant(lambda: dashboard(reference, "credit", part, self.rng.random() < 0.3))
        elif story == "dashboard void, no webhook":
            self.tolerant(lambda: dashboard(reference, "void"))
        elif story == "operator cancels":
            self.operate("cancel")
        elif story == "concurrent refunds":
            threads = [
                threading.Thread(target=self.parallel_refund, args=(max(1, total // 10), index)) for index in range(3)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        elif story.startswith("review"):
            self.operate("review", {"decision": "approve" if story.endswith("approved") else "reject"})

    def parallel_refund(self, amount: int, index: int) -> None:
        own = Target(self.target.base_url, self.target.secret, timeout=self.target.timeout)
        order_id = self.shopper.order_id
        if order_id is None:
            return
        answer = own.operate("POST", f"/orders/{order_id}/refund", {"amount": amount}, f"{self.shopper.seed}:{index}")
        self.operator_answer("refund", order_id, answer)

    def tolerant(self, change: Callable[[], Any]) -> None:
        """A dashboard change Bolt may refuse (the payment moved on meanwhile): refused is fine."""
        try:
            change()
            self.count("dashboard change")
        except RuntimeError:
            self.count("dashboard change refused by Bolt")


def reconciliation_pass(target: Target) -> tuple[int, Counter[str], list[str]]:
    """The reconciler run until it finds nothing more due (each run is bounded): (runs, outcomes, errors)."""
    outcomes: Counter[str] = Counter()
    errors: list[str] = []
    for runs in range(1, MAX_RECONCILER_RUNS + 1):
        answer = target.send(
            "POST", "/_local/schedules/ReconcilerFunction", b'{"ahead_seconds": %d}' % PASS_AHEAD_SECONDS
        )
        if answer.status != 200:
            return runs, outcomes, [f"reconciler run: {answer.status} {answer.failure}"]
        result = answer.body if isinstance(answer.body, dict) else {}
        outcomes.update(result.get("outcomes") or {})
        errors += [str(error) for error in result.get("errors") or []]
        if not result.get("checked"):
            return runs, outcomes, errors
    return MAX_RECONCILER_RUNS, outcomes, [*errors, "the reconciler still had work after the last run"]


def run_chaos(
    base_url: str, secret: str, bolt: FakeBoltControl, *, checkouts: int, concurrency: int, seed: int
) -> ChaosReport:
    report = ChaosReport(checkouts)
    lock = threading.Lock()
    started = time.perf_counter()

    def one(number: int) -> None:
        target = Target(base_url, secret)
        story = _Story(target, bolt, report, lock, f"chaos:{seed}:{number}")
        try:
            story.play()
        except Aborted as exc:
            story.report_unexpected(f"checkout {number} stopped at {exc}: {story.shopper.timeline.problems[:2]}")

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="chaos") as pool:
        list(pool.map(one, range(checkouts)))
    released = bolt.release_webhooks(seed)
    report.counts["held webhooks released"] += len(released)
    for sent in released:
        status = sent.get("status")
        if isinstance(status, int) and status >= 500 and status != 503:
            report.unexpected.append(f"released webhook {sent.get('type')}: {status} {sent.get('body')}")
    target = Target(base_url, secret)
    report.reconciler_runs, report.reconciled, errors = reconciliation_pass(target)
    report.unexpected += [f"reconciliation: {error}" for error in errors]
    report.compared = divergences(target, bolt.ledger())
    report.seconds = time.perf_counter() - started
    return report
