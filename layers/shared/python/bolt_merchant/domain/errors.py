"""Failures a caller can act on. Each carries Bolt's error code and the HTTP status we answer with."""

from enum import IntEnum


class BoltCode(IntEnum):
    """Error codes Bolt understands in hook responses (reference §3.3, §3.4, §3.6)."""

    SERVICE_ERROR = 6001  # also what bolt-magento2 answers for a bad signature
    GENERAL_UNPROCESSABLE = 6009
    ADDRESS_OR_CART_INVALID = 6103

    DISCOUNT_INSUFFICIENT_INFORMATION = 6200
    DISCOUNT_CODE_INVALID = 6201
    DISCOUNT_CODE_EXPIRED = 6202
    DISCOUNT_CODE_NOT_AVAILABLE = 6203
    DISCOUNT_LIMIT_REACHED = 6204
    DISCOUNT_MINIMUM_NOT_MET = 6205
    DISCOUNT_ITEMS_NOT_ELIGIBLE = 6207

    CART_ITEM_OUT_OF_STOCK = 6605
    CART_PRODUCT_NOT_FOUND = 6611
    CART_ITEM_REMOVE_FAILED = 6613

    ORDER_GENERAL_ERROR = 2001001
    ORDER_ALREADY_EXISTS = 2001002
    ORDER_CART_EXPIRED = 2001003
    ORDER_ITEM_PRICE_UPDATED = 2001004
    ORDER_OUT_OF_INVENTORY = 2001005
    ORDER_DISCOUNT_CANNOT_APPLY = 2001006
    ORDER_DISCOUNT_NOT_FOUND = 2001007
    ORDER_SHIPPING_PRICE_UPDATED = 2001008
    ORDER_REJECTED = 2001010
    ORDER_MINIMUM_NOT_MET = 2001011


class HookError(Exception):
    """A business failure answered in Bolt's failure shape. The message is shown to people: no personal data."""

    def __init__(self, code: BoltCode, message: str, http_status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status


class DependencyUnavailable(Exception):
    """A dependency (DynamoDB, Secrets Manager, Bolt) failed in a way worth retrying: answer 503, store nothing."""


class RequestRefused(Exception):
    """A dependency refused the request itself (DynamoDB's ValidationException): the same request would be refused
    again, so it is answered 422, not 503. Counted and alarmed: it means input we did not anticipate, or a bug."""


class ConfigurationError(DependencyUnavailable):
    """The function was deployed without a setting it needs: answered 503 so Bolt retries once it is fixed."""
