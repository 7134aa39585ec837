"""JSON-like values (dicts, lists, scalars — Secrets among them) as trees: the one place that recurses.

Reading at a path, setting and deleting there, copying, and walking every leaf with its path. What a
leaf means (a secret, a reference, a default) is the caller's question, asked with the path it is given:
`secrets.reveal_all`, `secrets.mask_all`, `secrets.secret_values` and the environment values are built on
`map_leaves` / `leaves`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final

from reconciler.model import Json as JsonValue
from reconciler.model import Path

Json = Any  # the tree helpers take any document; what compares data is typed JsonValue (model.Json)


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()  # `get_path(..., default=MISSING)` tells "absent" from "present and null"


def get_path(value: Json, path: Path, default: Json = None) -> Json:
    """The value at `path` (a str part reads a dict key, an int part a list index), or `default`."""
    for part in path:
        if isinstance(part, int):
            if not isinstance(value, list) or not 0 <= part < len(value):
                return default
        elif not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value


def set_path(value: dict[str, Json], path: Path, leaf: Json) -> None:
    """Puts `leaf` at `path`, making (or replacing with) dicts on the way: `path` names keys only."""
    node = value
    for part in map(str, path[:-1]):
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[str(path[-1])] = leaf


def delete_path(value: Json, path: Path) -> None:
    parent = get_path(value, path[:-1])
    if isinstance(parent, dict):
        parent.pop(path[-1], None)


def copy_json(value: Json) -> Json:
    """A copy with new dicts and lists, sharing scalars (and Secrets, which are immutable)."""
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value


def leaves(value: Json, path: Path = ()) -> Iterator[tuple[Path, Json]]:
    """Every value that is neither a dict nor a list, with its path, in document order."""
    if isinstance(value, dict):
        for name, child in value.items():
            yield from leaves(child, (*path, name))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from leaves(child, (*path, index))
    else:
        yield path, value


def map_leaves(value: Json, change: Callable[[Path, Json], Json], path: Path = ()) -> Json:
    """A copy of `value` with every leaf replaced by `change(path, leaf)`; dicts and lists rebuilt."""
    if isinstance(value, dict):
        return {name: map_leaves(child, change, (*path, name)) for name, child in value.items()}
    if isinstance(value, list):
        return [map_leaves(child, change, (*path, index)) for index, child in enumerate(value)]
    return change(path, value)


def same(value: JsonValue, expected: JsonValue) -> bool:
    """Equality as JSON (and JSON Schema) means it: numbers by value (443 == 443.0), a boolean only equals a
    boolean, arrays and objects member by member."""
    if isinstance(expected, bool) or isinstance(value, bool):
        return type(value) is type(expected) and value == expected
    if _is_number(expected):
        return _is_number(value) and value == expected
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
    return type(value) is type(expected) and value == expected  # strings, null, Secrets


def _is_number(value: JsonValue) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
