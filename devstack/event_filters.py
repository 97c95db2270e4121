"""Lambda event filtering (an event source mapping's FilterCriteria) for the local pollers.

A record goes to the function when at least one filter's pattern matches it; the others are dropped (a stream
moves past them, an SQS message is deleted), as Lambda does. Patterns follow the EventBridge syntax Lambda uses:
objects nest into the record, arrays list the accepted values (equality, numbers compared as numbers, null only
for an explicit null), an array value in the record matches when any of its elements does, and these operators:
prefix, suffix, equals-ignore-case, anything-but (a value, a list or {"prefix": ...}), numeric, exists.
Anything else raises when the filter is compiled, so a pattern the local stack cannot honour never passes silently.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_MISSING = object()
_NUMERIC_OPERATORS = frozenset({"=", "<", "<=", ">", ">="})


class UnsupportedPattern(ValueError):
    """A filter pattern the local stack does not implement (or one Lambda itself would refuse)."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_numeric(spec: Any) -> None:
    if not isinstance(spec, list) or not spec or len(spec) % 2:
        raise UnsupportedPattern(f"numeric needs operator/value pairs, got {spec!r}")
    for operator, bound in zip(spec[::2], spec[1::2], strict=True):
        if operator not in _NUMERIC_OPERATORS or not _is_number(bound):
            raise UnsupportedPattern(f"numeric pair {operator!r} {bound!r} is not supported")


def _check_anything_but(argument: Any) -> None:
    if isinstance(argument, dict):
        if set(argument) != {"prefix"} or not isinstance(argument["prefix"], str):
            raise UnsupportedPattern(f"anything-but supports only {{'prefix': ...}}, got {argument!r}")
    elif isinstance(argument, list):
        if not all(isinstance(value, str) or _is_number(value) for value in argument):
            raise UnsupportedPattern(f"anything-but lists strings or numbers, got {argument!r}")
    elif not (isinstance(argument, str) or _is_number(argument)):
        raise UnsupportedPattern(f"anything-but takes a string, a number or a list, got {argument!r}")


def _check_operator(matcher: Mapping[str, Any]) -> None:
    if len(matcher) != 1:
        raise UnsupportedPattern(f"one operator per matcher, got {sorted(matcher)}")
    ((operator, argument),) = matcher.items()
    if operator in ("prefix", "suffix", "equals-ignore-case"):
        if not isinstance(argument, str):
            raise UnsupportedPattern(f"{operator} takes a string, got {argument!r}")
    elif operator == "exists":
        if not isinstance(argument, bool):
            raise UnsupportedPattern(f"exists takes true or false, got {argument!r}")
    elif operator == "numeric":
        _check_numeric(argument)
    elif operator == "anything-but":
        _check_anything_but(argument)
    else:
        raise UnsupportedPattern(f"operator {operator!r} is not implemented by the local stack")


def check_pattern(pattern: Any, path: str = "") -> None:
    """Raise UnsupportedPattern unless every leaf is an array of values or supported operators."""
    if not isinstance(pattern, dict) or not pattern:
        raise UnsupportedPattern(f"{path or 'pattern'}: expected a non-empty object, got {pattern!r}")
    for key, value in pattern.items():
        where = f"{path}.{key}" if path else key
        if isinstance(value, dict):
            check_pattern(value, where)
        elif isinstance(value, list) and value:
            for matcher in value:
                if isinstance(matcher, dict):
                    _check_operator(matcher)
                elif isinstance(matcher, list):
                    raise UnsupportedPattern(f"{where}: nested arrays are not allowed")
        else:
            raise UnsupportedPattern(f"{where}: expected an object or a non-empty array, got {value!r}")


def _numeric(value: Any, spec: Sequence[Any]) -> bool:
    if not _is_number(value):
        return False
    checks = {
        "=": lambda bound: value == bound,
        "<": lambda bound: value < bound,
        "<=": lambda bound: value <= bound,
        ">": lambda bound: value > bound,
        ">=": lambda bound: value >= bound,
    }
    return all(checks[operator](bound) for operator, bound in zip(spec[::2], spec[1::2], strict=True))


def _equal(expected: Any, value: Any) -> bool:
    if _is_number(expected) and _is_number(value):
        return bool(expected == value)
    return type(expected) is type(value) and expected == value


def _operator(matcher: Mapping[str, Any], value: Any) -> bool:
    ((operator, argument),) = matcher.items()
    if operator == "exists":
        return (value is not _MISSING) is argument
    if value is _MISSING:
        return False
    if operator == "prefix":
        return isinstance(value, str) and value.startswith(argument)
    if operator == "suffix":
        return isinstance(value, str) and value.endswith(argument)
    if operator == "equals-ignore-case":
        return isinstance(value, str) and value.casefold() == argument.casefold()
    if operator == "numeric":
        return _numeric(value, argument)
    # anything-but
    if isinstance(argument, dict):
        return isinstance(value, str) and not value.startswith(argument["prefix"])
    excluded = argument if isinstance(argument, list) else [argument]
    return not any(_equal(item, value) for item in excluded)


def _value_matches(matchers: Sequence[Any], value: Any) -> bool:
    if isinstance(value, list):  # an array in the record matches when one of its elements does
        return any(_value_matches(matchers, element) for element in value)
    for matcher in matchers:
        if isinstance(matcher, dict):
            if _operator(matcher, value):
                return True
        elif value is not _MISSING and _equal(matcher, value):
            return True
    return False


def matches(pattern: Mapping[str, Any], record: Any) -> bool:
    """True when `record` (a Lambda event record, decoded JSON) satisfies every key of `pattern`."""
    if isinstance(record, list):
        return any(matches(pattern, element) for element in record)
    if not isinstance(record, dict):
        return False
    for key, expected in pattern.items():
        value = record.get(key, _MISSING)
        if isinstance(expected, dict):
            if value is _MISSING or not matches(expected, value):
                return False
        elif not _value_matches(expected, value):
            return False
    return True


@dataclass(frozen=True)
class EventFilter:
    """The compiled FilterCriteria of one event source; no patterns lets every record through."""

    patterns: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_criteria(cls, criteria: Mapping[str, Any] | None) -> "EventFilter":
        """FilterCriteria as written in the template: {"Filters": [{"Pattern": "<json>"}, ...]}."""
        patterns = []
        for entry in (criteria or {}).get("Filters") or []:
            raw = entry.get("Pattern")
            pattern = json.loads(raw) if isinstance(raw, str) else raw
            check_pattern(pattern)
            patterns.append(pattern)
        return cls(tuple(patterns))

    def accepts(self, record: Mapping[str, Any]) -> bool:
        return not self.patterns or any(matches(pattern, record) for pattern in self.patterns)
