"""What JSON Schema's value keywords mean for Python values, as jsonschema reads them: the types, and
equality (`const`, `enum`, `uniqueItems`): numbers by value (1 == 1.0), a boolean only equals a boolean, arrays
and objects member by member. The compiled check (schema_check.py) is exact because these are."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
    "number": is_number,
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
}


def same(value: Any, expected: Any) -> bool:
    """Equality as JSON Schema means it: numbers by value (1 == 1.0), a boolean only equals a boolean, arrays
    and objects member by member."""
    if isinstance(expected, bool) or isinstance(value, bool):
        return type(value) is type(expected) and value == expected
    if is_number(expected):
        return is_number(value) and value == expected
    if isinstance(expected, list):
        return (
            isinstance(value, list)
            and len(value) == len(expected)
            and all(same(a, b) for a, b in zip(value, expected, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(value, dict)
            and value.keys() == expected.keys()
            and all(same(value[key], item) for key, item in expected.items())
        )
    return type(value) is type(expected) and value == expected  # strings and null


def equals(expected: Any) -> Check:
    """`const`: the common constants (a string, a boolean, null) are one type test and one comparison."""
    if type(expected) is str:
        return lambda v: type(v) is str and v == expected
    if type(expected) is bool or expected is None:
        return lambda v: v is expected
    return lambda v: same(v, expected)


def unique(items: list[Any]) -> bool:
    if all(isinstance(item, str) for item in items):
        return len(set(items)) == len(items)
    return not any(same(items[i], items[j]) for i in range(len(items)) for j in range(i + 1, len(items)))
