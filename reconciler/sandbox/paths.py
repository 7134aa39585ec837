"""Field paths inside a payload: `("config", "audit", "enabled")`, written `config.audit.enabled`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Path = tuple[str | int, ...]


def dotted(path: Path) -> str:
    return ".".join(str(part) for part in path)


def parse(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(".") if part)


def get(value: Any, path: Path) -> Any:
    """The value at `path`, or None when any step is missing."""
    for part in path:
        if isinstance(part, int):
            if not isinstance(value, list) or not 0 <= part < len(value):
                return None
        elif not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def has(value: Any, path: Path) -> bool:
    for part in path:
        if not isinstance(value, Mapping) or part not in value:
            return False
        value = value[part]
    return True


def put(value: dict[str, Any], path: Path, new: Any) -> None:
    """Set `path` in `value`, creating the objects on the way."""
    node = value
    for part in path[:-1]:
        child = node.get(str(part))
        if not isinstance(child, dict):
            child = node[str(part)] = {}
        node = child
    node[str(path[-1])] = new


def copy_json(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value


def merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`over` merged into a copy of `base`, objects recursively, anything else replaced."""
    result: dict[str, Any] = copy_json(dict(base))
    for name, value in over.items():
        below = result.get(name)
        if isinstance(below, dict) and isinstance(value, Mapping):
            result[name] = merged(below, value)
        else:
            result[name] = copy_json(value)
    return result


def fill(value: dict[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `value` with every key of `defaults` that it lacks filled in (objects recursively)."""
    result: dict[str, Any] = copy_json(value)
    for name, default in defaults.items():
        if name not in result:
            result[name] = copy_json(default)
        elif isinstance(result[name], dict) and isinstance(default, Mapping):
            result[name] = fill(result[name], default)
    return result
