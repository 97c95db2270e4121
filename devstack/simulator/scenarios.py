"""Checkouts as the storefront and Bolt drive them, and the scenarios played with them.

Each scenario records a Timeline: one Step per request with its HTTP status, time and key facts, and a problem for
every unexpected answer. Expected amounts come from the hooks' own answers (shipping cost, tax, discount), so the
scenarios hold for any catalog prices; the SKUs and codes are the demo catalog's (data/demo-catalog.json).

Stock: the demo catalog has 200 MUG-12OZ, 1000 GIFT-25 and 1 LAST-ONE. One run of every scenario keeps 4 mugs and
6 gift cards (captured or authorised orders keep their stock); the declined-card scenario gives its LAST-ONE back.
`make load-catalog` resets the stock of a deployed stage; the local stack starts fresh every time.
"""

import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from devstack.bolt_payloads import TRANSACTION_STATUS, Ids, Line, webhook
from devstack.simulator.client import Aborted, Answer, Signer, Step, Target, Timeline, dig, expect_status
from devstack.simulator.payloads import (
    Capture,
    CartState,
    Delivery,
    Discount,
    Payment,
    credit_transaction,
    discount_request,
    order_create_request,
    shipping_request,
    tax_request,
    transaction,
)

CURRENCY = "USD"
ORDER_REJECTED = 2001010  # order.create for a cart whose order was cancelled after a declined payment
ORDER_VIEW_ATTEMPTS = 4  # a deployed stage's reads may lag a moment behind the webhook that wrote
ORDER_VIEW_RETRY_SECONDS = 0.25


@dataclass(frozen=True)
class Expected:
    """The order a scenario must end with."""

    status: str
    authorized: int
    captured: int
    refunded: int
    ledger_keys: frozenset[str]
    holds: frozenset[str] = frozenset()  # the reasons the order must be held for (none: not held)


@dataclass(frozen=True)
class Webhook:
    label: str
    envelope: dict[str, Any]


class Shopper:
    """One checkout: the storefront's calls, Bolt's hooks and Bolt's webhooks for one cart."""

    def __init__(self, target: Target, timeline: Timeline, seed: str, *, token: bool = True, who: str = "") -> None:
        self.target = target
        self.timeline = timeline
        self.seed = seed
        self.use_token = token
        self.who = f"{who} " if who else ""
        self.ids = Ids(seed)
        self.cart: CartState | None = None
        self.order_id: str | None = None
        self.payment: Payment | None = None
        self._credits = 0

    # ------------------------------------------------------------ helpers
    def _step(self, name: str, answer: Answer | None = None) -> Step:
        return self.timeline.step(self.who + name, answer)

    @property
    def state(self) -> CartState:
        if self.cart is None:
            raise Aborted("no cart")
        return self.cart

    def _hook(self, event: str, data: Mapping[str, Any], label: str | None = None) -> tuple[Step, Answer, Any]:
        answer, body = self.target.hook(event, data, self.ids.trace_id())
        step = self._step(label or event, answer)
        return step, answer, body

    # ------------------------------------------------------------ storefront
    def create_cart(self, items: Sequence[tuple[str, int]]) -> CartState:
        request = {"currency": CURRENCY, "items": [{"sku": sku, "quantity": quantity} for sku, quantity in items]}
        answer = self.target.storefront("/storefront/carts", request)
        step = self._step("storefront cart", answer)
        expect_status(step, answer, 201)
        cart_id = step.need(answer.field("cart_id"), "cart_id")
        lines = []
        for item in step.need(answer.field("cart", "items"), "cart.items"):
            lines.append(Line(item["sku"], item["name"], item["quantity"], item["unit_price"]))
        step.check(
            sorted((line.sku, line.quantity) for line in lines) == sorted(items),
            f"cart items {[(line.sku, line.quantity) for line in lines]} differ from the {list(items)} asked for",
        )
        subtotal = sum(line.total for line in lines)
        step.check(answer.field("cart", "subtotal") == subtotal, f"subtotal is not the sum of lines ({subtotal})")
        self.ids = Ids(f"{self.seed}:{cart_id}")  # transaction and capture ids never repeat across carts
        step.fact(f"cart {cart_id}")
        step.fact(", ".join(f"{line.quantity} x {line.sku} @{line.unit_price}" for line in lines))
        step.fact(f"subtotal {subtotal}")
        self.cart = CartState(cart_id=cart_id, currency=CURRENCY, lines=lines)
        return self.cart

    def order_token(self) -> None:
        cart = self.state
        if not self.use_token:
            cart.token = self.ids.token()
            self.timeline.note(self.who + "order token", "skipped (--no-token): a made-up token goes to Bolt's hooks")
            return
        answer = self.target.storefront(f"/storefront/carts/{cart.cart_id}/bolt-order-token")
        step = self._step("order token", answer)
        expect_status(step, answer, 200)
        cart.token = step.need(answer.field("order_token"), "order_token")
        step.check(answer.field("cart_id") == cart.cart_id, "answer is for another cart")
        step.fact(f"token {str(cart.token)[:12]}...")

    # ------------------------------------------------------------ Bolt's hooks
    def shipping(self, *preferences: str) -> Delivery:
        """order.shipping, then the first of `preferences` offered (a delivery option or a pickup store)."""
        cart = self.state
        step, answer, data = self._hook("order.shipping", shipping_request(cart))
        expect_status(step, answer, 200)
        step.need(data, "data")
        deliveries = {o["reference"]: o for o in data.get("shipping_options") or [] if isinstance(o, dict)}
        pickups = {o["reference"]: o for o in data.get("in_store_pickup_options") or [] if isinstance(o, dict)}
        step.fact(" ".join(f"{ref}={o.get('cost')}" for ref, o in {**deliveries, **pickups}.items()))
        offered = {**pickups, **deliveries}
        choose = next((reference for reference in preferences if reference in offered), None)
        if choose is None:
            step.problems.append(f"none of {list(preferences)} offered")
            raise Aborted("shipping")
        option = offered[choose]
        for ref, offered in deliveries.items():
            step.check(offered.get("tax_amount", 0) == 0, f"order.shipping option {ref} carries tax")
        step.check(isinstance(option.get("cost"), int) and option["cost"] >= 0, f"{choose} has no valid cost")
        pickup = choose in pickups
        service = option.get("store_name") if pickup else option.get("service")
        delivery = Delivery(reference=choose, service=str(service), cost=int(option["cost"]), pickup=pickup)
        step.fact(f"chose {choose} ({delivery.cost})")
        cart.delivery = delivery
        return delivery

    def tax(self) -> None:
        cart = self.state
        delivery = cart.delivery
        if delivery is None:
            raise Aborted("tax before shipping")
        step, answer, data = self._hook("order.tax", tax_request(cart, delivery))
        expect_status(step, answer, 200)
        step.need(data, "data")
        items_tax = step.need(dig(data, "tax_result", "subtotal_amount"), "tax_result.subtotal_amount")
        echoed = data.get("in_store_pickup_option" if delivery.pickup else "shipping_option")
        if not isinstance(echoed, Mapping):
            step.problems.append("the chosen option is not echoed back")
            raise Aborted("tax")
        step.check(echoed.get("reference") == delivery.reference, f"echoed option is {echoed.get('reference')}")
        step.check(echoed.get("cost") == delivery.cost, f"echoed cost {echoed.get('cost')} != {delivery.cost}")
        shipping_tax = int(echoed.get("tax_amount") or 0)
        step.check(isinstance(items_tax, int) and items_tax >= 0, f"items tax {items_tax!r} is not cents")
        cart.items_tax = int(items_tax)
        cart.delivery = Delivery(delivery.reference, delivery.service, delivery.cost, delivery.pickup, shipping_tax)
        step.fact(f"items tax {items_tax}, shipping tax {shipping_tax}")

    def discount(self, code: str, expect_type: str) -> None:
        cart = self.state
        step, answer, data = self._hook("discounts.code.apply", discount_request(cart, code))
        expect_status(step, answer, 200)
        step.need(data, "data")
        amount = step.need(data.get("discount_amount"), "discount_amount")
        kind = data.get("discount_type")
        step.check(data.get("discount_code") == code, f"answered code {data.get('discount_code')!r}")
        step.check(kind == expect_type, f"discount_type {kind!r}, expected {expect_type!r}")
        step.check(isinstance(amount, int) and 0 < amount <= cart.subtotal + cart.shipping + cart.tax, "bad amount")
        if expect_type == "free_shipping":
            step.check(
                amount == cart.shipping, f"free shipping worth {amount}, the chosen option costs {cart.shipping}"
            )
        cart.discount = Discount(code, int(amount))
        step.fact(f"{code} -{amount} ({kind})")

    def until_order_create(
        self, items: Sequence[tuple[str, int]], *preferences: str, discount: tuple[str, str] | None = None
    ) -> None:
        """What comes before order.create: the cart, its order token, order.shipping (choosing the first of
        `preferences` offered), order.tax and, given a (code, expected type), discounts.code.apply."""
        self.create_cart(items)
        self.order_token()
        self.shipping(*preferences)
        self.tax()
        if discount is not None:
            self.discount(*discount)

    def order_create(self, label: str = "order.create") -> str:
        cart = self.state
        step, answer, data = self._hook("order.create", order_create_request(cart), label)
        expect_status(step, answer, 200)
        step.need(data, "data")
        order_id = step.need(data.get("display_id"), "display_id")
        step.check(
            data.get("total") == cart.total,
            f"total {data.get('total')}, expected {cart.total} = {self._arithmetic()}",
        )
        step.check(bool(data.get("order_received_url")), "no order_received_url")
        if self.order_id is not None:
            step.check(order_id == self.order_id, f"a retry answered another order {order_id} (first {self.order_id})")
        step.fact(f"order {order_id}, total {data.get('total')} = {self._arithmetic()}")
        self._adopt(order_id)
        return str(order_id)

    def order_create_refused(self, code: int, label: str) -> None:
        step, answer, _ = self._hook("order.create", order_create_request(self.state), label)
        step.check(answer.status == 422, f"HTTP {answer.status}, expected 422")
        got = answer.field("error", "code")
        step.check(got == code, f"error code {got}, expected {code} ({answer.failure})")
        step.fact(f"refused {answer.failure}")

    def _arithmetic(self) -> str:
        cart = self.state
        return f"{cart.subtotal} - {cart.discount_amount} + {cart.shipping} + {cart.tax}"

    def _adopt(self, order_id: str) -> None:
        """Bolt stores the display_id and sends it back in every later webhook (§3.3)."""
        self.order_id = order_id
        self.timeline.order_id = self.timeline.order_id or order_id
        self.state.display_id = order_id

    # ------------------------------------------------------------ Bolt's webhooks
    def authorize(self) -> Payment:
        """The payment Bolt authorises for the cart's total (before its first webhook)."""
        if self.payment is None:
            cart = self.state
            self.payment = Payment(self.ids.public_id("TA"), self.ids.reference(), cart.total, cart.currency, cart)
        return self.payment

    def hook(self, hook_type: str) -> Webhook:
        """pending, auth, failed_payment, rejected_*, void: the payment transaction in that status."""
        payment = self.authorize()
        authorization = "declined" if hook_type == "failed_payment" else "succeeded"
        data = transaction(payment, TRANSACTION_STATUS[hook_type], payment.captures, authorization)
        return Webhook(f"webhook {hook_type}", webhook(hook_type, data))

    def capture(self, amount: int) -> Webhook:
        """A capture at Bolt; the webhook lists every capture so far (§4.3)."""
        payment = self.authorize()
        capture = Capture(self.ids.public_id("CA"), amount)
        payment.captures.append(capture)
        status = "completed" if payment.captured >= payment.amount else "authorized"
        data = transaction(payment, status, list(payment.captures))
        return Webhook(f"webhook capture {amount}", webhook("capture", data))

    def credit(self, amount: int) -> Webhook:
        """A refund: its own cc_credit transaction with a new id."""
        payment = self.authorize()
        self._credits += 1
        payment.refunded += amount
        data = credit_transaction(payment, self.ids.public_id("TA"), self.ids.reference(), amount)
        return Webhook(f"webhook credit {amount}", webhook("credit", data))

    def send(self, hook: Webhook, results: Iterable[str] = ("applied",), label: str | None = None) -> Answer:
        answer = self.target.webhook(hook.envelope, self.ids.trace_id())
        step = self._step(label or hook.label, answer)
        expect_status(step, answer, 200)
        result = answer.field("result")
        allowed = tuple(results)
        step.check(answer.field("status") == "success", f"status {answer.field('status')!r}")
        step.check(result in allowed, f"result {result!r}, expected {' or '.join(allowed)}")
        display_id = answer.field("display_id")
        if self.order_id is not None:
            step.check(display_id == self.order_id, f"display_id {display_id!r}, expected {self.order_id}")
        data = hook.envelope["data"]
        step.fact(f"{result}  {data['id']} {data['status']}")
        return answer

    def pay_in_full(self) -> set[str]:
        """pending, auth and a capture of the whole total, each applied; the ledger keys they leave."""
        total = self.state.total
        for hook in (self.hook("pending"), self.hook("auth"), self.capture(total)):
            self.send(hook)
        return {self.key("pending"), self.key("auth"), *self.capture_keys()}

    # ------------------------------------------------------------ keys the order's ledger must hold
    def key(self, hook_type: str) -> str:
        return f"{hook_type}#{self.authorize().id}"

    def capture_keys(self) -> set[str]:
        return {f"capture#{c.id}" for c in self.authorize().captures}

    def credit_key(self, hook: Webhook) -> str:
        return f"credit#{hook.envelope['data']['id']}"

    # ------------------------------------------------------------ the order as the back office sees it
    def check_order(self, expected: Expected, label: str = "order view") -> dict[str, Any] | None:
        if self.order_id is None:
            raise Aborted("no order id")
        view: dict[str, Any] | None = None
        problems: list[str] = []
        answer: Answer | None = None
        for attempt in range(ORDER_VIEW_ATTEMPTS):
            answer = self.target.read_order(self.order_id)
            if answer is None:
                self.timeline.note(
                    self.who + label, f"skipped: {self.target.order_view_unavailable}; webhook answers checked"
                )
                return None
            if answer.status != 200:
                break
            view = answer.body if isinstance(answer.body, dict) else {}
            problems = order_problems(view, expected, self.state.total)
            if not problems:
                break
            time.sleep(ORDER_VIEW_RETRY_SECONDS * (attempt + 1))
        assert answer is not None
        step = self._step(label, answer)
        expect_status(step, answer, 200)
        assert view is not None
        step.problems.extend(problems)
        amounts = view.get("amounts") or {}
        step.fact(
            f"{view.get('status')}: authorized {amounts.get('authorized')} captured {amounts.get('captured')}"
            f" refunded {amounts.get('refunded')}, ledger {len(view.get('timeline') or [])}"
        )
        if self.order_id == self.timeline.order_id:  # a second shopper's order is checked, not the one shown
            self.timeline.final_order = view
        return view


def order_problems(view: Mapping[str, Any], expected: Expected, total: int) -> list[str]:
    """The order against what the scenario expects, plus the invariants every order keeps."""
    problems = []
    amounts = view.get("amounts") or {}
    totals = view.get("totals") or {}
    if view.get("status") != expected.status:
        problems.append(f"status {view.get('status')!r}, expected {expected.status!r}")
    if totals.get("total") != total:
        problems.append(f"order total {totals.get('total')}, expected {total}")
    for name in ("authorized", "captured", "refunded"):
        if amounts.get(name) != getattr(expected, name):
            problems.append(f"{name} {amounts.get(name)}, expected {getattr(expected, name)}")
    holds = {hold.get("reason") for hold in view.get("holds") or []}
    if holds != expected.holds:
        problems.append(f"holds {sorted(holds)}, expected {sorted(expected.holds)}")
    captured, refunded, authorized = (amounts.get(n) or 0 for n in ("captured", "refunded", "authorized"))
    if not refunded <= captured <= max(authorized, 0) and not holds:
        problems.append(f"invariant: refunded {refunded} <= captured {captured} <= authorized {authorized} broken")
    ledger = view.get("timeline")
    if ledger is not None:
        problems += _ledger_problems(ledger, expected, captured, refunded)
    bolt = view.get("bolt") or {}
    if sum(c.get("amount", 0) for c in bolt.get("captures") or []) != captured:
        problems.append("invariant: Bolt capture ids do not add up to captured")
    if sum(c.get("amount", 0) for c in bolt.get("credits") or []) != refunded:
        problems.append("invariant: Bolt credit ids do not add up to refunded")
    return problems


def _ledger_problems(ledger: list[dict[str, Any]], expected: Expected, captured: int, refunded: int) -> list[str]:
    problems = []
    keys = [str(entry.get("key")) for entry in ledger]
    if len(keys) != len(set(keys)):
        problems.append(f"invariant: ledger has repeated keys {sorted(keys)}")
    if set(keys) != expected.ledger_keys:
        missing = sorted(expected.ledger_keys - set(keys))
        extra = sorted(set(keys) - expected.ledger_keys)
        problems.append(f"ledger keys differ: missing {missing}, unexpected {extra}")
    for kind, amount in (("capture", captured), ("credit", refunded)):
        summed = sum(e.get("amount") or 0 for e in ledger if str(e.get("key", "")).startswith(f"{kind}#"))
        if summed != amount:
            problems.append(f"invariant: {kind} ledger entries add up to {summed}, the order says {amount}")
    return problems


# ---------------------------------------------------------------- scenarios
@dataclass(frozen=True)
class Options:
    token: bool = True
    seed: int = 0


ScenarioFn = Callable[[Target, Timeline, Options], None]


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
