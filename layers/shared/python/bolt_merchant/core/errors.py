"""Every failure a caller can be told about, and the one table that says how each API answers it.

Features raise what went wrong (the data is invalid, the order is not found, its state forbids the operation, a
dependency is down); none of them knows an HTTP status. `ANSWERS` maps each kind to its status, the code a
Bolt-facing API (Bolt's codes) or the back office (its own 7xxx codes) answers with when the failure brings none of
its own, the metric it counts, what the caller is told when the failure's own text is internal, and how it is
logged. core/api.py turns a failure into a response with it, for every endpoint.
"""

from dataclasses import dataclass
from enum import IntEnum
from typing import Literal


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


class AdminCode(IntEnum):
    """Error codes of our own operator APIs (back office). Their own range: the hook APIs answer with Bolt's."""

    INVALID_REQUEST = 7000
    ORDER_NOT_FOUND = 7001
    STATE_CONFLICT = 7002
    INVALID_AMOUNT = 7003
    INVALID_LINE_ITEMS = 7004
    IDEMPOTENCY_KEY_REUSED = 7005
    REQUEST_IN_PROGRESS = 7006
    BOLT_REJECTED = 7007
    BOLT_FAILED = 7008
    UNAVAILABLE = 7009
    CATALOG_ITEM_NOT_FOUND = 7010
    PRECONDITION_FAILED = 7011
    STOCK_CONFLICT = 7012


class Failure(Exception):
    """A failure the caller is told about. `message` is for people (never personal data or secrets); `code` is the
    caller-facing code when the failure has one of its own (a Bolt code for checkout, an AdminCode for operators);
    `details` is what an operator API adds to the answer (the order as it really is, say)."""

    def __init__(self, message: str, code: int | None = None, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details


class Malformed(Failure):
    """The body is not JSON we read (or not valid base64)."""


class BadEncoding(Malformed):
    """The body says it is base64 and is not."""


class Unauthorized(Failure):
    """Bolt's signature is missing or does not match the body."""


class TooLarge(Failure):
    """The body is larger than MAX_BODY_BYTES."""


class Invalid(Failure):
    """Well-formed input whose data we cannot accept: a schema error, a price that changed, an unknown code."""


class NotFound(Failure):
    """What the request names does not exist (or no longer does)."""


class Conflict(Failure):
    """The state of what the request names forbids it now (an order already created, nothing left to capture)."""


class PreconditionFailed(Failure):
    """The caller's If-Match names a version that is no longer the current one (someone changed it meanwhile)."""


class KeyReused(Failure):
    """An Idempotency-Key already used for a different request to the same order and operation."""


class InProgress(Failure):
    """The same request is still being processed (here, or by Bolt): retry shortly."""


class DependencyUnavailable(Failure):
    """A dependency (DynamoDB, Secrets Manager, Bolt, SES) failed in a way worth retrying; nothing was stored.
    The message names the dependency and the fault for the logs; callers get a generic text."""


class ConfigurationError(DependencyUnavailable):
    """The function was deployed without a setting it needs: answered 503 so Bolt retries once it is fixed."""


class OrderNotCreatedYet(DependencyUnavailable):
    """A webhook for a stored cart whose order does not exist: most likely order.create is still running, so Bolt
    is asked to retry. Counted apart, because when it lasts, Bolt holds money for a checkout we never recorded."""


class RequestRefused(Failure):
    """A dependency refused the request itself (DynamoDB's ValidationException): the same request would be refused
    again, so it is final, not retryable. Counted and alarmed: it means input we did not anticipate, or a bug."""


class UnsupportedEvent(Failure):
    """A Bolt event this endpoint does not answer."""


class BoltApiError(Failure):
    """Bolt's API answered with an error we do not retry. `status` is Bolt's HTTP status, `bolt_code` its code."""

    def __init__(self, status: int, bolt_code: int | None, message: str) -> None:
        super().__init__(self.told(status, message))
        self.status = status
        self.bolt_code = bolt_code
        self.bolt_message = message

    @staticmethod
    def told(status: int, message: str) -> str:  # noqa: ARG004 - Bolt's message is not the caller's to act on
        return f"Bolt could not process the request (HTTP {status})"


class BoltRefused(BoltApiError):
    """400/422: Bolt refused the request itself (an amount above what is left, a currency, a missing field).
    Bolt's message is passed on: the operator can act on it (e.g. an amount captured meanwhile in the dashboard)."""

    @staticmethod
    def told(status: int, message: str) -> str:  # noqa: ARG004
        return f"Bolt refused the request: {message}"


class BoltBusy(BoltApiError):
    """409: Bolt is still processing another request with the same Idempotency-Key."""


class BoltNotFound(BoltApiError):
    """404: Bolt does not know the transaction."""


class BoltAccessDenied(BoltApiError):
    """401/403: the API key is wrong or not allowed to do this (a configuration problem, not the caller's)."""


class BoltUnavailable(DependencyUnavailable):
    """Bolt kept failing (5xx, 429, timeouts) after every retry."""


class UpstreamFailed(Failure):
    """Bolt (or another system we called) failed in a way the caller cannot fix: an answer we cannot read, a
    declined refund. The message says what happened."""


@dataclass(frozen=True)
class Answer:
    """How every API answers one kind of failure."""

    status: int
    bolt_code: int | None  # None: the endpoint's own code for invalid input (order.create's 2001001, ...)
    admin_code: AdminCode
    metric: str | None = None
    public_message: str | None = None  # told instead of the failure's own (internal) text
    retry_after: str | None = None
    log: Literal["warning", "error"] | None = None


_UNAVAILABLE = "Temporarily unavailable, retry later"

ANSWERS: dict[type[Failure], Answer] = {
    Malformed: Answer(400, None, AdminCode.INVALID_REQUEST),
    BadEncoding: Answer(400, BoltCode.GENERAL_UNPROCESSABLE, AdminCode.INVALID_REQUEST),
    Unauthorized: Answer(401, BoltCode.SERVICE_ERROR, AdminCode.INVALID_REQUEST, "SignatureRejected"),
    TooLarge: Answer(413, BoltCode.GENERAL_UNPROCESSABLE, AdminCode.INVALID_REQUEST),
    Invalid: Answer(422, None, AdminCode.INVALID_REQUEST, "RequestInvalid"),
    NotFound: Answer(404, None, AdminCode.ORDER_NOT_FOUND, "RequestInvalid"),
    Conflict: Answer(409, None, AdminCode.STATE_CONFLICT, "RequestConflict"),
    PreconditionFailed: Answer(412, None, AdminCode.PRECONDITION_FAILED, "RequestConflict"),
    KeyReused: Answer(422, None, AdminCode.IDEMPOTENCY_KEY_REUSED, "IdempotencyKeyReused"),
    InProgress: Answer(409, None, AdminCode.REQUEST_IN_PROGRESS, retry_after="2"),
    UnsupportedEvent: Answer(422, BoltCode.SERVICE_ERROR, AdminCode.INVALID_REQUEST, "UnsupportedHookEvent"),
    RequestRefused: Answer(
        422, None, AdminCode.INVALID_REQUEST, "RequestRefused", "The request could not be processed", log="error"
    ),
    DependencyUnavailable: Answer(
        503, BoltCode.SERVICE_ERROR, AdminCode.UNAVAILABLE, "DependencyUnavailable", _UNAVAILABLE, "5", "warning"
    ),
    OrderNotCreatedYet: Answer(
        503, BoltCode.SERVICE_ERROR, AdminCode.UNAVAILABLE, "WebhookAwaitingOrder", _UNAVAILABLE, "5", "warning"
    ),
    BoltApiError: Answer(502, BoltCode.SERVICE_ERROR, AdminCode.BOLT_FAILED, "BoltFailed", log="warning"),
    BoltRefused: Answer(422, BoltCode.SERVICE_ERROR, AdminCode.BOLT_REJECTED, "BoltRefused", log="warning"),
    BoltBusy: Answer(
        409,
        BoltCode.SERVICE_ERROR,
        AdminCode.REQUEST_IN_PROGRESS,
        "BoltConcurrentRequest",
        "Bolt is still processing an earlier attempt of this operation; retry shortly",
        "2",
    ),
    UpstreamFailed: Answer(502, BoltCode.SERVICE_ERROR, AdminCode.BOLT_FAILED, "UpstreamFailed", log="warning"),
}


def answer_for(failure: Failure) -> Answer:
    """The row of the failure's own class, or of its nearest listed ancestor."""
    for kind in type(failure).__mro__:
        answer = ANSWERS.get(kind)
        if answer is not None:
            return answer
    raise KeyError(type(failure).__name__)  # a Failure subclass always has an ancestor in the table
