"""The local stack's fixed names and dev-only defaults, importable by tests and docs."""

import os

HOST = "127.0.0.1"
DEFAULT_PORT = 3000
DEFAULT_CONTAINERS = 4
STACK_NAME = "bolt-merchant-local"
STAGE = "local"
REGION = "us-east-1"

# Dev-only secrets: the local stack stores these in its embedded Secrets Manager unless overridden by env.
DEFAULT_SIGNING_SECRET = "local-dev-signing-secret"  # noqa: S105
DEFAULT_PENDING_SECRET = "local-dev-pending-secret"  # noqa: S105
DEFAULT_API_KEY = "local-dev-api-key"
DEFAULT_OMS_SIGNING_SECRET = "local-dev-oms-signing-secret"  # noqa: S105

# Identity put on AWS_IAM routes' events: the local stack does not verify SigV4 (see gateway.py).
LOCAL_OPERATOR_ARN = "arn:aws:iam::123456789012:user/local-operator"


def port() -> int:
    return int(os.environ.get("PORT", DEFAULT_PORT))


def containers_per_function() -> int:
    return max(1, int(os.environ.get("LOCAL_CONTAINERS", DEFAULT_CONTAINERS)))


def injected_contention() -> tuple[float, float | None] | None:
    """DynamoDB's per-item contention played by the embedded AWS (devstack/moto_dynamodb.py, Contention): how long
    a committed transaction's items still conflict (LOCAL_TRANSACTION_CONFLICT_MS) and each item's write capacity
    (LOCAL_ITEM_WCU_PER_SECOND). None when neither is set: moto's own behaviour, no injected faults."""
    hold_ms = os.environ.get("LOCAL_TRANSACTION_CONFLICT_MS")
    wcu = os.environ.get("LOCAL_ITEM_WCU_PER_SECOND")
    if not hold_ms and not wcu:
        return None
    return float(hold_ms or 0) / 1000, float(wcu) if wcu else None


def bolt_secret_document() -> dict[str, str]:
    return {
        "signing_secret": os.environ.get("BOLT_SIGNING_SECRET") or DEFAULT_SIGNING_SECRET,
        "signing_secret_pending": os.environ.get("BOLT_SIGNING_SECRET_PENDING") or DEFAULT_PENDING_SECRET,
        "api_key": os.environ.get("BOLT_API_KEY") or DEFAULT_API_KEY,
    }


def oms_signing_secret() -> str:
    """What fulfilment signs OMS hand-offs with locally, and what the local OMS sink verifies them with."""
    return os.environ.get("OMS_SIGNING_SECRET") or DEFAULT_OMS_SIGNING_SECRET
