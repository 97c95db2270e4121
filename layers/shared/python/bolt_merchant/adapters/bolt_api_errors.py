"""What Bolt's API answers when a call fails, by kind. Apart from the client so that handlers catch them without
importing requests, which is only loaded for a Bolt call."""

from bolt_merchant.domain.errors import DependencyUnavailable


class BoltApiError(Exception):
    """Bolt answered with an error we should not retry (4xx other than 429). No secrets or payloads inside."""

    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(f"Bolt API {status}: {message}")
        self.status = status
        self.code = code
        self.message = message


class BoltApiUnavailable(DependencyUnavailable):
    """Bolt kept failing (5xx, 429, timeouts) after every retry."""


class BoltInvalidRequest(BoltApiError):
    """400/422: Bolt refused the request itself (amount above what is left, wrong currency, missing field)."""


class BoltConcurrentRequest(BoltApiError):
    """409: another request with the same Idempotency-Key is still being processed by Bolt."""


class BoltNotFound(BoltApiError):
    """404: Bolt does not know the transaction."""


class BoltAccessDenied(BoltApiError):
    """401/403: the API key is wrong or not allowed to do this (a configuration problem, not the caller's)."""


_TYPED_ERRORS: dict[int, type[BoltApiError]] = {
    400: BoltInvalidRequest,
    422: BoltInvalidRequest,
    409: BoltConcurrentRequest,
    404: BoltNotFound,
    401: BoltAccessDenied,
    403: BoltAccessDenied,
}


def typed_error(error: BoltApiError) -> BoltApiError:
    """The most specific BoltApiError for the status Bolt answered (the same object when there is none)."""
    kind = _TYPED_ERRORS.get(error.status)
    if kind is None or isinstance(error, kind):
        return error
    return kind(error.status, error.code, error.message)
