"""How each fulfilment hand-off is signed, so the OMS can tell it came from this stage and was not altered.

    X-Merchant-Timestamp: <unix seconds when it was sent>
    X-Merchant-Signature: base64(HMAC-SHA256(secret, <timestamp> + "." + <the exact body bytes>))

The timestamp is inside the signed bytes, so a captured request cannot be replayed later with a new one: the OMS
accepts a signature only within TOLERANCE_SECONDS of its clock (and drops repeats by Idempotency-Key). Standard
library only: the OMS side, the local sink (devstack/oms_sink.py) and the tests use verify() as it is.
"""

import base64
import hashlib
import hmac

SIGNATURE_HEADER = "X-Merchant-Signature"
TIMESTAMP_HEADER = "X-Merchant-Timestamp"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_headers(secret: str, body: bytes, now: float) -> dict[str, str]:
    timestamp = str(int(now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signed: str | None,
    *,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """True when `signed` is the signature of these exact bytes at `timestamp`, and that is within tolerance."""
    if not timestamp or not signed or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), signed)
