"""A stateful model of whole checkouts under faults (reliability plan T27), extending the webhook-only model in
tests/payments/test_webhook_properties.py: here order.create and the webhooks run with injected DynamoDB
faults (throttling, transaction conflicts, a lost answer, a crash after the commit) and Bolt-style redelivery, two
deliveries may run at once on two containers, and the outbox publisher and both consumers run too, with SQS, SES and
idempotency-table faults, and with their idempotency records deleted now and then (as TTL would).

Invariants after every step: at most one order per cart; the payment phase never moves down (cancelled absorbs);
every contradiction between Bolt's facts and the order (money above what was authorised or captured, money kept on
a cancelled payment) holds the order; every acknowledged transition is in the ledger; each
consumer side effect (confirmation email, OMS submission, OMS cancellation) happens at most once per order. At the
end of each example everything is drained without faults: every outbox event reached both consumers (nothing lost).
"""

from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from bolt_merchant.orders.models import Order, order_id_for
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from devstack import bolt_payloads
from tests import seed
from tests.payments import delivery_model as model
from tests.reliability.conftest import Answer, Functions, examples
from tests.reliability.harness import AwsCalls, Crash, Fault, area, lost_answer
from tests.reliability.pipeline import Pipeline, build_pipeline
from tests.support import AwsStack, FakeLambdaContext, LambdaHandler, signed_event

STATEFUL = area("stateful")
CARTS = 3


def write_faults() -> dict[str, Callable[[], Fault | None]]:
    return {
        "none": lambda: None,
        "throttled": lambda: Fault("dynamodb", "TransactWriteItems", "ProvisionedThroughputExceededException"),
        "conflict": lambda: Fault(
            "dynamodb",
            "TransactWriteItems",
            "TransactionCanceledException",
            extra={"CancellationReasons": [{"Code": "TransactionConflict"}]},
        ),
        "read throttled": lambda: Fault("dynamodb", "GetItem", "ThrottlingException"),
        "lost answer": lambda: lost_answer("dynamodb", "TransactWriteItems"),
        "crash": lambda: Fault("dynamodb", "TransactWriteItems", after=True, exception=Crash("after the commit")),
    }


WRITE_FAULTS = list(write_faults())


def expected_keys(payload: dict[str, Any]) -> set[str]:
    """The ledger entries a delivery acknowledged 200 (applied or duplicate) must have left behind."""
    kind = payload["type"]
    data = payload["data"]
    if kind == "capture" or kind == "payment":
        keys = {f"TX#capture#{capture['id']}" for capture in data["captures"]}
        return keys | ({f"TX#payment#{data['id']}"} if kind == "payment" else set())
    return {f"TX#{kind}#{data['id']}"}


class CheckoutLifecycles(RuleBasedStateMachine):
    functions: ClassVar[Functions]
    aws: ClassVar[AwsStack]
    pipeline: ClassVar[Pipeline]
    calls: ClassVar[AwsCalls]
    racers: ClassVar[list[LambdaHandler]]
    # Broken money or status invariants, collected rather than raised so that every example still runs (and
    # checks loss and duplication, which raise at once); the test fails on them after the run.
    broken: ClassVar[list[str]] = []

    def __init__(self) -> None:
        super().__init__()
        self.carts = [model.fresh_cart_id("sm") for _ in range(CARTS)]
        self.bolt_carts = {cart_id: seed.valid_order_cart(cart_id, model.MUG) for cart_id in self.carts}
        self.acked: dict[str, set[str]] = {cart_id: set() for cart_id in self.carts}
        self.seen_phase: dict[str, str] = {}
        self.last: dict[str, Any] | None = None
        for cart_id in self.carts:
            seed.seed_cart(self.aws, cart_id, model.MUG)

    # ------------------------------------------------------------ delivering, as Bolt does
    def _order(self, cart_id: str) -> Order | None:
        return seed.stored_order(self.aws, order_id_for(cart_id))

    def _deliver(self, function_dir: str, event: dict[str, Any], fault: str = "none") -> Answer:
        """Deliver; while the answer says retry (503, or 502 after a crash), redeliver, as Bolt would."""
        injected = write_faults()[fault]()
        if injected is not None:
            self.calls.inject(injected)
        try:
            answer = self.functions.invoke(function_dir, event)
            for _ in range(4):
                fired = injected is not None and injected.fired > 0
                STATEFUL.case(answer.status, rejected=answer.status >= 400, fault=fired or self._retry_is_legit(event))
                if answer.status not in (502, 503):
                    return answer
                assert answer.status == 503 or fired, answer.body  # a 502 only when the function was made to crash
                answer = self.functions.invoke(function_dir, event)
            STATEFUL.case(answer.status, rejected=answer.status >= 400, fault=self._retry_is_legit(event))
            return answer
        finally:
            self.calls.clear_faults()

    def _retry_is_legit(self, event: dict[str, Any]) -> bool:
        """A webhook for a stored cart whose order does not exist yet is asked to come back (503), by design."""
        import json

        body = json.loads(event["body"])
        cart = ((body.get("data") or {}).get("order") or {}).get("cart") or {}
        reference = cart.get("order_reference")
        return reference is not None and self._order(reference) is None

    def _check_webhook_answer(self, payload: dict[str, Any], answer: Answer) -> None:
        cart_id = payload["data"]["order"]["cart"]["order_reference"]
        if answer.status == 503:
            assert self._order(cart_id) is None or payload["type"] not in ("pending", "payment"), answer.body
            return
        assert answer.status == 200, answer.body
        assert answer.body["result"] in ("applied", "duplicate", "ignored", "held"), answer.body
        if answer.body["result"] != "ignored":
            self.acked[cart_id] |= expected_keys(payload)

    # ------------------------------------------------------------ rules
    @rule(cart=st.integers(0, CARTS - 1), fault=st.sampled_from(WRITE_FAULTS))
    def order_create(self, cart: int, fault: str) -> None:
        cart_id = self.carts[cart]
        answer = self._deliver("order_create", seed.order_create_event(self.bolt_carts[cart_id]), fault)
        order = self._order(cart_id)
        assert order is not None, answer.body
        if order.status == "cancelled":
            assert answer.status == 422, answer.body
            assert answer.body["error"]["code"] == 2001010, answer.body
        else:
            assert answer.status == 200, answer.body
            assert answer.body["data"]["display_id"] == order.order_id

    @rule(
        cart=st.integers(0, CARTS - 1),
        kind=st.sampled_from(model.HOOK_TYPES),
        captures=st.integers(1, len(model.CAPTURE_AMOUNTS)),
        credit=st.integers(1, len(model.CREDIT_AMOUNTS)),
        fault=st.sampled_from(WRITE_FAULTS),
    )
    def deliver(self, cart: int, kind: str, captures: int, credit: int, fault: str) -> None:
        cart_id = self.carts[cart]
        payload = model.drawn_webhook(cart_id, self.bolt_carts[cart_id], kind, captures, credit)
        answer = self._deliver("transaction_webhook", signed_event("transaction_webhook", payload), fault)
        self._check_webhook_answer(payload, answer)
        self.last = payload

    @precondition(lambda self: self.last is not None)
    @rule(fault=st.sampled_from(WRITE_FAULTS))
    def replay_last(self, fault: str) -> None:
        assert self.last is not None
        answer = self._deliver("transaction_webhook", signed_event("transaction_webhook", self.last), fault)
        self._check_webhook_answer(self.last, answer)

    @rule(
        cart=st.integers(0, CARTS - 1),
        kinds=st.tuples(st.sampled_from(model.HOOK_TYPES), st.sampled_from(model.HOOK_TYPES)),
        captures=st.integers(1, len(model.CAPTURE_AMOUNTS)),
    )
    def two_at_once(self, cart: int, kinds: tuple[str, str], captures: int) -> None:
        """Two deliveries for one order on two containers at the same time; Bolt then retries what said retry."""
        cart_id = self.carts[cart]
        bolt_cart = self.bolt_carts[cart_id]
        payloads = [
            model.drawn_webhook(cart_id, bolt_cart, kind, captures, number + 1) for number, kind in enumerate(kinds)
        ]
        events = [signed_event("transaction_webhook", payload) for payload in payloads]
        with seed.serialised_moto():
            answers = seed.run_concurrently(
                [
                    lambda e=e, h=h: self.functions.invoke("transaction_webhook", e, handler=h)
                    for e, h in zip(events, self.racers, strict=True)
                ]
            )
        for payload, event, answer in zip(payloads, events, answers, strict=True):
            STATEFUL.case(answer.status, rejected=answer.status >= 400, fault=answer.status == 503)
            final = answer if answer.status != 503 else self._deliver("transaction_webhook", event)
            self._check_webhook_answer(payload, final)

    @rule(fault=st.sampled_from(["none", "sqs down", "sqs answer lost", "fulfilment queue refuses"]))
    def publish(self, fault: str) -> None:
        injected = {
            "none": None,
            "sqs down": Fault("sqs", "SendMessageBatch", "ServiceUnavailable", times=2, status=503),
            "sqs answer lost": lost_answer("sqs", "SendMessageBatch"),
            "fulfilment queue refuses": Fault(
                "sqs", "SendMessageBatch", "ServiceUnavailable", when=lambda p: "Fulfilment" in p["QueueUrl"]
            ),
        }[fault]
        if injected is not None:
            self.calls.inject(injected)
        try:
            self.pipeline.publish(rounds=2)  # a fault may leave records for a later publish
        finally:
            self.calls.clear_faults()

    @rule(fault=st.sampled_from(["none", "ses throttled", "idempotency table throttled"]))
    def consume(self, fault: str) -> None:
        table = self.aws.tables["IdempotencyTable"]
        injected = {
            "none": None,
            "ses throttled": Fault("ses", "SendEmail", "Throttling"),
            "idempotency table throttled": Fault(
                "dynamodb", "PutItem", "ThrottlingException", when=lambda p: p["TableName"] == table
            ),
        }[fault]
        if injected is not None:
            self.calls.inject(injected)
        try:
            self.pipeline.consume(rounds=2)
        finally:
            self.calls.clear_faults()

    @rule()
    def idempotency_records_expire(self) -> None:
        self.pipeline.forget_idempotency_records()

    # ------------------------------------------------------------ invariants
    @invariant()
    def orders_are_consistent(self) -> None:
        for cart_id in self.carts:
            order = self._order(cart_id)
            if order is None:
                assert not self.acked[cart_id] or True
                continue
            self._phase_never_regresses(cart_id, order)
            broken = model.unheld_contradictions(order)
            missing = self.acked[cart_id] - set(seed.ledger(self.aws, order.order_id))
            new = [f"{cart_id} {order.status}: {problem}" for problem in broken]
            new = [problem for problem in new if problem not in self.broken]  # counted once, not after every step
            STATEFUL.count(violations=len(new), lost=len(missing))
            self.broken.extend(new)
            assert missing == set(), f"acknowledged but not in the ledger: {missing}"

    def _phase_never_regresses(self, cart_id: str, order: Order) -> None:
        before = self.seen_phase.get(cart_id)
        self.seen_phase[cart_id] = order.phase
        regressed = model.phase_regressed(before, order.phase)
        STATEFUL.count(violations=int(regressed))
        if regressed:
            self.broken.append(f"{cart_id}: phase {before} -> {order.phase}")

    @invariant()
    def side_effects_happen_at_most_once(self) -> None:
        duplicated = self.pipeline.duplicated()
        STATEFUL.count(duplicates=len(duplicated))
        assert duplicated == []

    def teardown(self) -> None:
        """Drain without faults (Lambda keeps retrying the stream and the queues): nothing acknowledged is lost."""
        for _ in range(3):
            if self.pipeline.drain() == 0 and all(
                self.pipeline.depth(queue) == 0 for queue in ("ConfirmationEmailQueue", "FulfilmentQueue")
            ):
                break
        lost, duplicated = self.pipeline.lost_and_duplicated()
        mine = {order_id_for(cart_id) for cart_id in self.carts}
        lost = [entry for entry in lost if entry.split(":", 1)[1].split(":", 1)[0] in mine]
        orders = [Order.model_validate_json(item["doc"]) for item in seed.orders_table_items(self.aws, "order")]
        per_cart = {cart_id: sum(1 for o in orders if o.cart_id == cart_id) for cart_id in self.carts}
        extra = sum(max(0, count - 1) for count in per_cart.values())
        STATEFUL.count(lost=len(lost), duplicates=extra + len(duplicated))
        assert lost == []
        assert duplicated == []
        assert extra == 0, per_cart


@pytest.mark.slow
def test_random_checkouts_under_faults_keep_the_invariants(
    functions: Functions,
    aws: AwsStack,
    aws_calls: AwsCalls,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    CheckoutLifecycles.functions = functions
    CheckoutLifecycles.aws = aws
    CheckoutLifecycles.pipeline = build_pipeline(aws, lambda_context, monkeypatch)
    CheckoutLifecycles.calls = aws_calls
    CheckoutLifecycles.racers = [functions.fresh("transaction_webhook") for _ in range(2)]
    CheckoutLifecycles.broken = []
    run_state_machine_as_test(
        CheckoutLifecycles,
        settings=settings(
            max_examples=examples(12),
            stateful_step_count=12,
            deadline=None,
            phases=model.NO_SHRINK,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )
    assert CheckoutLifecycles.broken == [], "\n".join(CheckoutLifecycles.broken[:20])


@pytest.mark.parametrize(
    ("terminal", "late"),
    [
        ("void", "capture"),
        ("void", "payment"),
        ("failed_payment", "capture"),
        ("rejected_irreversible", "payment"),
    ],
)
def test_a_late_money_event_on_a_cancelled_order_is_recorded_and_holds_it(
    functions: Functions, aws: AwsStack, terminal: str, late: str
) -> None:
    """T23: once an order is cancelled (void before any capture, or a decline), a late capture or payment is Bolt's
    fact: recorded as Bolt sent it, never dropped, and the order, still cancelled in its payment phase, is held
    for an operator with a machine-readable reason; its stock stays released."""
    cart_id = f"c_late_{terminal}_{late}"
    seed.seed_cart(aws, cart_id, model.MUG)
    cart = seed.valid_order_cart(cart_id, model.MUG)
    total = seed.total_of(cart)
    assert functions.invoke("order_create", seed.order_create_event(cart)).status == 200
    captures = ((bolt_payloads.capture_id(1, cart_id), total),)
    for kind in ("pending", terminal, late):
        payload = bolt_payloads.transaction_webhook(
            kind, cart_id=cart_id, cart=cart, amount=total, captures=captures if kind in ("capture", "payment") else ()
        )
        answer = functions.invoke("transaction_webhook", signed_event("transaction_webhook", payload))
        STATEFUL.case(answer.status)
        assert answer.status == 200, answer.body

    order = seed.stored_order(aws, order_id_for(cart_id))
    assert order is not None
    unheld = model.unheld_contradictions(order)
    STATEFUL.count(violations=len(unheld))
    assert unheld == []
    assert (order.status, order.phase, order.captured) == ("on_hold", "cancelled", total), order.model_dump(
        include={"status", "phase", "authorized", "captured", "holds"}
    )
    assert "money_after_terminal_state" in order.hold_reasons
    assert order.units_reserved() == {}
