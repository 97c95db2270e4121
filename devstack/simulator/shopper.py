"""One checkout as the storefront, Bolt and an operator drive it (Shopper), and what the order must end as (Expected,
order_problems). The scenarios (scenarios.py, money.py) are played with these.

Each request is recorded on a Timeline: one Step per request with its HTTP status, time and key facts, and a problem
for every unexpected answer. Expected amounts come from the hooks' own answers (shipping cost, tax, discount), so
the checks hold for any catalog prices.
"""

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from devstack.bolt_payloads import TRANSACTION_STATUS, Ids, Line, webhook
from devstack.simulator.bolt_side import FakeBoltControl
from devstack.simulator.client import Aborted, Answer, Step, Target, Timeline, dig, expect_status
from devstack.simulator.payloads import (
    Capture,
    CartState,
    Delivery,
    Discount,
    Payment,
    credit_transaction,
    discount_request,
    order_cart,
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
        self.reference: str | None = None  # the payment at the fake Bolt (pay_at_bolt)
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

    # ------------------------------------------------------------ Bolt's side, through the local stack's fake Bolt
    def pay_at_bolt(
        self,
        bolt: FakeBoltControl,
        webhooks: Sequence[str] = ("pending", "auth"),
        *,
        auto_capture: bool = False,
        review: bool = False,
        results: Iterable[str] = ("applied",),
    ) -> str:
        """Bolt authorises the cart's total (and captures it, auto_capture) and sends `webhooks` itself; returns
        the payment's reference. Every webhook delivered must be answered 200 with one of `results`."""
        cart = self.state
        authorised = bolt.authorize(
            cart.token if self.use_token else None,
            cart=order_cart(cart),
            amount=cart.total,
            auto_capture=auto_capture,
            review=review,
            webhooks=list(webhooks),
        )
        transaction = authorised["transaction"]
        step = self._step("Bolt authorises")
        step.fact(f"{transaction['reference']} {transaction['status']} {cart.total}")
        allowed = tuple(results)
        for sent in authorised.get("webhooks") or []:
            self._check_delivery(step, sent, allowed)
        self.reference = str(transaction["reference"])
        return self.reference

    def bolt_sends(self, bolt: FakeBoltControl, kind: str, results: Iterable[str] = ("applied",)) -> None:
        """Bolt sends the payment's `kind` webhook now, built from the payment as Bolt has it."""
        step = self._step(f"Bolt sends {kind}")
        self._check_delivery(step, bolt.send_webhook(self.need_reference(), kind), tuple(results))

    def _check_delivery(self, step: Step, sent: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
        if sent.get("fault") in ("drop", "hold"):
            step.fact(f"{sent.get('type')} {sent.get('fault')}")
            return
        body = sent.get("body") if isinstance(sent.get("body"), Mapping) else {}
        result = body.get("result") if isinstance(body, Mapping) else None
        step.fact(f"{sent.get('type')} -> {sent.get('status')} {result}")
        step.check(sent.get("status") == 200, f"webhook {sent.get('type')} answered {sent.get('status')}: {body}")
        step.check(result in allowed, f"webhook {sent.get('type')} result {result!r}, expected {' or '.join(allowed)}")

    def need_reference(self) -> str:
        if self.reference is None:
            raise Aborted("no Bolt payment yet")
        return self.reference

    def operate(
        self, operation: str, body: Any = None, *, key: str | None = None, expect: Iterable[int] = (200,)
    ) -> Answer:
        """A back-office operation on this order (POST /orders/{id}/<operation>) with its own Idempotency-Key."""
        if self.order_id is None:
            raise Aborted("no order id")
        answer = self.target.operate(
            "POST", f"/orders/{self.order_id}/{operation}", body if body is not None else {}, key or self.ids.token()
        )
        step = self._step(f"operator {operation}", answer)
        allowed = tuple(expect)
        step.check(answer.status in allowed, f"HTTP {answer.status}, expected {allowed} ({answer.failure})")
        if answer.status >= 400:
            step.fact(answer.failure)
        return answer

    # ------------------------------------------------------------ Bolt's webhooks, signed by the simulator
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
    def check_order(
        self, expected: Expected, label: str = "order view", *, check_ledger: bool = True
    ) -> dict[str, Any] | None:
        """The order as the back office shows it, against `expected` (its ledger keys too unless check_ledger is
        False: Bolt's own ids, when the fake Bolt made them, are checked by the divergence check instead)."""
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
            problems = order_problems(view, expected, self.state.total, check_ledger=check_ledger)
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


def order_problems(view: Mapping[str, Any], expected: Expected, total: int, *, check_ledger: bool = True) -> list[str]:
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
    if ledger is not None and check_ledger:
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


@dataclass(frozen=True)
class Options:
    token: bool = True
    seed: int = 0
    # The local stack's fake Bolt (bolt_side.discover): the scenarios that play Bolt's side of the money need it.
    bolt: FakeBoltControl | None = None


ScenarioFn = Callable[[Target, Timeline, Options], None]
