"""A hold reconciliation finds is counted like one a webhook finds: OrderHeld (alarmed) and its kind."""

from collections.abc import Iterator
from typing import Any

import pytest
from bolt_merchant.core.observability import metrics
from bolt_merchant.payments.reconcile import reconcile_order

from devstack.bolt_payloads import order_cart, transaction
from tests.fakes import NOW, MemoryTransactionStore, Shop, place_order

REFERENCE = "RECO-NCIL-0001"


class BoltKnows:
    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer

    def transaction(self, reference: str) -> dict[str, Any]:
        assert reference == REFERENCE
        return self.answer


@pytest.fixture
def counted() -> Iterator[dict[str, Any]]:
    metrics.clear_metrics()
    yield metrics.metric_set
    metrics.clear_metrics()


def test_a_capture_above_the_authorisation_found_by_reconciliation_is_counted_as_a_hold(
    counted: dict[str, Any],
) -> None:
    shop = Shop.demo()
    placed = place_order(shop)
    shop.orders[placed.order_id] = placed.model_copy(update={"bolt_transaction_reference": REFERENCE})
    total = placed.totals.total
    bolt = BoltKnows(
        transaction(
            id="TArecon00001",
            reference=REFERENCE,
            status="completed",
            amount=total,
            cart=order_cart(placed.cart_id),
            token=None,
            captures=[("CArecon00001", total * 3)],
        )
    )

    outcome = reconcile_order(MemoryTransactionStore(shop), bolt, placed.order_id, NOW)

    assert outcome == "changed"
    assert shop.orders[placed.order_id].hold_reasons == ["captured_exceeds_authorised"]
    assert counted["OrderHeld"]["Value"] == [1.0]
    assert counted["CaptureExceedsAuthorization"]["Value"] == [1.0]
