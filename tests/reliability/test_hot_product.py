"""A flash sale on one sharded product, under DynamoDB's contention (devstack/moto_dynamodb.py, Contention): 200
order.create for 150 units spread over 8 stock shards, while an operator restocks and counts the stock, with
concurrent transactions on one item cancelled (TransactionConflict) as DynamoDB does.

What must hold: every unit sold existed (no shard below zero, stock conserved), each shard's `reserved` is exactly
the units the orders recorded as taken from it, and no answer is a 5xx. And a limited code on 4 usage shards is
used exactly max_uses times however many checkouts race for it.
"""

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bolt_merchant.catalog import operations
from bolt_merchant.catalog.admin_store import DynamoCatalogAdmin
from bolt_merchant.catalog.models import Discount
from bolt_merchant.catalog.operations import DiscountChange, ProductChange, StockChange
from bolt_merchant.core.errors import BoltCode, Conflict
from bolt_merchant.orders.models import Order

from devstack.moto_dynamodb import Contention, contention, faithful_transactions
from tests import seed
from tests.reliability.conftest import Answer, Functions
from tests.support import AwsStack, demo_products

SKU = "MUG-12OZ"
UNITS, ORDERS, SHARDS, CONTAINERS = 150, 200, 8, 16
HOLD_SECONDS = 0.01  # a committed transaction's items conflict this long: several cancellations a run
OPERATOR = "arn:aws:iam::123456789012:user/stock-taker"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def shard_the_mug(aws: AwsStack, units: int, shards: int) -> DynamoCatalogAdmin:
    store = DynamoCatalogAdmin(aws.dynamodb, aws.catalog_table)
    mug = demo_products()[SKU]
    change = ProductChange(
        name=mug.name, unit_price=mug.unit_price, taxable=mug.taxable, type=mug.type, stock_shards=shards
    )
    operations.put_product(store, SKU, change, if_match=None, operator=OPERATOR, now=NOW)
    level = store.product(SKU)
    assert level is not None
    operations.change_stock(
        store, SKU, StockChange(set=units, expected=level.product.inventory), operator=OPERATOR, now=NOW
    )
    return store


def orders(aws: AwsStack) -> list[Order]:
    return [Order.model_validate_json(item["doc"]) for item in seed.orders_table_items(aws, "order")]


def in_parallel(workers: list[Callable[[], None]]) -> None:
    threads = [threading.Thread(target=worker) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def order_create_workers(
    functions: Functions, aws: AwsStack, count: int, answers: list[Answer], discounts: tuple[tuple[str, int], ...] = ()
) -> list[Callable[[], None]]:
    events = []
    for number in range(count):
        cart_id = f"c_flash{number:04d}"
        seed.seed_cart(aws, cart_id, ((SKU, 1),), discount_codes=[code for code, _ in discounts])
        events.append(seed.order_create_event(seed.valid_order_cart(cart_id, ((SKU, 1),), discounts=discounts)))
    shares = [events[start::CONTAINERS] for start in range(CONTAINERS)]

    def worker(share: list[dict[str, Any]]) -> Callable[[], None]:
        handler = functions.fresh("order_create")  # a container serves one request at a time

        def run() -> None:
            for event in share:
                answers.append(functions.invoke("order_create", event, handler))

        return run

    return [worker(share) for share in shares]


def test_a_flash_sale_on_a_sharded_product_sells_exactly_the_units_that_exist(
    functions: Functions, aws: AwsStack
) -> None:
    store = shard_the_mug(aws, UNITS, SHARDS)
    answers: list[Answer] = []
    added: list[int] = []  # units the operator's changes added (negative: removed), as each succeeded
    workers = order_create_workers(functions, aws, ORDERS, answers)

    def restocks() -> None:
        for _ in range(5):
            change = StockChange(adjust=4, reason="delivery")
            operations.change_stock(store, SKU, change, operator=OPERATOR, now=NOW)
            added.append(4)

    def counts() -> None:  # a stock take finds one unit fewer than the system thinks, three times
        for _ in range(3):
            seen = store.product(SKU)
            assert seen is not None
            change = StockChange(set=max(seen.product.inventory - 1, 0), expected=seen.product.inventory)
            try:
                operations.change_stock(store, SKU, change, operator=OPERATOR, now=NOW)
            except Conflict:
                continue  # a checkout moved the level meanwhile: the operator counts again later
            added.append(change.set - seen.product.inventory)  # type: ignore[operator]

    with seed.serialised_moto(), faithful_transactions(), contention(Contention(hold_seconds=HOLD_SECONDS)) as faults:
        in_parallel([*workers, restocks, counts])

    statuses = Counter(answer.status for answer in answers)
    codes = Counter(int(answer.body["error"]["code"]) for answer in answers if answer.status != 200)
    assert len(answers) == ORDERS
    assert all(status < 500 for status in statuses), statuses
    assert set(codes) <= {BoltCode.ORDER_OUT_OF_INVENTORY}, codes
    assert faults.cancelled["TransactionConflict"] > 0  # the faults were really injected

    placed = orders(aws)
    sold = sum(sum(order.units_reserved().values()) for order in placed)
    final = store.product(SKU)
    assert final is not None
    assert len(placed) == statuses[200] == sold
    assert all(shard.available >= 0 for shard in final.shards)
    assert sold + final.product.inventory == UNITS + sum(added)  # conserved: nothing sold that did not exist
    assert codes == Counter() or final.product.inventory <= sum(a for a in added if a > 0)  # refused: sold out
    taken: Counter[int] = Counter()
    for order in placed:
        for shard, units in order.units_held_by_shard().get(SKU, {}).items():
            taken[shard] += units
    assert {shard.shard: shard.reserved for shard in final.shards if shard.reserved} == dict(taken)
    assert len(taken) > 1  # the sale really spread over the shards


def test_a_limited_code_on_usage_shards_is_used_exactly_max_uses_times(functions: Functions, aws: AwsStack) -> None:
    store = shard_the_mug(aws, UNITS, SHARDS)
    limited = Discount(code="FLASH5", type="fixed_amount", amount=500, description="$5 off", max_uses=25)
    change = DiscountChange(**limited.model_dump(exclude={"code"}) | {"usage_shards": 4})
    operations.put_discount(store, "FLASH5", change, if_match=None, operator=OPERATOR, now=NOW)
    answers: list[Answer] = []
    workers = order_create_workers(functions, aws, 60, answers, discounts=(("FLASH5", 500),))

    with seed.serialised_moto(), faithful_transactions(), contention(Contention(hold_seconds=HOLD_SECONDS)):
        in_parallel(workers)

    statuses = Counter(answer.status for answer in answers)
    codes = Counter(int(answer.body["error"]["code"]) for answer in answers if answer.status != 200)
    assert statuses[200] == 25
    assert set(codes) == {BoltCode.ORDER_DISCOUNT_CANNOT_APPLY}
    stored = store.discount("FLASH5")
    assert stored is not None
    assert stored.uses == 25
    assert Counter(order.discount_shards.get("FLASH5", 0) for order in orders(aws)) == Counter(
        {shard.shard: shard.available for shard in stored.shards}
    )
