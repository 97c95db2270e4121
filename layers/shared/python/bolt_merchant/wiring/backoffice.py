"""The back office's orders (with their ledger) and its operator idempotency records."""

from bolt_merchant.adapters.aws import dynamodb
from bolt_merchant.adapters.operation_records import OperationRecords
from bolt_merchant.adapters.order_admin_store import DynamoOrderAdminStore
from bolt_merchant.adapters.settings import settings
from bolt_merchant.wiring import per_container


@per_container
def order_admin_store() -> DynamoOrderAdminStore:
    config = settings()
    return DynamoOrderAdminStore(dynamodb(), config.require("catalog_table"), config.require("orders_table"))


@per_container
def operation_records() -> OperationRecords:
    return OperationRecords(dynamodb(), settings().require("idempotency_table"))
