"""The fakes keep the contracts of what they stand in for: the same scenarios, with the same expectations, against
tests/fakes.py's in-memory stores and the layer's Dynamo stores under moto (the template's tables, the demo catalog),
and against FakeBoltTransactions and the layer's BoltApiClient talking to devstack's fake Bolt over loopback. A rule
test that passes on a fake then says something about the real thing too."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from bolt_merchant.backoffice.models import ActionAnswer
from bolt_merchant.backoffice.operations import BoltTransactions
from bolt_merchant.bolt.api import BoltApiClient
from bolt_merchant.catalog import discount_key
from bolt_merchant.checkout.carts import (
    CartConflict,
    CheckoutStore,
    DiscountExhausted,
    OrderExists,
    OutOfStock,
    StoredCart,
)
from bolt_merchant.checkout.order_create import DynamoCheckoutStore
from bolt_merchant.core.errors import BoltNotFound, BoltRefused, DependencyUnavailable
from bolt_merchant.core.models import AppliedDiscount, CartLine
from bolt_merchant.orders.models import Order, OrderTotals, OutboxEvent, order_id_for
from bolt_merchant.payments.store import DynamoTransactionStore
from bolt_merchant.payments.transactions import LedgerEntry, StaleOrder, Transition, apply_event

from devstack.fake_bolt import FakeBolt
from devstack.settings import DEFAULT_API_KEY
from tests import seed
from tests.fakes import NOW, FakeBoltTransactions, MemoryCheckoutStore, MemoryTransactionStore, Shop, webhook
from tests.support import (
    AwsStack,
    demo_products,
    no_network,  # noqa: F401 - the autouse network guard, applied to this module
)

CART_ID = "c_contract01"
ORDER_ID = order_id_for(CART_ID)
WELCOME = AppliedDiscount(code="WELCOME10", type="fixed_amount", amount=1000, description="$10 off")


@dataclass
class Backend:
    """One implementation of the ports, and what a test looks at or changes behind them."""

    checkout: CheckoutStore
    transactions: MemoryTransactionStore | DynamoTransactionStore
    stock: Callable[[str], tuple[int, int]]
    set_inventory: Callable[[str, int], None]
    uses: Callable[[str], int]
    set_uses: Callable[[str, int], None]


def memory() -> Backend:
    shop = Shop.demo()
    return Backend(
        checkout=MemoryCheckoutStore(shop),
        transactions=MemoryTransactionStore(shop),
        stock=shop.stock,
        set_inventory=shop.inventory.__setitem__,
        uses=shop.uses.__getitem__,
        set_uses=shop.uses.__setitem__,
    )


def dynamo(aws: AwsStack) -> Backend:
    tables = (aws.dynamodb, aws.catalog_table, aws.tables["OrdersTable"])

    def set_uses(code: str, uses: int) -> None:
        aws.dynamodb.update_item(
            TableName=aws.catalog_table,
            Key={"pk": {"S": discount_key(code)}},
            UpdateExpression="SET uses = :uses",
            ExpressionAttributeValues={":uses": {"N": str(uses)}},
        )

    return Backend(
        checkout=DynamoCheckoutStore(*tables),
        transactions=DynamoTransactionStore(*tables),
        stock=lambda sku: seed.stock(aws, sku),
        set_inventory=lambda sku, count: seed.set_product(aws, sku, inventory=count),
        uses=lambda code: seed.discount_uses(aws, code),
        set_uses=set_uses,
    )


@pytest.fixture(params=["memory", "dynamo"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "memory":
        return memory()
    return dynamo(request.getfixturevalue("aws"))


def cart(items: tuple[tuple[str, int], ...] = (("TOTE-BLUE", 2), ("MUG-12OZ", 1)), **changes: Any) -> StoredCart:
    products = demo_products()
    lines = [
        CartLine(
            sku=sku,
            name=products[sku].name,
            quantity=quantity,
            unit_price=products[sku].unit_price,
            taxable=products[sku].taxable,
            needs_shipping=products[sku].needs_shipping,
        )
        for sku, quantity in items
    ]
    stored = StoredCart(
        cart_id=CART_ID, currency="USD", lines=lines, created_at=NOW, expires_at=NOW + timedelta(days=7)
    )
    return stored.model_copy(update=changes)


def order_of(stored: StoredCart, discounts: tuple[AppliedDiscount, ...] = ()) -> tuple[Order, OutboxEvent]:
    subtotal = stored.subtotal
    discount = sum(d.amount for d in discounts)
    order = Order(
        order_id=ORDER_ID,
        cart_id=stored.cart_id,
        status="pending_payment",
        currency="USD",
        lines=stored.lines,
        discounts=list(discounts),
        totals=OrderTotals(subtotal=subtotal, discount=discount, shipping=0, tax=0, total=subtotal - discount),
        created_at=NOW,
        updated_at=NOW,
    )
    event = OutboxEvent(
        event_id=f"{ORDER_ID}:order.created", event_type="order.created", order_id=ORDER_ID, occurred_at=NOW
    )
    return order, event


def placed(backend: Backend, discounts: tuple[AppliedDiscount, ...] = ()) -> Order:
    stored = cart(discount_codes=[d.code for d in discounts])
    backend.checkout.create_cart(stored)
    order, event = order_of(stored, discounts)
    backend.checkout.create_order(order, event, {d.code: 10_000 for d in discounts})
    return order


# ---------------------------------------------------------------- carts


def test_a_cart_reads_back_as_written_and_only_its_own_retry_is_accepted(backend: Backend) -> None:
    stored = cart()
    backend.checkout.create_cart(stored)

    backend.checkout.create_cart(stored)  # a retried write whose answer was lost
    with pytest.raises(DependencyUnavailable):
        backend.checkout.create_cart(cart((("MUG-12OZ", 5),)))

    assert backend.checkout.get_cart(CART_ID) == stored
    assert backend.checkout.get_cart("c_nobody") is None


def test_a_cart_is_replaced_only_at_the_version_read(backend: Backend) -> None:
    backend.checkout.create_cart(cart())
    second = cart((("MUG-12OZ", 2),), version=2)

    backend.checkout.replace_cart(second, expected_version=1)
    backend.checkout.replace_cart(second, expected_version=1)  # its own retry
    with pytest.raises(CartConflict):
        backend.checkout.replace_cart(cart((("MUG-12OZ", 3),), version=2), expected_version=1)
    with pytest.raises(CartConflict):
        backend.checkout.replace_cart(cart(version=3), expected_version=5)

    assert backend.checkout.get_cart(CART_ID) == second


def test_a_cart_and_its_codes_are_read_together(backend: Backend) -> None:
    stored = cart(discount_codes=["WELCOME10"])
    backend.checkout.create_cart(stored)
    backend.set_uses("WELCOME10", 3)

    found, records = backend.checkout.cart_with_discounts(CART_ID, ["WELCOME10", "NOSUCHCODE"])
    none, _ = backend.checkout.cart_with_discounts(None, [])

    assert found == stored
    assert none is None
    assert {code: (r.definition.code, r.uses) for code, r in records.items()} == {"WELCOME10": ("WELCOME10", 3)}


# ---------------------------------------------------------------- order.create's transaction


def test_creating_the_order_reserves_counts_and_closes_in_one_write(backend: Backend) -> None:
    order = placed(backend, (WELCOME,))

    snapshot = backend.checkout.snapshot(CART_ID, ORDER_ID, ["WELCOME10"])
    assert backend.checkout.get_order(ORDER_ID) == order == snapshot.order
    assert snapshot.cart is not None
    assert (snapshot.cart.status, snapshot.cart.order_id) == ("ordered", ORDER_ID)
    assert snapshot.discounts["WELCOME10"].uses == 1 == backend.uses("WELCOME10")
    assert (backend.stock("TOTE-BLUE"), backend.stock("MUG-12OZ")) == ((48, 2), (199, 1))


def test_a_second_order_for_the_cart_is_order_exists_and_writes_nothing(backend: Backend) -> None:
    order = placed(backend)

    with pytest.raises(OrderExists):
        backend.checkout.create_order(*order_of(cart()), {})

    assert backend.stock("TOTE-BLUE") == (48, 2)
    assert backend.checkout.get_order(ORDER_ID) == order


def test_an_order_for_a_cart_that_is_not_there_is_order_exists(backend: Backend) -> None:
    with pytest.raises(OrderExists):
        backend.checkout.create_order(*order_of(cart()), {})

    assert backend.checkout.get_order(ORDER_ID) is None


def test_one_line_out_of_stock_reserves_nothing_and_names_the_sku(backend: Backend) -> None:
    backend.checkout.create_cart(cart())
    backend.set_inventory("MUG-12OZ", 0)

    with pytest.raises(OutOfStock) as caught:
        backend.checkout.create_order(*order_of(cart()), {})

    assert caught.value.sku == "MUG-12OZ"
    assert backend.stock("TOTE-BLUE") == (50, 0)
    assert backend.checkout.get_order(ORDER_ID) is None
    assert backend.checkout.get_cart(CART_ID) == cart()  # still open


def test_a_code_at_its_limit_is_discount_exhausted_and_writes_nothing(backend: Backend) -> None:
    stored = cart(discount_codes=["WELCOME10"])
    backend.checkout.create_cart(stored)
    backend.set_uses("WELCOME10", 2)

    with pytest.raises(DiscountExhausted) as caught:
        backend.checkout.create_order(*order_of(stored, (WELCOME,)), {"WELCOME10": 2})

    assert caught.value.code == "WELCOME10"
    assert (backend.uses("WELCOME10"), backend.stock("TOTE-BLUE")) == (2, (50, 0))
    assert backend.checkout.get_order(ORDER_ID) is None


# ---------------------------------------------------------------- order transitions


def _transition(order: Order, kind: str, **changes: Any) -> Transition:
    return apply_event(order, webhook(kind, order, **changes), NOW)


def test_a_transition_writes_the_order_its_ledger_and_the_payment_reference(backend: Backend) -> None:
    order = placed(backend)
    auth = _transition(order, "auth")

    backend.transactions.apply_transition(order, auth)

    assert backend.transactions.get_order(ORDER_ID) == auth.order
    assert backend.transactions.order_id_for_reference("DEMO-PAYM-REF1") == ORDER_ID
    assert backend.transactions.cart_exists(CART_ID) is True
    assert backend.transactions.cart_exists("c_nobody") is False
    [record] = backend.transactions.ledger(ORDER_ID)
    assert (record.key, record.hook_type, record.transaction_id, record.amount, record.applied, record.note) == (
        "auth#TAdemo0000001",
        "auth",
        "TAdemo0000001",
        order.totals.total,
        True,
        "",
    )
    assert record.recorded_at == NOW.isoformat()


def test_a_transition_from_a_stale_order_is_stale_order_and_writes_nothing(backend: Backend) -> None:
    order = placed(backend)
    backend.transactions.apply_transition(order, _transition(order, "auth"))

    with pytest.raises(StaleOrder):
        backend.transactions.apply_transition(order, _transition(order, "pending"))

    assert [record.key for record in backend.transactions.ledger(ORDER_ID)] == ["auth#TAdemo0000001"]
    assert backend.transactions.get_order(ORDER_ID).status == "authorized"  # type: ignore[union-attr]


def test_a_ledger_entry_written_before_is_stale_order(backend: Backend) -> None:
    order = placed(backend)
    auth = _transition(order, "auth")
    backend.transactions.apply_transition(order, auth)
    current = auth.order
    again = Transition(order=current.model_copy(update={"version": current.version + 1}), ledger=auth.ledger)

    with pytest.raises(StaleOrder):
        backend.transactions.apply_transition(current, again)

    assert backend.transactions.get_order(ORDER_ID) == current


def test_a_cancellation_gives_back_stock_and_discount_uses(backend: Backend) -> None:
    order = placed(backend, (WELCOME,))
    declined = _transition(order, "failed_payment")
    assert declined.release_inventory

    backend.transactions.apply_transition(order, declined)

    assert (backend.stock("TOTE-BLUE"), backend.stock("MUG-12OZ"), backend.uses("WELCOME10")) == ((50, 0), (200, 0), 0)


def test_restocked_units_go_back_with_the_transition(backend: Backend) -> None:
    order = placed(backend)
    note = Transition(
        order=order.model_copy(update={"version": 2}),
        ledger=[LedgerEntry("restock#TC1", "restock", "TC1", 0, True, "back office restock")],
    )

    backend.transactions.apply_transition(order, note, {"TOTE-BLUE": 1})

    assert backend.stock("TOTE-BLUE") == (49, 1)
    assert [record.key for record in backend.transactions.ledger(ORDER_ID)] == ["restock#TC1"]


# ---------------------------------------------------------------- Bolt's Transactions API


@dataclass
class Bolt:
    """One BoltTransactions, and a payment of 5000 cents it authorised."""

    api: BoltTransactions
    reference: str
    payment_id: str


@pytest.fixture(params=["memory", "devstack"])
def bolt(request: pytest.FixtureRequest) -> Iterator[Bolt]:
    """FakeBoltTransactions, or BoltApiClient talking to devstack's fake Bolt over loopback."""
    if request.param == "memory":
        fake = FakeBoltTransactions()
        payment = fake.authorize(5000)
        yield Bolt(fake, payment.reference, payment.id)
        return
    server = FakeBolt(port=0, webhook_delay_seconds=0)
    server.start()
    try:
        authorised = server.authorize(cart={"order_reference": "c_bolt0001"}, amount=5000, webhooks=[])["transaction"]
        client = BoltApiClient(server.url, api_key=lambda: DEFAULT_API_KEY, sleep=lambda _: None)
        yield Bolt(client, authorised["reference"], authorised["id"])
    finally:
        server.stop()


def _answer(raw: dict[str, Any]) -> ActionAnswer:
    return ActionAnswer.model_validate(raw)


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_a_capture_answers_the_payment_with_each_capture_under_its_own_id(bolt: Bolt) -> None:
    first = _answer(bolt.api.capture(bolt.reference, 2000, "USD", "k-capture-1"))
    second = _answer(bolt.api.capture(bolt.reference, 3000, "USD", "k-capture-2"))

    assert (first.id, first.reference, first.amount) == (bolt.payment_id, bolt.reference, 5000)
    assert [c.amount for c in second.captures] == [2000, 3000]
    assert len({c.id for c in second.captures}) == 2
    assert second.captures[0].id == first.captures[0].id


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_captures_and_credits_never_exceed_what_is_left(bolt: Bolt) -> None:
    bolt.api.capture(bolt.reference, 2000, "USD", "k-capture")

    with pytest.raises(BoltRefused):
        bolt.api.capture(bolt.reference, 3001, "USD", "k-too-much")
    with pytest.raises(BoltRefused):
        bolt.api.credit(bolt.reference, 2001, "USD", "k-credit-too-much")
    with pytest.raises(BoltRefused):
        bolt.api.capture(bolt.reference, 100, "EUR", "k-currency")


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_a_credit_answers_a_new_cc_credit_transaction(bolt: Bolt) -> None:
    bolt.api.capture(bolt.reference, 5000, "USD", "k-capture")

    credit = _answer(bolt.api.credit(bolt.reference, 1200, "USD", "k-credit"))

    assert credit.id not in (None, bolt.payment_id)
    assert credit.reference != bolt.reference
    assert (credit.type, credit.status, credit.amount) == ("cc_credit", "completed", 1200)
    assert credit.credit is not None
    assert credit.credit.status == "succeeded"
    assert credit.source_transaction is not None
    assert credit.source_transaction.reference == bolt.reference


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_a_void_cancels_a_payment_without_captures_and_completes_one_with(bolt: Bolt) -> None:
    voided = _answer(bolt.api.void(bolt.reference, "k-void"))

    assert (voided.id, voided.status) == (bolt.payment_id, "cancelled")
    with pytest.raises(BoltRefused):
        bolt.api.void(bolt.reference, "k-void-again")
    with pytest.raises(BoltRefused):
        bolt.api.capture(bolt.reference, 100, "USD", "k-capture-after-void")


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_a_void_after_a_capture_completes_the_payment(bolt: Bolt) -> None:
    bolt.api.capture(bolt.reference, 1000, "USD", "k-capture")

    assert _answer(bolt.api.void(bolt.reference, "k-void")).status == "completed"


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_an_idempotency_key_replays_its_answer_and_is_refused_for_another_request(bolt: Bolt) -> None:
    first = bolt.api.capture(bolt.reference, 1000, "USD", "k-once")

    again = bolt.api.capture(bolt.reference, 1000, "USD", "k-once")
    with pytest.raises(BoltRefused):
        bolt.api.capture(bolt.reference, 2000, "USD", "k-once")

    assert [c.id for c in _answer(again).captures] == [c.id for c in _answer(first).captures]
    assert len(_answer(bolt.api.capture(bolt.reference, 500, "USD", "k-next")).captures) == 2


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_an_unknown_transaction_is_not_found(bolt: Bolt) -> None:
    with pytest.raises(BoltNotFound):
        bolt.api.void("NOPE-NOPE-NOPE", "k-unknown")
    with pytest.raises(BoltNotFound):  # what reconciliation reports as "Bolt does not know the transaction"
        bolt.api.transaction("NOPE-NOPE-NOPE")


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_tracking_is_accepted_for_a_known_payment(bolt: Bolt) -> None:
    answer = bolt.api.track_shipment(bolt.reference, "UPS", "1Z999", [{"reference": "MUG-12OZ", "quantity": 1}], "k-t")

    assert answer["transaction_reference"] == bolt.reference
