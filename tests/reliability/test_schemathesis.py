"""schemathesis against the local stack (reliability plan T51): `python -m devstack` in a subprocess on free ports,
fuzzed from openapi.yaml.

Signed cases: a schemathesis `before_call` hook serialises each generated body itself, sends exactly those bytes
(the transport's own serialiser is bypassed) and signs them with the dev signing secret, so the stack verifies the
signature over the bytes it receives and the fuzzing reaches the parsers and the domain. Unsigned cases: whatever
header schemathesis generates for the security scheme (or none) must be a 401. Positive and negative generation,
every Bolt hook, both webhooks and the storefront; the back-office routes are AWS_IAM in a deployed stage (the local
stack bypasses SigV4) and are not fuzzed. Checks: no server error, documented status code and content type,
response schema conformance. Then a happy path (storefront cart, order token from the fake Bolt, order.create,
webhooks) is validated against the same document, and the stack's whole log is searched for tracebacks and
canaries.
"""

import contextlib
import json
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from bolt_merchant.bolt.signed import PENDING_SIGNATURE_HEADER, SIGNATURE_HEADER
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devstack import bolt_payloads
from devstack.bolt_payloads import sign
from devstack.process import stack_process
from devstack.settings import DEFAULT_API_KEY, DEFAULT_PENDING_SECRET, DEFAULT_SIGNING_SECRET
from tests.local_stack import FAKE_BOLT_URL, stack_environment
from tests.reliability.conftest import examples
from tests.reliability.harness import area

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.enable_socket]

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "openapi.yaml"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = area("schemathesis")
CANARY_EMAIL = "canary.fuzz.7f3a9c@example.com"
CANARY_CARD = "4111111111111111"

# "signed": sign the exact bytes sent with the dev secret; None: send what schemathesis generated, unsigned.
SIGNING: ContextVar[str | None] = ContextVar("signing", default=None)


def exact_bytes(case: schemathesis.Case) -> bytes:
    """The body as this hook sends it (never re-serialised afterwards)."""
    body = case.body
    if isinstance(body, bytes):
        return body
    if body is None or type(body).__name__ == "NotSet":
        return b"" if type(body).__name__ == "NotSet" else b"null"
    return json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: schemathesis.Case, kwargs: dict[str, Any]) -> None:
    """Bolt's signature over the exact bytes sent, for the /bolt/ routes while SIGNING is "signed"."""
    if SIGNING.get() != "signed" or not case.path.startswith("/bolt/"):
        return
    raw = exact_bytes(case)
    kwargs["data"] = raw  # a body passed by the caller replaces the generated one: the transport sends these bytes
    headers = {
        k: v
        for k, v in (case.headers or {}).items()
        if k.lower() not in (SIGNATURE_HEADER.lower(), PENDING_SIGNATURE_HEADER.lower())
    }
    headers[SIGNATURE_HEADER] = sign(raw, DEFAULT_SIGNING_SECRET)
    headers["Content-Type"] = "application/json"
    case.headers = headers


# ---------------------------------------------------------------- the local stack


@dataclass
class Stack:
    url: str
    fake_bolt: str
    log: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log = tmp_path_factory.mktemp("reliability-stack") / "stack.log"
    # LOG_FORMAT=json: the log canaries are searched for in the functions' own log lines as well as the console's.
    environment = stack_environment(LOCAL_POLLERS="0", LOCAL_CONTAINERS="2", LOG_FORMAT="json")
    with stack_process(environment, log_path=log) as process:
        yield Stack(url=process.url, fake_bolt=process.announced(FAKE_BOLT_URL), log=log)


@pytest.fixture(scope="module")
def schema(stack: Stack) -> Any:
    loaded = schemathesis.openapi.from_path(str(SPEC))
    loaded.config.update(base_url=stack.url)
    return loaded


class FreshConnections(requests.Session):
    """One connection per request. On a kept-alive connection every answer of the local gateway waits ~40 ms (it
    writes headers and body separately: Nagle's algorithm meets the client's delayed ACK), and asking it to close
    the connection instead is racy (it does not answer `Connection: close`, so a pooled connection gets reused)."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        try:
            return super().send(request, **kwargs)
        finally:
            for adapter in self.adapters.values():
                adapter.close()


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with FreshConnections() as http:
        http.trust_env = False  # loopback only, whatever proxy the shell has
        yield http


def fuzzed_operations(schema: Any) -> list[Any]:
    operations = [result.ok() for result in schema.get_all_operations()]
    return [op for op in operations if "back-office" not in (op.definition.raw.get("tags") or [])]


FUZZ_SETTINGS: dict[str, Any] = {
    "deadline": None,
    "phases": [Phase.explicit, Phase.generate],
    "suppress_health_check": list(HealthCheck),
    "database": None,
}


def run_operation(
    operation: Any, stack: Stack, session: requests.Session, mode: GenerationMode, signing: str | None, count: int
) -> list[str]:
    """`count` generated cases against the stack; returns the failures (as text)."""
    failures: list[str] = []
    unsigned_bolt = signing is None and operation.path.startswith("/bolt/")
    label = f"{operation.method.upper()} {operation.path} [{mode.value}, {signing or 'unsigned'}]"

    @settings(max_examples=examples(count), **FUZZ_SETTINGS)
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case: schemathesis.Case) -> None:
        token = SIGNING.set(signing)
        try:
            response = case.call(session=session, timeout=10)
        except requests.ConnectionError as error:  # the stack dropped the connection: as bad as a 5xx
            FUZZ.case(599)
            headers = {k: str(v)[:60] for k, v in (case.headers or {}).items()}
            failures.append(f"{label} {error}: headers={headers} body={str(case.body)[:200]}")
            return
        finally:
            SIGNING.reset(token)
        status = response.status_code
        expected_rejection = unsigned_bolt or 400 <= status < 500
        FUZZ.case(status, rejected=expected_rejection and 400 <= status < 500)
        problems = []
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            problems += [f"{type(failure).__name__}: {failure.title}" for failure in group.exceptions]
        except AssertionError as error:  # older failure type
            problems.append(str(error)[:300])
        if unsigned_bolt and status != 401:
            problems.append(f"unsigned answered {status}")
        if problems:
            failures.append(f"{label} {status}: {problems} body={str(case.body)[:200]}")

    with contextlib.suppress(Unsatisfiable):  # nothing of this mode can be generated (no negative free string)
        fuzz()
    return failures


def test_fuzzed_requests_never_get_a_server_error_and_match_the_document(
    schema: Any, stack: Stack, session: requests.Session
) -> None:
    failures: list[str] = []
    for operation in fuzzed_operations(schema):
        signed = operation.path.startswith("/bolt/")
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            count = 40 if mode is GenerationMode.POSITIVE else 25
            failures += run_operation(operation, stack, session, mode, "signed" if signed else None, count)
        if signed:
            failures += run_operation(operation, stack, session, GenerationMode.POSITIVE, None, 10)
    assert not failures, "\n".join(failures[:30])


# ---------------------------------------------------------------- the documented happy path


def validated(
    schema: Any,
    session: requests.Session,
    method: str,
    path: str,
    body: Any,
    signed: bool,
    *,
    fault: bool = False,
    **path_parameters: str,
) -> Any:
    """One request built as a schemathesis case of the documented operation, its answer validated (with an injected
    fault, a documented 503 is the expected answer rather than a server error)."""
    operation = schema[path][method]
    raw = bolt_payloads.php_style_json(body) if body is not None else b""
    headers = {"Content-Type": "application/json"}
    if signed:
        headers[SIGNATURE_HEADER] = sign(raw, DEFAULT_SIGNING_SECRET)
    case = operation.Case(
        body=body, headers=headers, path_parameters=path_parameters or None, media_type="application/json"
    )
    response = case.call(session=session, data=raw, timeout=10)
    FUZZ.case(response.status_code, rejected=fault and response.status_code == 503, fault=fault)
    checks = [check for check in CHECKS if not (fault and check is not_a_server_error)]
    case.validate_response(response, checks=checks, excluded_checks=[not_a_server_error] if fault else None)
    return response


def test_the_happy_path_conforms_to_the_document(schema: Any, stack: Stack, session: requests.Session) -> None:
    created = validated(
        schema,
        session,
        "POST",
        "/storefront/carts",
        {"currency": "USD", "items": [{"sku": "TOTE-BLUE", "quantity": 2}, {"sku": "MUG-12OZ", "quantity": 1}]},
        False,
    )
    assert created.status_code == 201, created.text
    cart_id = created.json()["cart_id"]
    token = validated(
        schema, session, "POST", "/storefront/carts/{cart_id}/bolt-order-token", None, False, cart_id=cart_id
    )
    assert token.status_code == 200, token.text
    shipping = bolt_payloads.universal(
        "order.shipping", {"cart": bolt_payloads.hook_cart(), "shipping_address": bolt_payloads.SF_ADDRESS}
    )
    for path, body in (
        ("/bolt/universal", shipping),
        ("/bolt/shipping", shipping["data"]),
        ("/bolt/shipping-and-tax", shipping["data"]),
        ("/bolt/tax", {**shipping["data"], "shipping_option": {"reference": "standard"}}),
        (
            "/bolt/discounts/apply",
            bolt_payloads.universal(
                "discounts.code.apply", bolt_payloads.discount_apply("WELCOME10", bolt_payloads.order_cart(cart_id))
            ),
        ),
    ):
        answer = validated(schema, session, "POST", path, body, True)
        assert answer.status_code == 200, (path, answer.text)
    order = bolt_payloads.universal("order.create", bolt_payloads.order_create(bolt_payloads.order_cart(cart_id)))
    for _ in range(2):  # the repeat is answered the same
        answer = validated(schema, session, "POST", "/bolt/order/create", order, True)
        assert answer.status_code == 200, answer.text
    for kind in ("pending", "auth", "newsletter_subscription"):
        webhook = bolt_payloads.transaction_webhook(kind, cart_id=cart_id)
        answer = validated(schema, session, "POST", "/bolt/webhooks/transaction", webhook, True)
        assert answer.status_code == 200, answer.text
    card = {"type": "credit_card_deleted", "object": "credit_card", "data": {"id": f"CC{cart_id}"}}
    assert validated(schema, session, "POST", "/bolt/webhooks/credit-card", card, True).status_code == 200


def test_bolt_failing_behind_the_stack_is_the_documented_503(
    schema: Any, stack: Stack, session: requests.Session
) -> None:
    """The fake Bolt API's /_fake/faults: Bolt answers 503 to every attempt of the order-token call, then recovers."""
    created = session.post(
        stack.url + "/storefront/carts", json={"currency": "USD", "items": [{"sku": "MUG-12OZ", "quantity": 1}]}
    )
    cart_id = created.json()["cart_id"]
    injected = session.post(
        stack.fake_bolt + "/_fake/faults", json={"status": 503, "count": 4, "path": "/v1/merchant/orders"}
    )
    assert injected.status_code < 300, injected.text
    path = "/storefront/carts/{cart_id}/bolt-order-token"
    try:
        failed = validated(schema, session, "POST", path, None, False, fault=True, cart_id=cart_id)
    finally:
        session.delete(stack.fake_bolt + "/_fake/faults")
    assert failed.status_code == 503, failed.text
    assert failed.headers.get("retry-after") == ["5"]
    recovered = validated(schema, session, "POST", path, None, False, cart_id=cart_id)
    assert recovered.status_code == 200, recovered.text


def test_the_stack_logged_no_traceback_and_no_canary(schema: Any, stack: Stack, session: requests.Session) -> None:
    """Canary personal data and secrets sent to every signed route (valid and invalid): none reaches the stack's log
    (every function's Powertools JSON lines, the gateway's, the fake Bolt's), and nothing there is a traceback."""
    address = {**bolt_payloads.SF_ADDRESS, "email": CANARY_EMAIL, "street_address1": "742 Canary Evergreen Terrace"}
    payload = {
        "cart": {**bolt_payloads.hook_cart(), "billing_address": address, "card_number": CANARY_CARD},
        "shipping_address": address,
    }
    for operation in fuzzed_operations(schema):
        if not operation.path.startswith("/bolt/"):
            continue
        for body, secret in (
            (payload, DEFAULT_SIGNING_SECRET),
            (payload, "forged"),
            ({"cart": {"billing_address": {"country_code": CANARY_EMAIL}}}, DEFAULT_SIGNING_SECRET),
        ):
            raw = json.dumps(body).encode()
            response = session.post(
                stack.url + operation.path,
                data=raw,
                headers={SIGNATURE_HEADER: sign(raw, secret), "Content-Type": "application/json"},
                timeout=10,
            )
            FUZZ.case(response.status_code)
            assert CANARY_EMAIL not in response.text
            assert CANARY_CARD not in response.text
    log = stack.log.read_text(errors="replace")
    found = [
        value
        for value in (
            CANARY_EMAIL,
            CANARY_CARD,
            "Canary Evergreen",
            DEFAULT_SIGNING_SECRET,
            DEFAULT_PENDING_SECRET,
            DEFAULT_API_KEY,
        )
        if value in log
    ]
    FUZZ.count(canary_hits=len(found))
    assert found == []
    assert "Traceback" not in log, log[log.index("Traceback") - 200 :][:3000] if "Traceback" in log else ""
