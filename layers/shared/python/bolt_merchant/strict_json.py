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


def _within_depth(value: Any) -> bool:
    """Level by level, so the check itself never recurses; each level is one pass over the containers' children."""
    level = [value]
    for _ in range(MAX_DEPTH):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if not level:
            return True
    return False


def loads_object(raw: bytes) -> dict[str, Any]:
    """Parse raw bytes into a JSON object (dict) or raise InvalidJson."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidJson("body is not UTF-8") from exc
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
    except RecursionError as exc:  # the C decoder stops at the interpreter's recursion limit
        raise InvalidJson("JSON nested too deeply") from exc
    except ValueError as exc:
        raise InvalidJson("body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise InvalidJson("body must be a JSON object")
    if not _within_depth(value):
        raise InvalidJson("JSON nested too deeply")
    return value
