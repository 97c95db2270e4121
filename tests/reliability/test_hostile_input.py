"""Hostile input against every Bolt-signed function (reliability plan §7 A and D: T01-T05, T08, T11, T28-T35).

Signatures: whatever is wrong with X-Bolt-Hmac-Sha256 (missing, empty, another secret, truncated, non-ASCII, huge,
base64 junk, a body changed by one byte, re-serialised JSON), the answer is 401 with Bolt's failure shape and not a
single AWS call: no DynamoDB read or write, and Secrets Manager at most once (the rate-limited forced refresh that
picks up a rotated secret, one per container per minute) after the secret cache is warm.

Bodies (correctly signed): not JSON, wrong types, NaN/Infinity, duplicate keys, negative or absurd amounts and
quantities, a foreign currency, oversize (413 before the signature and before parsing), deep nesting, key-injection
strings in references: a 4xx in Bolt's failure shape, no DynamoDB write, never a 5xx.
"""

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters
from bolt_merchant.bolt.signed import PENDING_SIGNATURE_HEADER, SIGNATURE_HEADER
from bolt_merchant.core import aws as adapters_aws
from bolt_merchant.orders.models import order_id_for
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from devstack import bolt_payloads, make_events
from devstack.bolt_payloads import sign
from tests import seed
from tests.reliability.conftest import SIGNED, Functions, examples, prepare_signed_state
from tests.reliability.harness import (
    ORDERED_CART,
    WEBHOOKS,
    AwsCalls,
    Call,
    Fault,
    area,
    base_payload,
    data_of,
    is_bolt_failure,
    writes,
)
from tests.support import DEV_PENDING_SECRET, DEV_SECRET, AwsStack, CallCounter, signed_event

SIGNATURES = area("signatures")
HOSTILE = area("hostile input")
SIGNATURE_REJECTED = {"status": "failure", "error": {"code": 6001, "message": "Invalid or missing request signature"}}
MAX_BODY_BYTES = 256 * 1024
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)


def budget(count: int) -> settings:
    """`count` examples (times RELIABILITY_SCALE), no shrinking (a failure is reported as generated), no database."""
    return settings(
        max_examples=examples(count),
        deadline=None,
        phases=NO_SHRINK,
        suppress_health_check=list(HealthCheck),
        database=None,
    )


prepare = prepare_signed_state


def event_for(function_dir: str, body: bytes, headers: dict[str, str], *, binary: bool = False) -> dict[str, Any]:
    return signed_event(function_dir, body, secret=None, extra_headers=headers, binary=binary)


def aws_calls_beyond_the_secret(calls: list[Call]) -> list[Call]:
    return [call for call in calls if (call.service, call.operation) != ("secretsmanager", "GetSecretValue")]


# ---------------------------------------------------------------- signatures


def genuine(value: str, body: bytes) -> bool:
    """An independent reference verifier: strict base64 of HMAC-SHA256 under either dev secret."""
    try:
        decoded = base64.b64decode(value.strip().encode("ascii"), validate=True)
    except (UnicodeEncodeError, ValueError):
        return False
    return len(value) <= 128 and any(
        hmac.compare_digest(decoded, hmac.new(secret.encode(), body, hashlib.sha256).digest())
        for secret in (DEV_SECRET, DEV_PENDING_SECRET)
    )


JUNK_SUFFIXES = ("!!", "==", "=", "A", "%", "\x00", "..", "#", "\u00e9")


@st.composite
def forged_request(draw: st.DrawFn, body: bytes) -> tuple[str, dict[str, str], bytes]:
    """(what is wrong, headers, body sent): a request whose signature does not match the bytes sent."""
    valid = sign(body, DEV_SECRET)
    header = draw(st.sampled_from([SIGNATURE_HEADER, PENDING_SIGNATURE_HEADER, SIGNATURE_HEADER.lower()]))
    kind = draw(
        st.sampled_from(
            [
                "missing",
                "empty",
                "wrong secret",
                "truncated",
                "non-ascii",
                "huge",
                "base64 junk",
                "random digest",
                "hex digest",
                "prefixed",
                "unpadded",
                "one char changed",
                "body byte changed",
                "body byte added",
                "re-serialised json",
                "signed re-serialised",
            ]
        )
    )
    sent = body
    value: str | None
    if kind == "missing":
        value = None
    elif kind == "empty":
        value = draw(st.sampled_from(["", " "]))
    elif kind == "wrong secret":
        secret = draw(st.text(min_size=1, max_size=64).filter(lambda s: s not in (DEV_SECRET, DEV_PENDING_SECRET)))
        value = sign(body, secret)
    elif kind == "truncated":
        value = valid[: draw(st.integers(0, len(valid) - 1))]
    elif kind == "non-ascii":
        junk = draw(st.text(min_size=1, max_size=40).filter(lambda s: not s.isascii()))
        value = draw(st.sampled_from([junk, valid[:20] + junk, valid + junk]))
    elif kind == "huge":
        value = draw(st.sampled_from([valid * 200, "A" * 8192, valid + " " * 10_000 + "x", "=" * 65_536]))
    elif kind == "base64 junk":
        value = valid + draw(st.sampled_from(JUNK_SUFFIXES))
    elif kind == "random digest":
        value = base64.b64encode(draw(st.binary(min_size=32, max_size=32))).decode()
    elif kind == "hex digest":
        value = hmac.new(DEV_SECRET.encode(), body, hashlib.sha256).hexdigest()
    elif kind == "prefixed":
        value = draw(st.sampled_from(["sha256=", "v1=", "Bearer ", "sha256 "])) + valid
    elif kind == "unpadded":
        value = valid.rstrip("=")
    elif kind == "one char changed":
        position = draw(st.integers(0, len(valid) - 2))
        replacement = draw(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"))
        value = valid[:position] + replacement + valid[position + 1 :]
    elif kind == "body byte changed":
        position = draw(st.integers(0, len(body) - 1))
        byte = draw(st.integers(0, 255).filter(lambda b: b != body[position]))
        sent = body[:position] + bytes([byte]) + body[position + 1 :]
        value = valid
    elif kind == "body byte added":
        position = draw(st.integers(0, len(body)))
        sent = body[:position] + draw(st.sampled_from([b" ", b"\n", b"\r\n", b"0"])) + body[position:]
        value = valid
    elif kind == "re-serialised json":
        sent = json.dumps(json.loads(body)).encode()  # what a framework re-serialising the parsed body would send
        value = valid
    else:  # "signed re-serialised": the signature was computed over a re-serialisation, the raw bytes differ
        value = sign(json.dumps(json.loads(body), ensure_ascii=False).encode(), DEV_SECRET)
    headers = {"Content-Type": "application/json"}
    if value is not None:
        headers[header] = value
    return kind, headers, sent


def test_every_forged_signature_is_a_401_without_any_aws_call(
    functions: Functions, aws: AwsStack, aws_calls: AwsCalls
) -> None:
    prepare(functions, aws)
    bodies = {function_dir: bolt_payloads.php_style_json(base_payload(function_dir)) for function_dir in SIGNED}
    # Warm every container and the secret cache with one genuine request each: it is answered, not refused.
    for function_dir, body in bodies.items():
        answer = functions.invoke(function_dir, signed_event(function_dir, body))
        assert answer.status != 401, (function_dir, answer.body)
    failures: list[str] = []
    # The layer's own clients, counted as tests/support.CallCounter does (the AwsCalls recorder sees every client).
    dynamodb_calls = CallCounter(adapters_aws.dynamodb())
    secret_calls = CallCounter(parameters.base.DEFAULT_PROVIDERS["secrets"].client, "secrets-manager")

    started = time.monotonic()
    with aws_calls.watch() as seen:

        @budget(10_000)
        @given(data=st.data(), function_dir=st.sampled_from(SIGNED))
        def forged_is_refused(data: st.DataObject, function_dir: str) -> None:
            body = bodies[function_dir]
            kind, headers, sent = data.draw(forged_request(body), label="request")
            value = headers.get(SIGNATURE_HEADER) or headers.get(PENDING_SIGNATURE_HEADER) or ""
            value = value or headers.get(SIGNATURE_HEADER.lower(), "")
            assume(not genuine(value, sent))
            binary = not _is_utf8(sent)
            with aws_calls.watch() as during:
                answer = functions.invoke(function_dir, event_for(function_dir, sent, headers, binary=binary))
            refused = answer.status == 401 and answer.body == SIGNATURE_REJECTED
            SIGNATURES.case(answer.status, rejected=refused)
            beyond = aws_calls_beyond_the_secret(during)
            if beyond:
                SIGNATURES.count(violations=1)
            if not refused or beyond:
                failures.append(f"{function_dir} {kind}: {answer.status} {answer.body} calls={beyond}")

        forged_is_refused()

    # One forced refresh per minute at most: one for the whole run unless it lasted longer (a loaded machine).
    refreshes_allowed = 1 + int((time.monotonic() - started) // 60)
    assert dynamodb_calls.count() == 0
    assert secret_calls.count() <= refreshes_allowed
    secret_fetches = [call for call in seen if call.service == "secretsmanager"]
    SIGNATURES.count(violations=max(0, len(secret_fetches) - refreshes_allowed))
    assert not failures, "\n".join(failures[:20])
    assert aws_calls_beyond_the_secret(seen) == []
    assert len(secret_fetches) <= refreshes_allowed, secret_fetches


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("function_dir", SIGNED)
@pytest.mark.parametrize(
    ("case", "headers"),
    [
        ("missing", {}),
        ("empty", {SIGNATURE_HEADER: ""}),
        ("empty pending", {PENDING_SIGNATURE_HEADER: ""}),
        ("both empty", {SIGNATURE_HEADER: "", PENDING_SIGNATURE_HEADER: ""}),
        ("hex", {SIGNATURE_HEADER: hashlib.sha256(b"x").hexdigest()}),
        ("nul", {SIGNATURE_HEADER: "\x00" * 44}),
        ("8 KB", {SIGNATURE_HEADER: "A" * 8192}),
        ("two values joined", {SIGNATURE_HEADER: "{valid},{valid}"}),
        ("wrong secret", {SIGNATURE_HEADER: "{other}"}),
    ],
)
def test_fixed_signature_vectors_on_a_cold_container_are_401(
    functions: Functions, aws_calls: AwsCalls, function_dir: str, case: str, headers: dict[str, str]
) -> None:
    """T01-T06 on a cold container (secret not yet cached): 401, and the only AWS call is the secret read."""
    body = bolt_payloads.php_style_json(base_payload(function_dir))
    values = {
        name: value.format(valid=sign(body, DEV_SECRET), other=sign(body, "another-merchants-secret"))
        for name, value in headers.items()
    }

    with aws_calls.watch() as seen:
        answer = functions.invoke(function_dir, event_for(function_dir, body, values))

    SIGNATURES.case(answer.status, rejected=answer.status == 401 and answer.body == SIGNATURE_REJECTED)
    assert (answer.status, answer.body) == (401, SIGNATURE_REJECTED)
    assert aws_calls_beyond_the_secret(seen) == []
    assert len(seen) <= 2  # the cold read, and at most one forced refresh


def test_raw_bytes_are_verified_not_a_re_serialisation(functions: Functions, aws: AwsStack) -> None:
    """T08: bodies whose bytes a parse-and-dump round trip would change are accepted when signed as sent."""
    prepare(functions, aws)
    payload = base_payload("shipping")
    variants = {
        "php escapes": bolt_payloads.php_style_json(payload),
        "literal utf-8": json.dumps(payload, ensure_ascii=False).encode(),
        "pretty": json.dumps(payload, indent=2).encode(),
        "crlf": json.dumps(payload, indent=1).replace("\n", "\r\n").encode(),
        "emoji and u2028": json.dumps(
            {**payload, "note": "\U0001f600 \u2028 caf\u00e9 \\/"}, ensure_ascii=False
        ).encode(),
        "reordered": json.dumps(dict(reversed(list(payload.items())))).encode(),
    }
    for name, body in variants.items():
        assert json.dumps(json.loads(body)).encode() != body or name == "reordered"
        answer = functions.invoke("shipping", event_for("shipping", body, {SIGNATURE_HEADER: sign(body, DEV_SECRET)}))
        SIGNATURES.case(answer.status)
        assert answer.status == 200, (name, answer.body)


def test_a_base64_encoded_body_is_verified_over_its_decoded_bytes(functions: Functions, aws: AwsStack) -> None:
    """T09: isBase64Encoded with the signed bytes is accepted; invalid base64 is a 400, never a 500."""
    prepare(functions, aws)
    body = bolt_payloads.php_style_json(base_payload("shipping"))
    good = functions.invoke(
        "shipping", event_for("shipping", body, {SIGNATURE_HEADER: sign(body, DEV_SECRET)}, binary=True)
    )
    event = event_for("shipping", body, {SIGNATURE_HEADER: sign(body, DEV_SECRET)}, binary=True)
    event["body"] = event["body"] + "!!"
    bad = functions.invoke("shipping", event)
    for answer in (good, bad):
        SIGNATURES.case(answer.status, rejected=answer.status == 400)
    assert good.status == 200
    assert bad.status == 400
    assert is_bolt_failure(bad.body)


def test_a_forced_refresh_storm_is_rate_limited_to_one_a_minute(
    functions: Functions, aws: AwsStack, aws_calls: AwsCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    """T07: 1000 badly signed requests over five (simulated) minutes cost at most one Secrets Manager read a minute."""
    import functools

    from bolt_merchant.bolt import signed as bolt_wiring
    from bolt_merchant.bolt.secrets import SecretsProvider
    from bolt_merchant.core.settings import settings as function_settings

    now = [1000.0]
    monkeypatch.setattr(
        bolt_wiring, "secrets", functools.cache(lambda: SecretsProvider(function_settings(), lambda: now[0]))
    )
    body = bolt_payloads.php_style_json(base_payload("shipping"))
    functions.invoke("shipping", event_for("shipping", body, {SIGNATURE_HEADER: sign(body, DEV_SECRET)}))

    with aws_calls.watch() as seen:
        for number in range(1000):
            now[0] = 1000.0 + number * 0.3  # 300 s in all
            answer = functions.invoke("shipping", event_for("shipping", body, {SIGNATURE_HEADER: sign(body, "forged")}))
            SIGNATURES.case(answer.status, rejected=answer.status == 401)
            assert answer.status == 401

    fetches = [call for call in seen if call.service == "secretsmanager"]
    assert aws_calls_beyond_the_secret(seen) == []
    assert 1 <= len(fetches) <= 6, len(fetches)  # minute 0, 1, 2, 3, 4 (and the boundary of the fifth)


# ---------------------------------------------------------------- bodies


def set_path(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A deep copy of `document` with the value at `path` replaced."""
    copied = json.loads(json.dumps(document))
    target = copied
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return copied


def cart_path(function_dir: str, payload: dict[str, Any]) -> tuple[Any, ...]:
    """Where the Bolt cart is in the function's base payload."""
    prefix: tuple[Any, ...] = ("data",) if data_of(function_dir, payload) is not payload else ()
    if function_dir == "transaction_webhook":
        return ("data", "order", "cart")
    if function_dir == "order_create":
        return (*prefix, "order", "cart")
    return (*prefix, "cart")


def quantity_path(function_dir: str, payload: dict[str, Any]) -> tuple[Any, ...] | None:
    if function_dir == "credit_card_webhook":
        return None
    if function_dir == "cart_update":
        return ("data", "add_items", 0, "quantity")
    return (*cart_path(function_dir, payload), "items", 0, "quantity")


def amount_path(function_dir: str, payload: dict[str, Any]) -> tuple[Any, ...] | None:
    if function_dir in ("credit_card_webhook", "cart_update"):
        return None
    if function_dir == "transaction_webhook":
        return ("data", "amount")
    return (*cart_path(function_dir, payload), "items", 0, "unit_price")


def with_raw(payload: dict[str, Any], path: tuple[Any, ...], raw: bytes) -> bytes:
    """The payload serialised with the value at `path` spelled as `raw` (NaN, 1e999 ... are not JSON values)."""
    marker = "__HOSTILE_VALUE__"
    return bolt_payloads.php_style_json(set_path(payload, path, marker)).replace(f'"{marker}"'.encode(), raw)


INJECTIONS = {
    "separator": "A#TX#B",
    "nul": "c_demo\u00000001",
    "3 KB": "x" * 3072,
    "dot-dot": "../c_demo0001",
    "padded": " 123 ",
    "homoglyph": "\u0441_demo0001",  # Cyrillic es
}


Vector = tuple[str, bytes, set[int], bool]  # name, body, statuses expected, sent base64-encoded


def body_vectors(function_dir: str) -> list[Vector]:
    """The hostile bodies for one function, all signed correctly, with the statuses expected."""
    payload = base_payload(function_dir)
    raw = bolt_payloads.php_style_json(payload)
    vectors: list[Vector] = [
        ("not json", b"this is not valid JSON", {400}, False),
        ("truncated json", raw[:40], {400}, False),
        ("empty", b"", {400}, False),
        ("array", b"[]", {400}, False),
        ("string", b'"string"', {400}, False),
        ("null", b"null", {400}, False),
        ("not utf-8", b'{"cart": "\xff\xfe"}', {400}, True),
        ("duplicate keys", b'{"dup":1,"dup":2,' + raw[1:], {400}, False),
        ("deep nesting", b'{"a":' * 20_000 + b"1" + b"}" * 20_000, {400}, False),
        ("deep arrays", b"[" * 100_000 + b"]" * 100_000, {400}, False),
        ("empty object", b"{}", {422}, False),
    ]
    numbers = amount_path(function_dir, payload) or quantity_path(function_dir, payload)
    if numbers is not None:
        for name, spelled in {
            "NaN": b"NaN",
            "Infinity": b"Infinity",
            "-Infinity": b"-Infinity",
            "1e999": b"1e999",
            "27 digits": b"1" + b"0" * 26,
        }.items():
            vectors.append((name, with_raw(payload, numbers, spelled), {400}, False))
    vectors += _field_vectors(function_dir, payload)
    vectors += _injection_vectors(function_dir, payload)
    return vectors


def _field_vectors(function_dir: str, payload: dict[str, Any]) -> list[Vector]:
    """Wrong types, negative and absurd numbers, a foreign currency, an event type that is a number: 422."""
    vectors: list[Vector] = []

    def replaced(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> bytes:
        return bolt_payloads.php_style_json(set_path(document, path, value))

    quantity = quantity_path(function_dir, payload)
    if quantity is not None:
        for name, value in {
            "quantity string": "2",
            "quantity true": True,
            "quantity null": None,
            "quantity float": 2.5,
            "quantity 1e3": 1e3,
            "quantity negative": -1,
            "quantity zero": 0,
            "quantity 10^12": 10**12,
            "quantity object": {"amount": 2},
        }.items():
            vectors.append((name, replaced(payload, quantity, value), {422}, False))
    amount = amount_path(function_dir, payload)
    if amount is not None:
        for name, value in {
            "amount string": "2400",
            "amount true": True,
            "amount float": 24.0,
            "amount 1e3": 1e3,
            "amount negative": -1,
            "amount 10^19": 10**19,
            "amount object with a string": {"amount": "2400", "currency": "USD"},
            "amount list": [2400],
        }.items():
            vectors.append((name, replaced(payload, amount, value), {422}, False))
    if function_dir not in WEBHOOKS and function_dir != "cart_update":
        currency = (*cart_path(function_dir, payload), "currency")
        vectors.append(("cart in EUR", replaced(payload, currency, "EUR"), {422}, False))
        vectors.append(("cart currency lowercase", replaced(payload, currency, "usd"), {422}, False))
    if function_dir == "order_create":
        vectors.append(
            ("order.create currency EUR, cart USD", replaced(payload, ("data", "currency"), "EUR"), {422}, False)
        )
    if function_dir in WEBHOOKS:
        vectors.append(("type as a number", replaced(payload, ("type",), 5), {422}, False))
    elif "event" in payload:
        vectors.append(("event as a number", replaced(payload, ("event",), 5), {422}, False))
    return vectors


def _injection_vectors(function_dir: str, payload: dict[str, Any]) -> list[Vector]:
    """Key-injection strings in every reference that ends up in a DynamoDB key: 422.

    A reference only looked up (never a key), here the transaction webhook's display_id without an
    order_reference, may also be acknowledged (200 `held`): the payment is left to reconciliation, and the one
    write allowed is its waiting marker, keyed by the validated payment reference, never by the hostile value.
    """
    references: list[tuple[str, tuple[Any, ...], set[int], dict[str, Any]]] = []
    if function_dir == "credit_card_webhook":
        references.append(("event id", ("data", "id"), {422}, payload))
    else:
        references.append(("order_reference", (*cart_path(function_dir, payload), "order_reference"), {422}, payload))
    if function_dir == "transaction_webhook":
        lookup_only = set_path(payload, ("data", "order", "cart", "order_reference"), None)
        references += [
            ("transaction id", ("data", "id"), {422}, payload),
            ("transaction reference", ("data", "reference"), {422}, payload),
            ("capture id", ("data", "captures"), {422}, {**payload, "type": "capture"}),
            ("display_id (lookup only)", ("data", "order", "cart", "display_id"), {200, 422}, lookup_only),
        ]
    vectors: list[Vector] = []
    for field_name, path, expected, document in references:
        for name, value in INJECTIONS.items():
            injected = [{"id": value, "status": "succeeded", "amount": 100}] if field_name == "capture id" else value
            body = bolt_payloads.php_style_json(set_path(document, path, injected))
            vectors.append((f"{field_name} {name}", body, expected, False))
    return vectors


@pytest.mark.parametrize("function_dir", SIGNED)
def test_hostile_bodies_are_refused_in_bolts_shape_without_writes(
    functions: Functions, aws: AwsStack, aws_calls: AwsCalls, function_dir: str
) -> None:
    """T28-T31, T34, T35: each hostile body, signed correctly, is a 4xx in Bolt's failure shape, nothing written."""
    prepare(functions, aws)
    payment_reference = base_payload(function_dir).get("data", {}).get("reference")
    failures = []
    for name, body, expected, binary in body_vectors(function_dir):
        with aws_calls.watch() as seen:
            answer = functions.invoke(function_dir, signed_event(function_dir, body, binary=binary))
        written = [call for call in writes(seen) if not waiting_marker(call, payment_reference)]
        shape_ok = is_bolt_failure(answer.body) if answer.status >= 400 else answer.body.get("result") == "held"
        as_expected = answer.status in expected and shape_ok and not written
        HOSTILE.case(answer.status, rejected=as_expected)
        if written:
            HOSTILE.count(violations=1)
        if not as_expected:
            written_ops = [c.operation for c in written]
            failures.append(f"{name}: {answer.status} {json.dumps(answer.body)[:200]} writes={written_ops}")
    assert not failures, "\n".join(failures)


def waiting_marker(call: Call, payment_reference: str | None) -> bool:
    """The transaction webhook's record of a payment with no order yet, keyed by Bolt's payment reference."""
    key = call.params.get("Item", {}).get("pk", {}).get("S")
    return call.operation == "PutItem" and payment_reference is not None and key == f"WAITING#{payment_reference}"


@pytest.mark.parametrize("function_dir", SIGNED)
def test_oversize_bodies_are_413_before_the_signature_and_before_parsing(
    functions: Functions, aws_calls: AwsCalls, function_dir: str
) -> None:
    """T34: over MAX_BODY_BYTES is refused first: unsigned and not JSON, it is still 413, and nothing is called."""
    cases = {
        "unsigned junk": (b"\xff" * (MAX_BODY_BYTES + 1), {}, True),
        "signed json": (b'{"a":"' + b"x" * MAX_BODY_BYTES + b'"}', None, False),
        "6 MB": (b"[" * (6 * 1024 * 1024), {}, False),
    }
    for name, (body, headers, binary) in cases.items():
        event = (
            signed_event(function_dir, body, binary=binary)
            if headers is None
            else event_for(function_dir, body, headers, binary=binary)
        )
        with aws_calls.watch() as seen:
            answer = functions.invoke(function_dir, event)
        HOSTILE.case(answer.status, rejected=answer.status == 413 and not seen)
        assert answer.status == 413, name
        assert is_bolt_failure(answer.body), name
        assert seen == [], name


# ---------------------------------------------------------------- random hostile values anywhere in a request


def leaf_paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside the document (objects and lists included)."""
    paths: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(document, dict):
        for key, value in document.items():
            paths += leaf_paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            paths += leaf_paths(value, (*prefix, index))
    return paths


hostile_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(list(INJECTIONS.values())),
    st.text(min_size=300, max_size=400),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def test_a_hostile_value_anywhere_is_never_a_5xx(functions: Functions, aws: AwsStack, aws_calls: AwsCalls) -> None:
    """Any field of any signed request replaced by a hostile value: answered 2xx or 4xx (Bolt's shape), never 5xx,
    and a refusal writes nothing."""
    prepare(functions, aws)
    for fault in dynamodb_key_limits():  # as real DynamoDB would refuse keys moto lets through on reads
        aws_calls.inject(fault)
    payloads = {function_dir: base_payload(function_dir) for function_dir in SIGNED}
    paths = {function_dir: leaf_paths(payload) for function_dir, payload in payloads.items()}
    failures: list[str] = []

    @budget(1_000)
    @given(data=st.data(), function_dir=st.sampled_from(SIGNED), value=hostile_values)
    def answered_without_a_5xx(data: st.DataObject, function_dir: str, value: Any) -> None:
        path = data.draw(st.sampled_from(paths[function_dir]), label="path")
        body = bolt_payloads.php_style_json(set_path(payloads[function_dir], path, value))
        with aws_calls.watch() as seen:
            answer = functions.invoke(function_dir, signed_event(function_dir, body))
        refused = answer.status >= 400
        HOSTILE.case(answer.status, rejected=refused and 400 <= answer.status < 500)
        problem = None
        if answer.status >= 500:
            problem = "5xx"
        elif refused and not is_bolt_failure(answer.body):
            problem = "not Bolt's failure shape"
        elif refused and writes(seen):
            problem = f"refused but wrote {[c.operation for c in writes(seen)]}"
            HOSTILE.count(violations=1)
        if problem:
            failures.append(f"{function_dir} {path}={str(value)[:40]!r}: {problem}: {answer.status} {answer.body}")

    answered_without_a_5xx()
    assert not failures, "\n".join(failures[:20])


def dynamodb_key_limits() -> list[Fault]:
    """What real DynamoDB refuses and moto only checks on writes: a partition key over 2048 bytes or a sort key over
    1024 bytes in any request (ValidationException). moto does not check keys of reads."""

    def too_long(key: Any) -> bool:
        if not isinstance(key, dict):
            return False
        pk = key.get("pk", {}).get("S", "") if isinstance(key.get("pk"), dict) else ""
        sk = key.get("sk", {}).get("S", "") if isinstance(key.get("sk"), dict) else ""
        return len(pk.encode()) > 2048 or len(sk.encode()) > 1024

    def keys_in(params: dict[str, Any]) -> list[Any]:
        found = [params.get("Key"), params.get("Item")]
        for table in (params.get("RequestItems") or {}).values():
            found += list(table.get("Keys", []))
        for action in params.get("TransactItems") or []:
            for body in action.values():
                found += [body.get("Key"), body.get("Item")]
        return found

    def over_limit(params: dict[str, Any]) -> bool:
        return any(too_long(key) for key in keys_in(params))

    operations = ("GetItem", "BatchGetItem", "PutItem", "UpdateItem", "TransactWriteItems")
    return [Fault("dynamodb", op, "ValidationException", times=10**9, when=over_limit) for op in operations]


def test_oversized_keys_are_refused_as_input_not_as_an_outage(
    functions: Functions, aws: AwsStack, aws_calls: AwsCalls
) -> None:
    """T35: ids that would make a DynamoDB key longer than DynamoDB allows are a 422 (input), not a 503 that Bolt
    retries forever. 256 four-byte characters fit the 256-character fields but not a 1024-byte sort key."""
    prepare(functions, aws)
    for fault in dynamodb_key_limits():
        aws_calls.inject(fault)
    wide = "\U0001f600" * 256
    cart = seed.valid_order_cart(seed.DEMO_CART_ID, seed.DEMO_ITEMS)
    total = seed.total_of(cart)
    cases = {
        "capture id": bolt_payloads.transaction_webhook("capture", cart=cart, amount=total, captures=((wide, 100),)),
        "transaction id": {
            **bolt_payloads.transaction_webhook("pending", cart=cart, amount=total),
        },
    }
    cases["transaction id"]["data"]["id"] = wide
    failures = []
    for name, payload in cases.items():
        answer = functions.invoke("transaction_webhook", signed_event("transaction_webhook", payload))
        HOSTILE.case(answer.status, rejected=answer.status == 422)
        if answer.status != 422:
            failures.append(f"{name}: {answer.status} {answer.body}")
    assert not failures, "\n".join(failures)


def test_an_order_token_for_a_3kb_cart_id_is_not_found_not_an_outage(
    aws: AwsStack, functions: Functions, aws_calls: AwsCalls
) -> None:
    """The storefront's path parameter becomes a DynamoDB key (CART#<id>): an id DynamoDB cannot hold is a 404."""
    for fault in dynamodb_key_limits():
        aws_calls.inject(fault)
    cart_id = "c" * 3072
    event = make_events.hook_event(
        "storefront",
        b"",
        headers={"Content-Type": "application/json"},
        route_path="/storefront/carts/{cart_id}/bolt-order-token",
        path_parameters={"cart_id": cart_id},
    )
    answer = functions.invoke("storefront", event)
    HOSTILE.case(answer.status, rejected=answer.status in (404, 422))
    assert answer.status in (404, 422), answer.body
    assert is_bolt_failure(answer.body)


def test_a_cart_of_another_currency_never_becomes_paid(functions: Functions, aws: AwsStack) -> None:
    """T30: a transaction in another currency than the order's is acknowledged, and the order goes on hold."""
    prepare(functions, aws)
    cart = bolt_payloads.order_cart(ORDERED_CART)
    payload = bolt_payloads.transaction_webhook("auth", cart_id=ORDERED_CART, cart=cart, currency="EUR")
    answer = functions.invoke("transaction_webhook", signed_event("transaction_webhook", payload))
    HOSTILE.case(answer.status)
    order = seed.stored_order(aws, order_id_for(ORDERED_CART))
    assert answer.status == 200
    assert order is not None
    assert order.status == "on_hold"
    assert order.authorized == 0
