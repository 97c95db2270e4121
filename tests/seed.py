"""State the checkout and webhook tests start from, and readers for what the handlers wrote.

Bolt only knows a cart by its id (order_reference): events/ refer to bolt_payloads.DEMO_CART_ID, so a test stores
that cart first, priced from the catalog as the storefront would have, through the layer's own checkout store.
"""

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from bolt_merchant.catalog import discount_key, product_key
from bolt_merchant.catalog.models import Discount
from bolt_merchant.checkout.carts import StoredCart
from bolt_merchant.checkout.order_create import DynamoCheckoutStore
from bolt_merchant.core.aws import from_item
from bolt_merchant.core.models import CartLine
from bolt_merchant.orders import cart_key, order_key
from bolt_merchant.orders.models import Order, OutboxEvent, order_id_for
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.botocore_stubber import BotocoreStubber
from moto.dynamodb.models import dynamodb_backends

from devstack import bolt_payloads
from devstack.catalog import discount_item
from tests import expect
from tests.support import AwsStack, demo_products, signed_event

DEMO_CART_ID = bolt_payloads.DEMO_CART_ID
DEMO_ORDER_ID = order_id_for(DEMO_CART_ID)
DEMO_ITEMS: tuple[tuple[str, int], ...] = tuple((sku, quantity) for sku, _, quantity, _ in bolt_payloads.DEMO_LINES)


def orders_table(aws: AwsStack) -> str:
    return aws.tables["OrdersTable"]


def checkout_store(aws: AwsStack) -> DynamoCheckoutStore:
    return DynamoCheckoutStore(aws.dynamodb, aws.catalog_table, orders_table(aws))


def seed_cart(
    aws: AwsStack,
    cart_id: str = DEMO_CART_ID,
    items: Sequence[tuple[str, int]] = DEMO_ITEMS,
    *,
    discount_codes: Sequence[str] = (),
    expires_at: datetime | None = None,
    prices: dict[str, int] | None = None,
) -> StoredCart:
    """Store an open cart as POST /storefront/carts would have, priced from the demo catalog (or `prices`)."""
    products = demo_products()
    now = datetime.now(UTC)
    cart = StoredCart(
        cart_id=cart_id,
        currency="USD",
        lines=[
            CartLine(
                sku=sku,
                name=products[sku].name,
                quantity=quantity,
                unit_price=(prices or {}).get(sku, products[sku].unit_price),
                taxable=products[sku].taxable,
                needs_shipping=products[sku].needs_shipping,
            )
            for sku, quantity in items
        ],
        discount_codes=list(discount_codes),
        created_at=now,
        expires_at=expires_at or now + timedelta(days=7),
    )
    checkout_store(aws).create_cart(cart)
    return cart


def stored_cart(aws: AwsStack, cart_id: str = DEMO_CART_ID) -> StoredCart | None:
    return checkout_store(aws).get_cart(cart_id)


def stored_order(aws: AwsStack, order_id: str = DEMO_ORDER_ID) -> Order | None:
    return checkout_store(aws).get_order(order_id)


def order_item_attributes(aws: AwsStack, order_id: str = DEMO_ORDER_ID) -> dict[str, Any]:
    item = aws.dynamodb.get_item(TableName=orders_table(aws), Key=order_key(order_id), ConsistentRead=True)["Item"]
    return from_item(item)


def cart_item_attributes(aws: AwsStack, cart_id: str = DEMO_CART_ID) -> dict[str, Any]:
    item = aws.dynamodb.get_item(TableName=orders_table(aws), Key=cart_key(cart_id), ConsistentRead=True)["Item"]
    return from_item(item)


def partition(aws: AwsStack, order_id: str = DEMO_ORDER_ID, sk_prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every item of the order's partition whose sort key starts with sk_prefix, by sort key."""
    items: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {
        "TableName": orders_table(aws),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": f"ORDER#{order_id}"}},
        "ConsistentRead": True,
    }
    if sk_prefix:
        kwargs["KeyConditionExpression"] += " AND begins_with(sk, :prefix)"
        kwargs["ExpressionAttributeValues"][":prefix"] = {"S": sk_prefix}
    while True:
        page = aws.dynamodb.query(**kwargs)
        for item in page["Items"]:
            items[item["sk"]["S"]] = from_item(item)
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def ledger(aws: AwsStack, order_id: str = DEMO_ORDER_ID) -> dict[str, dict[str, Any]]:
    """The order's TX# items (one per applied or recorded transition), by sort key."""
    return partition(aws, order_id, "TX#")


def outbox(aws: AwsStack, order_id: str = DEMO_ORDER_ID) -> dict[str, OutboxEvent]:
    """The order's EVENT# items, by sort key."""
    return {sk: OutboxEvent.model_validate_json(item["doc"]) for sk, item in partition(aws, order_id, "EVENT#").items()}


def orders_table_items(aws: AwsStack, kind: str) -> list[dict[str, Any]]:
    """Every item of one kind (order, cart, ledger, event...) in the orders table."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": orders_table(aws),
        "FilterExpression": "kind = :kind",
        "ExpressionAttributeValues": {":kind": {"S": kind}},
    }
    while True:
        page = aws.dynamodb.scan(**kwargs)
        items += [from_item(item) for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def orders_of_cart(aws: AwsStack, cart_id: str) -> list[Order]:
    orders = [Order.model_validate_json(item["doc"]) for item in orders_table_items(aws, "order")]
    return [order for order in orders if order.cart_id == cart_id]


# ---------------------------------------------------------------- catalog counters


def product(aws: AwsStack, sku: str) -> dict[str, Any]:
    """The product item: unit_price, inventory (still sellable) and reserved (held by orders)."""
    item = aws.dynamodb.get_item(TableName=aws.catalog_table, Key={"pk": {"S": product_key(sku)}}, ConsistentRead=True)
    return from_item(item["Item"])


def stock(aws: AwsStack, sku: str) -> tuple[int, int]:
    """(inventory, reserved) of a product."""
    found = product(aws, sku)
    return int(found["inventory"]), int(found.get("reserved", 0))


def set_product(aws: AwsStack, sku: str, **values: int) -> None:
    """Change a product as the merchant would (price, inventory) behind the hooks' back."""
    names = {f"#{name}": name for name in values}
    aws.dynamodb.update_item(
        TableName=aws.catalog_table,
        Key={"pk": {"S": product_key(sku)}},
        UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in values),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":{name}": {"N": str(value)} for name, value in values.items()},
    )


def discount_uses(aws: AwsStack, code: str) -> int:
    item = aws.dynamodb.get_item(
        TableName=aws.catalog_table, Key={"pk": {"S": discount_key(code)}}, ConsistentRead=True
    )["Item"]
    return int(from_item(item).get("uses", 0))


def add_discounts(aws: AwsStack, discounts: Iterable[Discount]) -> None:
    for discount in discounts:
        aws.dynamodb.put_item(TableName=aws.catalog_table, Item=discount_item(discount))


# ---------------------------------------------------------------- Bolt carts and requests for stored carts


def valid_order_cart(
    cart_id: str,
    items: Sequence[tuple[str, int]],
    *,
    shipping: str | None = "standard",
    discounts: Sequence[tuple[str, int]] = (),
    region: str = "US-CA",
) -> dict[str, Any]:
    """Bolt's order.create cart for a cart stored with `items`, shipped to San Francisco with `shipping` (None for
    digital-only carts): every amount computed from the demo catalog, so order.create accepts it."""
    products = demo_products()
    lines = tuple((sku, products[sku].name, quantity, products[sku].unit_price) for sku, quantity in items)
    bolt_items = [{"sku": sku, "quantity": quantity} for sku, quantity in items]
    chosen = None
    tax = 0
    if shipping is not None:
        cost = expect.delivery_cost(shipping, expect.subtotal(bolt_items))
        chosen = (shipping, expect.METHODS[shipping].service, cost)
        tax = expect.items_tax(bolt_items, region) + expect.shipping_tax(cost, region)
    return bolt_payloads.order_cart(cart_id, lines, shipping=chosen, tax=tax, discounts=tuple(discounts))


def order_create_payload(cart: dict[str, Any]) -> dict[str, Any]:
    return bolt_payloads.universal("order.create", bolt_payloads.order_create(cart))


def order_create_event(cart: dict[str, Any]) -> dict[str, Any]:
    """A signed universal order.create for Bolt's `cart` on POST /bolt/order/create."""
    return signed_event("order_create", order_create_payload(cart))


def total_of(cart: dict[str, Any]) -> int:
    return int(cart["total_amount"]["amount"])


# ---------------------------------------------------------------- concurrency under moto


@contextmanager
def serialised_moto() -> Iterator[None]:
    """One AWS request at a time through in-process moto, as devstack's embedded AWS does (devstack/aws.py).

    moto checks a DynamoDB condition and then writes without a lock: in-process, two threads can both pass
    `attribute_not_exists(pk)` or `inventory >= :q` and both write, which real DynamoDB (atomic per item,
    serialisable transactions) never allows. Serialising whole requests keeps exactly DynamoDB's guarantee for
    these tests and no more: a read-then-write implementation still races (two reads, then two writes), only
    conditional writes and transactions pass. If this ever proves flaky, run the race against the local stack's
    locked moto server instead (tests/e2e/test_checkout_flow.py does the LAST-ONE race over HTTP)."""
    lock = threading.Lock()
    original = BotocoreStubber.process_request

    def process_request(self: BotocoreStubber, request: Any) -> Any:
        with lock:
            return original(self, request)

    BotocoreStubber.process_request = process_request  # type: ignore[method-assign]
    try:
        yield
    finally:
        BotocoreStubber.process_request = original  # type: ignore[method-assign]


def run_concurrently[T](calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run every call in its own thread, all released at once; results in call order (exceptions re-raised)."""
    barrier = threading.Barrier(len(calls))

    def released(call: Callable[[], T]) -> T:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(released, call) for call in calls]
        return [future.result() for future in futures]


def wipe_orders_table(aws: AwsStack) -> None:
    """Delete every item of the orders table, and forget its stream records. For property tests running many
    examples in one moto: moto deep-copies the whole table, stream records included, for every action of every
    TransactWriteItems, so a table that keeps growing makes each example slower than the last. (No test reading
    the stream uses this: the records are moto's in-memory shard, cleared through moto's backend.)"""
    kwargs: dict[str, Any] = {"TableName": orders_table(aws), "ProjectionExpression": "pk, sk"}
    keys: list[dict[str, Any]] = []
    while True:
        page = aws.dynamodb.scan(**kwargs)
        keys += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    for start in range(0, len(keys), 25):
        batch = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
        aws.dynamodb.batch_write_item(RequestItems={orders_table(aws): batch})
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][aws.resolver.region].get_table(orders_table(aws))
    if table.stream_shard is not None:
        table.stream_shard.items.clear()
