"""A refused signature's log line says why (header missing, malformed, or matching no secret), and never carries a
signature, the secret or what was expected; the answer is the same 401 whatever the reason."""

import json
import logging
from collections.abc import Callable, Iterator

import pytest
from bolt_merchant.bolt.signed import PENDING_SIGNATURE_HEADER, SIGNATURE_HEADER
from bolt_merchant.core.observability import logger as powertools_logger

from devstack import bolt_payloads
from devstack.bolt_payloads import sign
from tests.support import DEV_PENDING_SECRET, DEV_SECRET, HookFunction, response_body, signed_event

BODY = bolt_payloads.php_style_json(bolt_payloads.shipping_request())


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every line the functions' logger writes while the test runs, formatted as in CloudWatch."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    keep = Keep()
    keep.setFormatter(powertools_logger.registered_handler.formatter)
    powertools_logger.addHandler(keep)
    try:
        yield lines
    finally:
        powertools_logger.removeHandler(keep)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "header missing"),
        ({SIGNATURE_HEADER: ""}, "header missing"),
        ({SIGNATURE_HEADER: "%%%not-base64%%%"}, "header malformed"),
        ({SIGNATURE_HEADER: "c2hvcnQ="}, "header malformed"),  # base64, but not a SHA-256 digest
        ({SIGNATURE_HEADER: "junk", PENDING_SIGNATURE_HEADER: "junk"}, "header malformed"),
        ({SIGNATURE_HEADER: sign(BODY, "another-merchants-secret")}, "no match"),
        ({SIGNATURE_HEADER: "junk", PENDING_SIGNATURE_HEADER: sign(BODY, "not-ours")}, "no match"),
    ],
    ids=["no header", "empty", "not base64", "not a digest", "both junk", "other secret", "pending other secret"],
)
def test_the_401_log_line_says_why_the_signature_was_refused(
    hook_function: Callable[[str], HookFunction], log_lines: list[str], headers: dict[str, str], reason: str
) -> None:
    shipping = hook_function("shipping")

    response = shipping(signed_event("shipping", BODY, secret=None, extra_headers=headers))

    assert response["statusCode"] == 401
    assert response_body(response)["error"]["message"] == "Invalid or missing request signature"
    [answered] = [json.loads(line) for line in log_lines if '"bolt request answered"' in line]
    assert (answered["status_code"], answered["signature"]) == (401, reason)
    logged = "\n".join(log_lines)
    for value in (DEV_SECRET, DEV_PENDING_SECRET, sign(BODY, DEV_SECRET), *headers.values()):
        assert not value or value not in logged


def test_a_verified_request_logs_no_signature_reason(
    hook_function: Callable[[str], HookFunction], log_lines: list[str]
) -> None:
    shipping = hook_function("shipping")
    shipping(signed_event("shipping", BODY, secret=None, extra_headers={SIGNATURE_HEADER: "junk"}))

    response = shipping(signed_event("shipping", BODY))

    assert response["statusCode"] == 200
    answered = [json.loads(line) for line in log_lines if '"bolt request answered"' in line]
    assert [line.get("signature") for line in answered] == ["header malformed", None]
