"""What an AWS error means for the caller: refused for good (422), or worth a retry (503)."""

from typing import Any

import pytest
from bolt_merchant.core.aws import dependency, failure
from bolt_merchant.core.errors import DependencyUnavailable, RequestRefused
from botocore.exceptions import ClientError, EndpointConnectionError


def client_error(code: str, **extra: Any) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "injected"}, **extra}, "TransactWriteItems")


def cancelled(*reasons: str) -> ClientError:
    return client_error("TransactionCanceledException", CancellationReasons=[{"Code": r} for r in reasons])


@pytest.mark.parametrize(
    "error",
    [
        client_error("ValidationException"),
        client_error("ItemCollectionSizeLimitExceededException"),
        cancelled("None", "ValidationError"),
        cancelled("ItemCollectionSizeLimitExceeded"),
    ],
)
def test_the_request_itself_refused_is_final(error: ClientError) -> None:
    assert isinstance(failure("order write", error), RequestRefused)


@pytest.mark.parametrize(
    "error",
    [
        client_error("ProvisionedThroughputExceededException"),
        client_error("ThrottlingException"),
        client_error("InternalServerError"),
        client_error("ResourceNotFoundException"),  # a deployment fault: retrying after the fix works
        cancelled("None", "TransactionConflict"),
        cancelled("ConditionalCheckFailed"),
    ],
)
def test_faults_worth_a_retry_are_unavailable(error: ClientError) -> None:
    outcome = failure("order write", error)

    assert isinstance(outcome, DependencyUnavailable)
    assert str(outcome).startswith("order write failed: ")


def test_dependency_raises_what_failure_says_and_unreachable_is_retryable() -> None:
    with pytest.raises(RequestRefused, match="cart write refused: ValidationException"), dependency("cart write"):
        raise client_error("ValidationException")
    with pytest.raises(DependencyUnavailable, match="unreachable: EndpointConnectionError"), dependency("cart read"):
        raise EndpointConnectionError(endpoint_url="http://dynamodb")
