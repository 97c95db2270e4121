"""Properties of the transaction webhook over many deliveries, through the handler against moto.

- Any arrival order of one checkout's webhooks converges to the same order state and ledger (issue 4, T22).
- A stateful model (hypothesis RuleBasedStateMachine, T27) delivers random webhook sequences for two carts and
  checks the invariants after every step.

Every example uses fresh cart ids and empties the orders table when it ends, so examples share moto without seeing
each other's orders (and moto, which copies whole tables in every transaction, stays fast).
"""

import json
from typing import Any, ClassVar

from bolt_merchant.orders.models import Order, order_id_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from devstack import bolt_payloads
from tests import seed
from tests.payments.conftest import Webhooks
from tests.payments.delivery_model import (
    CAPTURE_AMOUNTS,
    CREDIT_AMOUNTS,
    HOOK_TYPES,
    MUG,
    NO_SHRINK,
    drawn_webhook,
    fresh_cart_id,
    phase_regressed,
    unheld_contradictions,
)
from tests.support import AwsStack, response_body


def normalised(value: Any, cart_id: str) -> Any:
    """`value` with the example's cart id (and the order id derived from it) replaced by placeholders."""
    text = json.dumps(value, sort_keys=True, default=str)
    return json.loads(text.replace(order_id_for(cart_id), "<order>").replace(cart_id, "<cart>"))


ORDER_FIELDS_THAT_MAY_DIFFER = {"order_id", "cart_id", "version", "created_at", "updated_at", "bolt_order_token"}


def order_state(order: Order, cart_id: str) -> dict[str, Any]:
    state = order.model_dump(mode="json", exclude=ORDER_FIELDS_THAT_MAY_DIFFER)
    state["applied_keys"] = sorted(state["applied_keys"])
    return normalised(state, cart_id)


def ledger_state(aws: AwsStack, cart_id: str) -> dict[str, Any]:
    """The ledger as a set of facts: which transitions were counted, for how much, applied or not. (Which webhook
    carried a fact, and when, legitimately depends on the arrival order: an implied auth is recorded by whichever
    of capture or auth came first.)"""
    entries = seed.ledger(aws, order_id_for(cart_id))
    return normalised({sk: (item["amount"], item["applied"]) for sk, item in entries.items()}, cart_id)


# ---------------------------------------------------------------- any arrival order, same result


def checkout_sequence(cart_id: str) -> list[dict[str, Any]]:
    """pending, auth, two partial captures, a refund, the refund again, a late pending (issue 4's sequence)."""
    cart = seed.valid_order_cart(cart_id, MUG)
    total = seed.total_of(cart)
    hook = bolt_payloads.transaction_webhook
    first = (bolt_payloads.capture_id(1, cart_id), 1000)
    second = (bolt_payloads.capture_id(2, cart_id), 800)
    refund = bolt_payloads.credit_id(1, cart_id)
    return [
        hook("pending", cart_id=cart_id, cart=cart, amount=total),
        hook("auth", cart_id=cart_id, cart=cart, amount=total),
        hook("capture", cart_id=cart_id, cart=cart, amount=total, captures=(first,)),
        hook("capture", cart_id=cart_id, cart=cart, amount=total, captures=(first, second)),
        hook("credit", cart_id=cart_id, cart=cart, amount=500, credit=refund),
        hook("credit", cart_id=cart_id, cart=cart, amount=500, credit=refund),
        hook("pending", cart_id=cart_id, cart=cart, amount=total),
    ]


def run_in_order(webhooks: Webhooks, order: list[int]) -> tuple[dict[str, Any], dict[str, Any]]:
    cart_id = fresh_cart_id("perm")
    webhooks.create_order(cart_id, MUG)
    sequence = checkout_sequence(cart_id)
    for index in order:
        webhooks.deliver_ok(sequence[index])
    result = order_state(webhooks.order(cart_id), cart_id), ledger_state(webhooks.aws, cart_id)
    seed.wipe_orders_table(webhooks.aws)
    return result


def test_the_ordered_sequence_ends_partially_refunded(webhooks: Webhooks) -> None:
    state, ledger = run_in_order(webhooks, list(range(7)))

    assert (state["status"], state["authorized"], state["captured"], state["refunded"]) == (
        "partially_refunded",
        2315,
        1800,
        500,
    )
    assert sorted(ledger) == [
        "TX#auth#TA-<cart>",
        "TX#capture#CA-<cart>-1",
        "TX#capture#CA-<cart>-2",
        "TX#credit#TC-<cart>-1",
        "TX#pending#TA-<cart>",
    ]


def test_every_sequence_replayed_ends_in_the_same_state(webhooks: Webhooks) -> None:
    baseline = run_in_order(webhooks, list(range(7)))

    assert run_in_order(webhooks, [index for index in range(7) for _ in range(3)]) == baseline


def test_shuffled_sequences_end_in_the_same_order_state_and_ledger(webhooks: Webhooks) -> None:
    baseline = run_in_order(webhooks, list(range(7)))

    @settings(max_examples=30, deadline=None, phases=NO_SHRINK, suppress_health_check=[HealthCheck.too_slow])
    @given(st.permutations(range(7)))
    def same_as_in_order(order: list[int]) -> None:
        state, ledger = run_in_order(webhooks, order)
        assert ledger == baseline[1]
        assert state == baseline[0]

    same_as_in_order()


# ---------------------------------------------------------------- stateful model


class WebhookSequences(RuleBasedStateMachine):
    """Two carts; each may or may not have had its order created by order.create. Rules deliver any webhook type,
    replay the last delivery, or resend order.create. Invariants are checked after every step."""

    webhooks: ClassVar[Webhooks]

    def __init__(self) -> None:
        super().__init__()
        self.carts = [fresh_cart_id("sm"), fresh_cart_id("sm")]
        self.bolt_carts = {cart_id: seed.valid_order_cart(cart_id, MUG) for cart_id in self.carts}
        self.last: dict[str, Any] | None = None
        self.seen_status: dict[str, str] = {}
        for cart_id in self.carts:
            seed.seed_cart(self.webhooks.aws, cart_id, MUG)

    @property
    def aws(self) -> AwsStack:
        return self.webhooks.aws

    def _order(self, cart_id: str) -> Order | None:
        return seed.stored_order(self.aws, order_id_for(cart_id))

    def _deliver(self, payload: dict[str, Any]) -> None:
        cart_id = payload["data"]["order"]["cart"]["order_reference"]
        existed = self._order(cart_id) is not None
        response = self.webhooks.deliver(payload)
        # 503 only when Bolt should retry: the order does not exist yet and this type may not create it
        allowed = {200} if existed or payload["type"] in ("pending", "payment") else {200, 503}
        assert response["statusCode"] in allowed, (payload["type"], response["body"])
        # only an acknowledged delivery is one Bolt would consider done (and replay as a duplicate)
        self.last = payload if response["statusCode"] == 200 else None
        if response["statusCode"] == 200:
            assert response_body(response)["result"] in ("applied", "duplicate", "ignored", "held")

    @rule(cart=st.integers(0, 1))
    def order_create(self, cart: int) -> None:
        cart_id = self.carts[cart]
        self.last = None  # a replay after this is not a plain repeat any more
        response = self.webhooks.order_create(seed.order_create_event(self.bolt_carts[cart_id]))
        # the first creates the order, a repeat answers the same one, or 2001010 once it was cancelled (an order
        # held because Bolt reports money on the cancelled payment is still answered: it exists)
        body = response_body(response)
        order = self._order(cart_id)
        assert order is not None
        if order.status == "cancelled":
            assert body["error"]["code"] == 2001010
        else:
            assert body["data"]["display_id"] == order.order_id

    @rule(
        cart=st.integers(0, 1),
        kind=st.sampled_from(HOOK_TYPES),
        captures=st.integers(1, len(CAPTURE_AMOUNTS)),
        credit=st.integers(1, len(CREDIT_AMOUNTS)),
    )
    def deliver(self, cart: int, kind: str, captures: int, credit: int) -> None:
        cart_id = self.carts[cart]
        self._deliver(drawn_webhook(cart_id, self.bolt_carts[cart_id], kind, captures, credit))

    @precondition(lambda self: self.last is not None)
    @rule()
    def replay_last(self) -> None:
        assert self.last is not None
        before = {cart_id: self._snapshot(cart_id) for cart_id in self.carts}
        self._deliver(self.last)
        assert {cart_id: self._snapshot(cart_id) for cart_id in self.carts} == before

    def _snapshot(self, cart_id: str) -> dict[str, Any]:
        return seed.partition(self.aws, order_id_for(cart_id))

    @invariant()
    def orders_are_consistent(self) -> None:
        for cart_id in self.carts:
            order = self._order(cart_id)
            if order is None:
                continue
            self._phase_never_regresses(cart_id, order)
            assert unheld_contradictions(order) == [], order
            assert (order.captured, order.refunded) == (sum(order.captures.values()), sum(order.credits.values()))
            self._ledger_matches_the_money(cart_id, order)

    def _phase_never_regresses(self, cart_id: str, order: Order) -> None:
        before = self.seen_status.get(cart_id)
        assert not phase_regressed(before, order.phase), f"{before} -> {order.phase}"
        self.seen_status[cart_id] = order.phase

    def _ledger_matches_the_money(self, cart_id: str, order: Order) -> None:
        """Each counted capture and credit is in the ledger exactly once, with the amount the order counted
        (a declined capture is recorded as not applied and never counted)."""
        ledger = seed.ledger(self.aws, order_id_for(cart_id))
        captures = {
            sk.removeprefix("TX#capture#"): e["amount"]
            for sk, e in ledger.items()
            if "#capture#" in sk and e["applied"]
        }
        credits = {sk.removeprefix("TX#credit#"): e["amount"] for sk, e in ledger.items() if "#credit#" in sk}
        assert captures == order.captures
        assert credits == order.credits
        assert len(set(order.applied_keys)) == len(order.applied_keys)

    def teardown(self) -> None:
        try:
            for cart_id in self.carts:
                assert len(seed.orders_of_cart(self.aws, cart_id)) <= 1
        finally:
            seed.wipe_orders_table(self.aws)


def test_random_webhook_sequences_keep_the_invariants(webhooks: Webhooks) -> None:
    WebhookSequences.webhooks = webhooks
    run_state_machine_as_test(
        WebhookSequences,
        settings=settings(
            max_examples=25,
            stateful_step_count=15,
            deadline=None,
            phases=NO_SHRINK,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
