"""Carts in the orders table and discount codes in the catalog table: what the storefront, discounts.code.apply
and cart.update read and write.

Documents are stored as JSON strings next to the few attributes conditions need (status, version, counters),
so a read gives back exactly the model that was written and every change is a conditional write.
"""

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from bolt_merchant.adapters.aws import dependency, error_code
from bolt_merchant.adapters.catalog_table import discount_key, from_item
from bolt_merchant.adapters.orders_table import cart_from_item, cart_item, cart_key, read_cart
from bolt_merchant.domain.discounts import DiscountRecord
from bolt_merchant.domain.errors import DependencyUnavailable
from bolt_merchant.domain.ports import CartConflict
from bolt_merchant.models.carts import StoredCart
from bolt_merchant.models.discounts import Discount

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def discount_keys(codes: Iterable[str]) -> list[dict[str, Any]]:
    return [{"pk": {"S": discount_key(code)}} for code in sorted(set(codes))]


def discount_records(items: Iterable[Mapping[str, Any]]) -> dict[str, DiscountRecord]:
    """Code -> definition and uses, from the discount items a read found."""
    records = {}
    for item in items:
        plain = from_item(item)
        definition = Discount.model_validate_json(plain["doc"])
        records[definition.code] = DiscountRecord(definition=definition, uses=int(plain.get("uses", 0)))
    return records


class DynamoCartStore:
    def __init__(self, client: "DynamoDBClient", catalog_table: str, orders_table: str) -> None:
        self._client = client
        self._catalog = catalog_table
        self._orders = orders_table

    # ------------------------------------------------------------------ reads
    def _batch(self, orders_keys: list[dict[str, Any]], catalog_keys: list[dict[str, Any]]) -> dict[str, list[Any]]:
        request: dict[str, Any] = {}
        if orders_keys:
            request[self._orders] = {"Keys": orders_keys, "ConsistentRead": True}
        if catalog_keys:
            request[self._catalog] = {"Keys": catalog_keys, "ConsistentRead": True}
        found: dict[str, list[Any]] = {self._orders: [], self._catalog: []}
        for _ in range(5):
            if not request:
                return found
            with dependency("checkout read"):
                response = self._client.batch_get_item(RequestItems=request)
            for table, items in response.get("Responses", {}).items():
                found[table].extend(items)
            request = dict(response.get("UnprocessedKeys") or {})
        raise DependencyUnavailable("checkout read kept coming back unprocessed")

    def get_cart(self, cart_id: str) -> StoredCart | None:
        return read_cart(self._client, self._orders, cart_id)

    def discounts(self, codes: Iterable[str]) -> dict[str, DiscountRecord]:
        return self.cart_with_discounts(None, codes)[1]

    def cart_with_discounts(
        self, cart_id: str | None, codes: Iterable[str]
    ) -> tuple[StoredCart | None, dict[str, DiscountRecord]]:
        found = self._batch([cart_key(cart_id)] if cart_id is not None else [], discount_keys(codes))
        carts = found[self._orders]
        return (cart_from_item(carts[0]) if carts else None), discount_records(found[self._catalog])

    # ------------------------------------------------------------------ writes
    def _put_cart(self, cart: StoredCart, condition: str, **expression: Any) -> None:
        """A conditional put that succeeds when the item found is exactly ours: PutItem has no client token, so
        botocore resends one whose answer timed out, and the resend's condition then fails on our own first write.
        Raises CartConflict when another version is there."""
        item = cart_item(cart)
        try:
            with dependency("cart write"):
                self._client.put_item(
                    TableName=self._orders,
                    Item=item,
                    ConditionExpression=condition,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    **expression,
                )
        except DependencyUnavailable as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError) and error_code(cause) == "ConditionalCheckFailedException":
                if cause.response.get("Item") == item:
                    return
                raise CartConflict(cart.cart_id) from exc
            raise

    def create_cart(self, cart: StoredCart) -> None:
        try:
            self._put_cart(cart, "attribute_not_exists(pk)")
        except CartConflict as exc:  # another cart under a new random id: a retry draws another id
            raise DependencyUnavailable("cart id already taken") from exc

    def replace_cart(self, cart: StoredCart, expected_version: int) -> None:
        self._put_cart(
            cart,
            "#version = :expected AND #status = :open",
            ExpressionAttributeNames={"#version": "version", "#status": "status"},
            ExpressionAttributeValues={":expected": {"N": str(expected_version)}, ":open": {"S": "open"}},
        )
