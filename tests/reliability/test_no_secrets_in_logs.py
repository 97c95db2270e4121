"""No secrets or personal data in logs or error bodies (reliability plan T49, §4 PII and PCI).

A representative slice of the suite runs with canary values where Bolt puts personal data (email, phone, street
address, names), a test card number in card-ish fields, and the signing secret and API key in play: every hook,
both webhooks, the outbox publisher and both consumers, on success and on the error paths (bad signature, malformed
and invalid bodies, oversize, dependency failures, a failing SES). Every captured log line (Powertools' JSON logger
on stdout, anything on stderr, every log record with its extra fields) and every error body is searched for each
canary; the count goes into the figures as canary hits.
"""

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from bolt_merchant.core.observability import logger as powertools_logger

from devstack import bolt_payloads
from tests import seed
from tests.reliability.conftest import SIGNED, Answer, Functions, prepare_signed_state
from tests.reliability.harness import ORDERED_CART, AwsCalls, Fault, area, base_payload
from tests.reliability.pipeline import build_pipeline
from tests.support import DEV_API_KEY, DEV_PENDING_SECRET, DEV_SECRET, AwsStack, FakeLambdaContext, signed_event

CANARIES = {
    "email": "canary.shopper.7f3a9c@example.com",
    "phone": "+1 415 555 7319",
    "street": "742 Canary Evergreen Terrace",
    "first name": "Kanarienvogel",
    "last name": "Pajarito-Canario",
    "card number": "4111111111111111",
    "cvv": "737",
    "signing secret": DEV_SECRET,
    "pending secret": DEV_PENDING_SECRET,
    "api key": DEV_API_KEY,
}
# A 3-digit CVV would match timestamps and amounts: it is only searched for inside its own JSON field.
SEARCHED = {name: value for name, value in CANARIES.items() if name != "cvv"}
LOGS = area("log canaries")


def canary_address() -> dict[str, Any]:
    return {
        **bolt_payloads.SF_ADDRESS,
        "street_address1": CANARIES["street"],
        "first_name": CANARIES["first name"],
        "last_name": CANARIES["last name"],
        "email": CANARIES["email"],
        "phone": CANARIES["phone"],
    }


def with_canaries(document: Any) -> Any:
    """Every address in the document carries the canaries, and every object a card-ish field."""
    if isinstance(document, dict):
        result = {key: with_canaries(value) for key, value in document.items()}
        if "country_code" in result:
            result.update(canary_address())
            result["email_address"] = CANARIES["email"]
            result["phone_number"] = CANARIES["phone"]
        if "cart" in result or "order_reference" in result:
            result["payment_method"] = {"card_number": CANARIES["card number"], "cvv": CANARIES["cvv"]}
        return result
    if isinstance(document, list):
        return [with_canaries(value) for value in document]
    return document


@pytest.fixture
def log_capture() -> Iterator[list[logging.LogRecord]]:
    """Every log record any logger emits while the test runs (extra fields included), Powertools' at DEBUG."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    root = logging.getLogger()
    level = powertools_logger.log_level
    root.addHandler(handler)
    powertools_logger.addHandler(handler)
    powertools_logger.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        powertools_logger.setLevel(level)
        powertools_logger.removeHandler(handler)
        root.removeHandler(handler)


def record_text(record: logging.LogRecord) -> str:
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        message = str(record.msg)
    return message + " " + json.dumps({k: str(v) for k, v in vars(record).items()}, sort_keys=True)


def hits(text: str) -> list[str]:
    found = [name for name, value in SEARCHED.items() if value in text]
    if f'"cvv": "{CANARIES["cvv"]}"' in text or f'"cvv":"{CANARIES["cvv"]}"' in text:
        found.append("cvv")
    return found


def check(
    answers: list[tuple[str, Answer]], capsys: pytest.CaptureFixture[str], records: list[logging.LogRecord]
) -> None:
    output = capsys.readouterr()
    logged = output.out + "\n" + output.err + "\n" + "\n".join(record_text(record) for record in records)
    problems = [f"log: {name}" for name in hits(logged)]
    for label, answer in answers:
        LOGS.case(answer.status, rejected=answer.status >= 400, fault=True)
        body = json.dumps(answer.body)
        secret_only = answer.status < 400  # a success may echo the shopper's own data back to Bolt, never secrets
        found = [
            name
            for name in hits(body)
            if not secret_only or name in ("signing secret", "pending secret", "api key", "card number", "cvv")
        ]
        problems += [f"{label} body: {name}" for name in found]
    LOGS.count(canary_hits=len(problems))
    assert logged.strip(), "nothing was logged: the capture is not working"
    assert problems == []


@pytest.mark.parametrize("function_dir", SIGNED)
def test_hooks_and_webhooks_log_no_canary_on_any_path(
    functions: Functions,
    aws: AwsStack,
    aws_calls: AwsCalls,
    capsys: pytest.CaptureFixture[str],
    log_capture: list[logging.LogRecord],
    function_dir: str,
) -> None:
    prepare_signed_state(functions, aws)
    payload = with_canaries(base_payload(function_dir))
    if function_dir == "credit_card_webhook":
        payload["data"]["card"] = {
            "number": CANARIES["card number"],
            "cvv": CANARIES["cvv"],
            "billing_address": canary_address(),
        }
    body = bolt_payloads.php_style_json(payload)
    if "email" not in hits(json.dumps(payload)):  # cart.update carries no address: give its cart one
        data = payload.get("data", payload)
        data["cart"]["billing_address"] = canary_address()
    assert {"email", "card number"} <= set(hits(json.dumps(payload)))
    answers: list[tuple[str, Answer]] = []

    def deliver(label: str, event: dict[str, Any]) -> None:
        answers.append((label, functions.invoke(function_dir, event)))

    deliver("success", signed_event(function_dir, payload))
    deliver("replay", signed_event(function_dir, payload))
    deliver("unsigned", signed_event(function_dir, payload, secret=None))
    deliver("wrong secret", signed_event(function_dir, payload, secret="not-the-secret"))
    deliver(
        "secret as the signature",
        signed_event(function_dir, body, secret=None, extra_headers={"X-Bolt-Hmac-Sha256": DEV_SECRET}),
    )
    deliver("malformed", signed_event(function_dir, body[:-20] + b', "email": "' + CANARIES["email"].encode() + b'"'))
    deliver(
        "duplicate key",
        signed_event(function_dir, b'{"email":"' + CANARIES["email"].encode() + b'",' + body[1:-1] + b',"email":"x"}'),
    )
    deliver(
        "oversize",
        signed_event(function_dir, b'{"email":"' + CANARIES["email"].encode() + b'","pad":"' + b"x" * 270_000 + b'"}'),
    )
    invalid = json.loads(json.dumps(payload).replace('"US"', json.dumps(CANARIES["email"])))  # country codes
    invalid = json.loads(json.dumps(invalid).replace('"USD"', json.dumps(CANARIES["street"])))  # currencies
    if isinstance(invalid, dict):
        invalid["metadata"] = {CANARIES["email"]: CANARIES["card number"] * 40}
    deliver("invalid fields", signed_event(function_dir, invalid))
    aws_calls.inject(Fault("dynamodb", "TransactWriteItems", "ProvisionedThroughputExceededException", times=10))
    aws_calls.inject(Fault("dynamodb", "BatchGetItem", "ProvisionedThroughputExceededException", times=10))
    aws_calls.inject(Fault("dynamodb", "GetItem", "ProvisionedThroughputExceededException", times=10))
    aws_calls.inject(Fault("dynamodb", "PutItem", "ProvisionedThroughputExceededException", times=10))
    from bolt_merchant.core import settings as wiring

    wiring.reset()  # the catalog cache too: the hooks must read, and fail
    functions.handlers.clear()
    deliver("dependency failure", signed_event(function_dir, with_canaries(base_payload(function_dir))))

    check(answers, capsys, log_capture)


def test_the_fan_out_logs_no_canary(
    functions: Functions,
    aws: AwsStack,
    aws_calls: AwsCalls,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    log_capture: list[logging.LogRecord],
) -> None:
    """Order with the canary email and address through authorisation, the publisher and both consumers, with SES
    and SQS failing once on the way (their failures are logged with tracebacks)."""
    pipeline = build_pipeline(aws, lambda_context, monkeypatch)
    prepare_signed_state(functions, aws)
    cart = with_canaries(bolt_payloads.order_cart(ORDERED_CART))
    answers: list[tuple[str, Answer]] = []
    for kind in ("pending", "auth", "capture", "credit", "void"):
        payload = bolt_payloads.transaction_webhook(
            kind,
            cart_id=ORDERED_CART,
            cart=cart,
            amount=500 if kind == "credit" else bolt_payloads.DEMO_TOTAL,
            captures=((bolt_payloads.capture_id(1, ORDERED_CART), 1000),) if kind == "capture" else (),
        )
        answers.append(
            (kind, functions.invoke("transaction_webhook", signed_event("transaction_webhook", with_canaries(payload))))
        )
    aws_calls.inject(Fault("ses", "SendEmail", "MessageRejected"))
    aws_calls.inject(Fault("sqs", "SendMessageBatch", "ServiceUnavailable", status=503))
    seed.seed_cart(aws, "c_canary_email")
    created = with_canaries(bolt_payloads.order_cart("c_canary_email"))
    answers.append(
        (
            "order.create",
            functions.invoke(
                "order_create",
                signed_event(
                    "order_create", bolt_payloads.universal("order.create", bolt_payloads.order_create(created))
                ),
            ),
        )
    )
    auth = bolt_payloads.transaction_webhook("auth", cart_id="c_canary_email", cart=created)
    answers.append(("auth", functions.invoke("transaction_webhook", signed_event("transaction_webhook", auth))))
    assert pipeline.drain() == 0
    pipeline.consume()

    assert pipeline.emails()  # the confirmation went out (to the canary address: that is its job)
    check(answers, capsys, log_capture)


def test_the_capture_would_see_a_canary(
    capsys: pytest.CaptureFixture[str], log_capture: list[logging.LogRecord]
) -> None:
    """Control: a canary logged as an extra field, or printed, is found (the search above is not blind)."""
    powertools_logger.info("control", extra={"shopper": CANARIES["email"]})
    print(CANARIES["card number"])
    output = capsys.readouterr()
    logged = output.out + output.err + "\n".join(record_text(record) for record in log_capture)
    assert set(hits(logged)) == {"email", "card number"}
