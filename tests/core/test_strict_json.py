"""Strict JSON (T28, T31, T34): what the stdlib and pydantic would quietly accept is refused as InvalidJson."""

import contextlib
import json
import sys

import pytest
from bolt_merchant.core.api import MAX_DEPTH, InvalidJson, loads_object
from hypothesis import given
from hypothesis import strategies as st

from tests.support import CANARY


def test_an_object_is_parsed_as_is() -> None:
    raw = '{"name":"Ren\\u00e9e","url":"https:\\/\\/x","n":-12,"f":1.5,"ok":true,"none":null,"list":[1,"é"]}'

    assert loads_object(raw.encode()) == {
        "name": "Renée",
        "url": "https://x",
        "n": -12,
        "f": 1.5,
        "ok": True,
        "none": None,
        "list": [1, "é"],
    }


@pytest.mark.parametrize(
    "raw",
    [
        b'{"amount":100,"amount":1}',
        b'{"cart":{"total":1,"total":1}}',
        b'{"items":[{"sku":"A","sku":"B"}]}',
        b'{"a":1,"\\u0061":2}',  # the same key, spelled with an escape
    ],
)
def test_duplicate_keys_are_refused_at_any_depth(raw: bytes) -> None:
    with pytest.raises(InvalidJson, match="duplicate key"):
        loads_object(raw)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_constants_are_refused(constant: str) -> None:
    with pytest.raises(InvalidJson):
        loads_object(f'{{"amount":{constant}}}'.encode())


@pytest.mark.parametrize("number", ["1e999", "-1e999", "1E400", "123456789e999"])
def test_numbers_that_overflow_to_infinity_are_refused(number: str) -> None:
    with pytest.raises(InvalidJson, match="out of range"):
        loads_object(f'{{"amount":{number}}}'.encode())


@pytest.mark.parametrize("number", [str(10**20), "-" + "9" * 20, "1" + "0" * 5000, "9" * 100_000])
def test_huge_integers_are_refused_without_converting_them(number: str) -> None:
    # 100k digits would also trip Python's int max-digits guard (ValueError) if ever converted
    with pytest.raises(InvalidJson, match="too large"):
        loads_object(f'{{"amount":{number}}}'.encode())


@pytest.mark.parametrize("number", ["9" * 20, "-" + "9" * 19, "0", "-0"])
def test_integers_up_to_twenty_characters_are_kept_exactly(number: str) -> None:
    assert loads_object(f'{{"amount":{number}}}'.encode()) == {"amount": int(number)}


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_nesting_a_hundred_thousand_deep_is_refused_not_a_recursion_error(opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    raw = ("{" + '"a":' + opener * 10**5 + "1" + closer * 10**5 + "}").encode()

    with pytest.raises(InvalidJson, match="nested too deeply"):
        loads_object(raw)


def test_nesting_is_allowed_up_to_max_depth() -> None:
    def nested(depth: int) -> bytes:
        return ("[" * (depth - 1)).join(["{" + '"a":', "1" + "]" * (depth - 1) + "}"]).encode()

    assert loads_object(nested(MAX_DEPTH))["a"] is not None
    with pytest.raises(InvalidJson):
        loads_object(nested(MAX_DEPTH + 1))


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = "[{" * 100 + '\\"' + "]}" * 3
    raw = json.dumps({"note": text}).encode()

    assert loads_object(raw) == {"note": text}


def test_an_escaped_quote_does_not_end_the_string_for_the_depth_scan() -> None:
    # if the pre-scan thought the string ended at \", the brackets after it would count as nesting
    text = '\\"' + "[" * (MAX_DEPTH + 5)
    raw = ('{"note":"' + text + '"}').encode()

    assert loads_object(raw) == {"note": '"' + "[" * (MAX_DEPTH + 5)}


@pytest.mark.parametrize(
    "raw",
    [b"[]", b'[{"a":1}]', b'"string"', b"null", b"1", b"true", b"1.5"],
)
def test_a_top_level_value_other_than_an_object_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidJson, match="must be a JSON object"):
        loads_object(raw)


@pytest.mark.parametrize(
    "raw",
    [b"", b"   ", b"this is not valid JSON", b'{"a":1', b'{"a":1}{"b":2}', b"{'a':1}", b'{"a":1,}', b"\xef\xbb\xbf{}"],
    ids=["empty", "blank", "text", "truncated", "two-documents", "single-quotes", "trailing-comma", "bom"],
)
def test_malformed_json_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidJson):
        loads_object(raw)


@pytest.mark.parametrize("raw", [b'{"a":"\xff"}', b'{"a":"\xc3"}', b'{"a":"\xed\xa0\x80"}'])
def test_bytes_that_are_not_utf8_are_refused(raw: bytes) -> None:
    with pytest.raises(InvalidJson, match="not UTF-8"):
        loads_object(raw)


@pytest.mark.parametrize(
    "raw",
    [
        f'{{"email":"{CANARY}@example.com",'.encode(),
        f'{{"{CANARY}":1,"{CANARY}":2}}'.encode(),
        f'["{CANARY}"]'.encode(),
        f'{{"amount":NaN,"email":"{CANARY}"}}'.encode(),
    ],
)
def test_the_error_message_never_contains_the_input(raw: bytes) -> None:
    with pytest.raises(InvalidJson) as caught:
        loads_object(raw)

    assert CANARY not in str(caught.value)


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**19 - 1), max_value=10**19 - 1),  # at most 20 characters
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)
_documents = st.dictionaries(
    st.text(),
    st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4)),
    max_size=6,
)


@given(document=_documents, ensure_ascii=st.booleans())
def test_every_standard_document_round_trips(document: dict[str, object], ensure_ascii: bool) -> None:
    assert loads_object(json.dumps(document, ensure_ascii=ensure_ascii).encode()) == document


@given(raw=st.binary(max_size=512))
def test_arbitrary_bytes_either_parse_or_raise_invalid_json(raw: bytes) -> None:
    with contextlib.suppress(InvalidJson):
        assert isinstance(loads_object(raw), dict)


def test_deep_nesting_stays_cheap_even_when_the_recursion_limit_is_low() -> None:
    # the pre-scan, not the recursion limit, is what refuses the input
    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(200)
        with pytest.raises(InvalidJson):
            loads_object(b"[" * 10**5)
    finally:
        sys.setrecursionlimit(limit)
