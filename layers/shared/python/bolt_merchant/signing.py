"""Bolt request signatures: base64(HMAC-SHA256(signing secret, exact raw body)).

Verification is total: whatever arrives in the headers, the answer is True or False, never an exception.
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable

SIGNATURE_HEADER = "X-Bolt-Hmac-Sha256"
PENDING_SIGNATURE_HEADER = "X-Bolt-Hmac-Sha256-Pending"
_MAX_SIGNATURE_CHARS = 128  # a SHA-256 digest is 44 base64 characters; anything much longer is junk


def sign(raw_body: bytes, secret: str) -> str:
    """The header value Bolt would send for raw_body."""
    digest = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _decode_signature(header_value: str | None) -> bytes | None:
    if not header_value or len(header_value) > _MAX_SIGNATURE_CHARS:
        return None
    try:
        decoded = base64.b64decode(header_value.strip().encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return None
    return decoded if len(decoded) == hashlib.sha256().digest_size else None


def is_signed_by(raw_body: bytes, header_values: Iterable[str | None], secrets: Iterable[str]) -> bool:
    """True when any provided signature matches the body under any configured secret.

    Bolt sends the active-secret signature in X-Bolt-Hmac-Sha256 and, during rotation, the pending-secret one in
    X-Bolt-Hmac-Sha256-Pending. Every pair is compared (bytes, constant time) so the result does not depend on
    which header matched.
    """
    signatures = [s for s in (_decode_signature(v) for v in header_values) if s is not None]
    expected = [hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest() for secret in secrets if secret]
    matched = False
    for signature in signatures:
        for digest in expected:
            matched |= hmac.compare_digest(signature, digest)
    return matched
