"""JSON parsing that refuses what pydantic and the stdlib would silently accept.

Duplicate keys (the last one would win), NaN/Infinity, numbers too large to be money and nesting deeper
than any Bolt payload all raise InvalidJson instead of flowing into the models.
"""

import json
from typing import Any

MAX_DEPTH = 32


class InvalidJson(ValueError):
    """The body is not JSON we are willing to read. The message never contains the input."""


def _reject_constant(name: str) -> Any:
    raise InvalidJson(f"non-standard JSON constant {name}")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidJson("duplicate key in JSON object")
        result[key] = value
    return result


def _parse_int(text: str) -> int:
    if len(text) > 20:
        raise InvalidJson("integer too large")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise InvalidJson("number out of range")
    return value


def _depth_ok(text: str) -> bool:
    """Cheap pre-scan so deeply nested input never reaches the recursive decoder."""
    depth = 0
    in_string = False
    escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif char in "]}":
            depth -= 1
    return True


def loads_object(raw: bytes) -> dict[str, Any]:
    """Parse raw bytes into a JSON object (dict) or raise InvalidJson."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidJson("body is not UTF-8") from exc
    if not _depth_ok(text):
        raise InvalidJson("JSON nested too deeply")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_reject_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
        )
    except InvalidJson:
        raise
    except (ValueError, RecursionError) as exc:
        raise InvalidJson("body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise InvalidJson("body must be a JSON object")
    return value
