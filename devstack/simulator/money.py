"""Scenarios where Bolt's facts and the order could part: Bolt is the system of record for money, so each ends
with the order agreeing with Bolt, or held with machine-readable reasons when Bolt contradicts it.

The ones that need Bolt's side of the money (a dashboard change, a review, the operator's refunds) play it through
the local stack's fake Bolt (bolt_side.py) and end with the divergence check against the fake's books; against a
deployed stage they are noted as skipped. The others sign Bolt's webhooks themselves and run anywhere.
"""

import threading
from typing import Any

from devstack.simulator.bolt_side import FakeBoltControl, divergences
from devstack.simulator.client import Answer, Target, Timeline
from devstack.simulator.shopper import Expected, Options, Shopper, Webhook

CONCURRENT_REFUNDS = 12


def _bolt(timeline: Timeline, options: Options) -> FakeBoltControl | None:
    if options.bolt is None:
        timeline.note("skipped", "needs the local stack's fake Bolt (GET /_local/fake-bolt)")
    return options.bolt


def _order_with_bolt(
    target: Target, timeline: Timeline, options: Options, name: str, *, lines: list[tuple[str, int]], shipping: str
) -> tuple[Shopper, FakeBoltControl] | None:
    """A shopper's order created through the hooks, and the fake Bolt to pay it at (None: no fake Bolt, skipped)."""
    bolt = _bolt(timeline, options)
    if bolt is None:
        return None
    shopper = Shopper(target, timeline, f"{options.seed}:{name}", token=options.token)
    shopper.until_order_create(lines, shipping)
    shopper.order_create()
    return shopper, bolt


def agrees_with_bolt(shopper: Shopper, bolt: FakeBoltControl, label: str = "divergence check") -> None:
    """The order against the fake Bolt's books for this payment: captures and credits by id, the payment's state."""
    reference = shopper.need_reference()
    payments = [payment for payment in bolt.ledger() if payment["reference"] == reference]
    step = shopper.timeline.note(label, f"{len(payments)} payment at Bolt")
    for divergence in divergences(shopper.target, payments):
        step.problems.extend(f"{divergence.cart_id}: {problem}" for problem in divergence.problems)
        if not divergence.problems:
            step.fact("the order agrees with Bolt")


def cancel_after_dashboard_capture(target: Target, timeline: Timeline, options: Options) -> None:
    """Finding 1: Bolt captured part of the payment in its dashboard and the webhook is late; the operator cancels.
    Bolt's answer to the void reports the capture: the order records it, the cancel is a 409 with the real state,
    nothing is released or cancelled, and the late capture webhook changes nothing."""
    ordered = _order_with_bolt(
        target, timeline, options, "dashboard-capture", lines=[("MUG-12OZ", 1)], shipping="standard"
    )
    if ordered is None:
        return
    shopper, bolt = ordered
    reference = shopper.pay_at_bolt(bolt)
    total = shopper.state.total
    part = total // 2
    bolt.dashboard(reference, "capture", part)
    timeline.note("Bolt's dashboard", f"captures {part}; its webhook is late")
    answer = shopper.operate("cancel", expect=(409,))
    order = answer.field("order") or {}
    timeline.steps[-1].check(
        (order.get("amounts") or {}).get("captured") == part,
        f"the 409 shows captured {(order.get('amounts') or {}).get('captured')}, Bolt captured {part}",
    )
    shopper.bolt_sends(bolt, "capture", ("duplicate",))
    view = shopper.check_order(
        Expected("on_hold", total, part, 0, frozenset(), holds=frozenset({"void_answered_with_captures"})),
        check_ledger=False,
    )
    if view is not None:
        timeline.steps[-1].check(view.get("payment_phase") != "cancelled", "the order was cancelled")
    agrees_with_bolt(shopper, bolt)


def contradictions(target: Target, timeline: Timeline, options: Options) -> None:
    """Finding 2: money events that contradict the order are recorded as Bolt sent them and hold the order: a
    capture after a decline, a capture of ten times the authorisation, a credit of ten times the capture."""
    declined = Shopper(target, timeline, f"{options.seed}:after-decline", token=options.token, who="A:")
    declined.until_order_create([("GIFT-25", 1)], "noshipping")
    declined.order_create()
    total = declined.state.total
    declined.send(declined.hook("failed_payment"))
    capture = declined.capture(total)
    declined.send(capture, ("held",), label="webhook capture after the decline")
    declined.check_order(
        Expected(  # the capture implies the authorisation Bolt declined: both are Bolt's facts, both recorded
            "on_hold",
            total,
            total,
            0,
            frozenset({declined.key("failed_payment"), declined.key("auth"), *declined.capture_keys()}),
            holds=frozenset({"money_after_terminal_state"}),
        )
    )

    over = Shopper(target, timeline, f"{options.seed}:over-capture", token=options.token, who="B:")
    over.until_order_create([("GIFT-25", 1)], "noshipping")
    over.order_create()
    total = over.state.total
    over.send(over.hook("auth"))
    over.send(over.capture(total * 10), ("held",), label="webhook capture of 10x the authorisation")
    over.check_order(
        Expected(
            "on_hold",
            total,
            total * 10,
            0,
            frozenset({over.key("auth"), *over.capture_keys()}),
            holds=frozenset({"captured_exceeds_authorised"}),
        )
    )

    refund = Shopper(target, timeline, f"{options.seed}:over-credit", token=options.token, who="C:")
    refund.until_order_create([("GIFT-25", 1)], "noshipping")
    refund.order_create()
    total = refund.state.total
    keys = refund.pay_in_full()
    credit = refund.credit(total * 10)
    refund.send(credit, ("held",), label="webhook credit of 10x the capture")
    refund.check_order(
        Expected(
            "on_hold",
            total,
            total,
            total * 10,
            frozenset({*keys, refund.credit_key(credit)}),
            holds=frozenset({"refunded_exceeds_captured"}),
        )
    )


def busy_operator(target: Target, timeline: Timeline, options: Options) -> None:
    """Finding 3: twelve refunds at once on one order. Bolt makes each; none is answered 503, and every credit is on
    the order, at once or (202) once reconciliation applies the answer kept for it."""
    ordered = _order_with_bolt(target, timeline, options, "busy-operator", lines=[("MUG-12OZ", 2)], shipping="standard")
    if ordered is None:
        return
    shopper, bolt = ordered
    shopper.pay_at_bolt(bolt, ("payment",), auto_capture=True)
    total = shopper.state.total
    amount = max(1, total // (CONCURRENT_REFUNDS * 2))
    answers: list[Answer] = []
    lock = threading.Lock()

    def refund(index: int) -> None:
        own = Target(target.base_url, target.secret, target.pending_secret, timeout=target.timeout)
        own.order_view, own.order_view_signer = target.order_view, target.order_view_signer
        answer = own.operate(
            "POST", f"/orders/{shopper.order_id}/refund", {"amount": amount}, f"{shopper.seed}:refund:{index}"
        )
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=refund, args=(index,)) for index in range(CONCURRENT_REFUNDS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    step = timeline.note(f"{CONCURRENT_REFUNDS} operators refund {amount} at once", "")
    statuses = sorted(answer.status for answer in answers)
    step.fact(f"answers {statuses}")
    step.check(all(status in (200, 202) for status in statuses), f"answers {statuses}, expected 200 or 202 only")
    shopper.operate("reconcile")
    refunded = amount * CONCURRENT_REFUNDS
    shopper.check_order(
        Expected("partially_refunded", total, total, refunded, frozenset(), holds=frozenset()),
        "order view (after reconciliation)",
        check_ledger=False,
    )
    agrees_with_bolt(shopper, bolt)


def recovery(target: Target, timeline: Timeline, options: Options) -> None:
    """Finding 4 and 5: Bolt took money for a checkout with no order: a cart the merchant never stored, and a
    webhook carrying the cart as data.cart. Each is answered 200 and an order exists afterwards, held where it
    cannot be trusted, with the shopper's address and contact kept for fulfilment."""
    stranger = Shopper(target, timeline, f"{options.seed}:unknown-cart", token=options.token, who="A:")
    stranger.until_order_create([("MUG-12OZ", 1)], "standard")
    stranger.state.cart_id = f"{stranger.state.cart_id}-never-stored"
    timeline.note("A: order.create", "dropped, and the cart Bolt names is one the merchant never stored")
    answer = stranger.send(stranger.hook("pending"), ("applied", "held"))
    stranger._adopt(str(answer.field("display_id")))
    total = stranger.state.total
    view = stranger.check_order(
        Expected("on_hold", 0, 0, 0, frozenset({stranger.key("pending")}), holds=frozenset({"recovered_unknown_cart"})),
        check_ledger=True,
    )
    _has_address(timeline, view)

    moved = Shopper(target, timeline, f"{options.seed}:data-cart", token=options.token, who="B:")
    moved.until_order_create([("GIFT-25", 1)], "noshipping")
    timeline.note("B: order.create", "dropped; Bolt's payment webhook carries the cart as data.cart")
    total = moved.state.total
    payment = moved.capture(total)
    envelope: dict[str, Any] = dict(payment.envelope)
    data = dict(envelope["data"])
    order = dict(data.pop("order"))
    data["cart"] = order.pop("cart")
    envelope["data"] = {**data, "order": order}
    envelope["type"] = "payment"
    answer = moved.send(Webhook("webhook payment (data.cart)", envelope), ("applied", "held"))
    moved._adopt(str(answer.field("display_id")))
    moved.check_order(
        Expected("captured", total, total, 0, frozenset({f"payment#{moved.authorize().id}", *moved.capture_keys()})),
    )


def _has_address(timeline: Timeline, view: dict[str, Any] | None) -> None:
    if view is None:
        return
    step = timeline.steps[-1]
    addresses = view.get("shipping_addresses") or []
    step.check(bool(addresses), "the order keeps no shipping address")
    step.check(bool(view.get("contact_email")), "the order keeps no contact email")
    if addresses:
        step.fact(f"ships to {addresses[0].get('locality')}, {addresses[0].get('country_code')}")


def reconciliation(target: Target, timeline: Timeline, options: Options) -> None:
    """What no webhook told the merchant: Bolt's auth webhook is lost, then the payment is captured and part of it
    refunded in Bolt's dashboard. One reconciliation of the order makes it agree with Bolt."""
    ordered = _order_with_bolt(
        target, timeline, options, "reconcile", lines=[("MUG-12OZ", 1), ("GIFT-25", 1)], shipping="standard"
    )
    if ordered is None:
        return
    shopper, bolt = ordered
    bolt.webhook_fault("drop", reference=shopper.state.cart_id, kind="auth")
    reference = shopper.pay_at_bolt(bolt)
    total = shopper.state.total
    bolt.dashboard(reference, "capture", total)
    credit = bolt.dashboard(reference, "credit", total // 4)
    timeline.note("Bolt", f"auth webhook dropped; dashboard capture {total}, credit {total // 4} ({credit['id']})")
    shopper.operate("reconcile")
    view = shopper.check_order(
        Expected("partially_refunded", total, total, total // 4, frozenset()), check_ledger=False
    )
    if view is not None:
        sources = {entry.get("source") for entry in view.get("timeline") or []}
        timeline.steps[-1].check("reconcile" in sources, f"no ledger entry from reconciliation ({sources})")
    agrees_with_bolt(shopper, bolt)


def operator_review(target: Target, timeline: Timeline, options: Options) -> None:
    """Bolt flags the payment for the merchant's review (rejected_reversible); the operator approves it through
    POST /orders/{id}/review and Bolt authorises it."""
    ordered = _order_with_bolt(target, timeline, options, "review", lines=[("GIFT-25", 2)], shipping="noshipping")
    if ordered is None:
        return
    shopper, bolt = ordered
    shopper.pay_at_bolt(bolt, ("rejected_reversible",), review=True)
    shopper.check_order(Expected("payment_review", 0, 0, 0, frozenset()), "order view (in review)", check_ledger=False)
    shopper.operate("review", {"decision": "approve"})
    total = shopper.state.total
    shopper.check_order(Expected("authorized", total, 0, 0, frozenset()), check_ledger=False)
    agrees_with_bolt(shopper, bolt)


MONEY_SCENARIOS = {
    "dashboard-capture": ("cancel after a dashboard capture", cancel_after_dashboard_capture),
    "contradictions": ("contradicting money holds the order", contradictions),
    "busy-operator": (f"{CONCURRENT_REFUNDS} refunds at once", busy_operator),
    "recovery": ("money with no order: recovered", recovery),
    "reconciliation": ("reconciled: what no webhook said", reconciliation),
    "review": ("operator approves a fraud review", operator_review),
}
