"""400 answers for request bodies, checked against the simulator's own table (contract.py) [A14].

Like Joi with `abortEarly`, one problem is answered: the first in declaration order (a field's problems
before those of the fields after it, unknown keys after the known ones). A message never quotes the value
of a secret field. The wording is Joi's (`"config.warehouse" is required`) or, in the `errors=free` dialect,
a sentence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from reconciler.sandbox.assumptions import A14_VALIDATION_STATUS
from reconciler.sandbox.contract import NOT_TRUE, TYPE_NAMES, TYPES, Field, TypeContract, field_at
from reconciler.sandbox.paths import Path, get, has, parse
from reconciler.sandbox.replies import Rejected

_LAST = 10**6  # sorts after every declared position
_KIND_WORDS = {
    "string": "must be a string",
    "integer": "must be a number",
    "boolean": "must be a boolean",
    "object": "must be of type object",
    "array": "must be an array",
}


@dataclass(frozen=True, slots=True, order=True)
class Issue:
    order: tuple[int, ...]
    path: Path = field(compare=False)
    problem: str = field(compare=False)  # `is required`, `must be a string`…

    def joi(self) -> str:
        return f"{label(self.path)} {self.problem}"

    def free(self) -> str:
        where = label(self.path)[1:-1]
        return f"Invalid integration payload: {where} {self.problem}."


def parse_body(body: bytes, content_type: str = "") -> Any:
    """The request body as data; None when empty. JSON, or YAML when the content type says so [doc]."""
    if not body.strip():
        return None
    if "yaml" in content_type.lower():
        try:
            return yaml.safe_load(body)
        except yaml.YAMLError:
            raise Rejected(400, "Invalid request payload YAML format") from None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Rejected(400, "Invalid request payload JSON format") from None


def label(path: Path) -> str:
    """`("config", "warehouses", 0)` → `"config.warehouses[0]"`, Joi's label; the whole body is `"value"`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return f'"{text or "value"}"'


def _choices(values: tuple[Any, ...] | list[Any]) -> str:
    return "[" + ", ".join(v if isinstance(v, str) else json.dumps(v) for v in values) + "]"


def check(payload: Any, *, secrets_optional: bool = False, free_text: bool = False) -> TypeContract:
    """The payload's contract; raises `Rejected(400, <first problem>)` when it is invalid. `secrets_optional`:
    a missing secret is no problem (a cleanup script needs no credential)."""
    found = issues(payload, secrets_optional=secrets_optional)
    if found:
        first = found[0]
        raise Rejected(A14_VALIDATION_STATUS, first.free() if free_text else first.joi())
    return TYPES[payload["type"]]


def issues(payload: Any, *, secrets_optional: bool = False) -> list[Issue]:
    if not isinstance(payload, Mapping):
        return [Issue((), (), "must be of type object")]
    type_name = payload.get("type")
    if type_name is None:
        return [Issue((0,), ("type",), "is required")]
    if not isinstance(type_name, str) or type_name not in TYPES:
        return [Issue((0,), ("type",), f"must be one of {_choices(list(TYPE_NAMES))}")]
    contract = TYPES[type_name]
    found: list[Issue] = []
    for position, key in enumerate(payload):
        if key not in ("type", "autoBootstrap", "config"):  # `lifecycle` and `ensure` are file-only
            found.append(Issue((_LAST + position,), (str(key),), "is not allowed"))
    found.extend(_auto_bootstrap(contract, payload))
    if contract.config is None:
        if "config" in payload:
            found.append(Issue((2,), ("config",), "is not allowed"))
    elif "config" not in payload:
        found.append(Issue((2,), ("config",), "is required"))
    else:
        found.extend(_value(Field("object", fields=contract.config), payload["config"], ("config",), (2,)))
        if isinstance(payload["config"], Mapping):
            found.extend(_required(contract, payload, secrets_optional))
    return sorted(found)


def _auto_bootstrap(contract: TypeContract, payload: Mapping[str, Any]) -> list[Issue]:
    where = ("autoBootstrap",)
    if contract.auto_bootstrap == "absent":
        return [Issue((1,), where, "is not allowed")] if "autoBootstrap" in payload else []
    if "autoBootstrap" not in payload:
        return [Issue((1,), where, "is required")]
    value = payload["autoBootstrap"]
    if contract.auto_bootstrap == "false" and value is not False:
        return [Issue((1,), where, "must be [false]")]
    return [] if isinstance(value, bool) else [Issue((1,), where, "must be a boolean")]


def _required(contract: TypeContract, payload: Mapping[str, Any], secrets_optional: bool) -> list[Issue]:
    wanted: list[Path] = [("config", name) for name, spec in (contract.config or {}).items() if spec.required]
    for rule in contract.rules:
        if all(_holds(payload, parse(path), value) for path, value in rule.when):
            wanted.extend(parse(p) for p in rule.require)
    found: list[Issue] = []
    for path in dict.fromkeys(wanted):
        spec = field_at(contract, path)
        if has(payload, path) or not isinstance(get(payload, path[:-1]), Mapping):
            continue  # present, or its parent is missing (and reported, when required) or not an object
        if secrets_optional and spec is not None and spec.secret:
            continue
        found.append(Issue(_order(contract, path), path, "is required"))
    return found


def _holds(payload: Mapping[str, Any], path: Path, value: Any) -> bool:
    actual = get(payload, path)
    return actual is not True if value is NOT_TRUE else bool(actual == value and type(actual) is type(value))


def _order(contract: TypeContract, path: Path) -> tuple[int, ...]:
    positions = [2]
    fields = contract.config
    for part in path[1:]:
        names = list(fields or {})
        positions.append(names.index(part) if part in names else _LAST)
        spec = (fields or {}).get(str(part))
        fields = spec.fields if spec is not None else None
    return tuple(positions)


def _value(spec: Field, value: Any, path: Path, at: tuple[int, ...]) -> list[Issue]:
    """The problem of one value (with those of its children), in declaration order."""
    problem = _problem(spec, value, path)
    if problem is not None:
        return [Issue(at, path, problem)]
    found: list[Issue] = []
    if spec.kind == "object" and spec.fields is not None:
        names = list(spec.fields)
        for position, (name, child) in enumerate(value.items()):
            if name in spec.fields:
                found.extend(_value(spec.fields[name], child, (*path, name), (*at, names.index(name))))
            else:
                found.append(Issue((*at, _LAST + position), (*path, str(name)), "is not allowed"))
    if spec.kind == "array" and spec.items is not None:
        for index, item in enumerate(value):
            found.extend(_value(spec.items, item, (*path, index), (*at, index)))
    return found


def _problem(spec: Field, value: Any, path: Path) -> str | None:
    if spec.kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number"
        if isinstance(value, float) and not value.is_integer():
            return "must be an integer"
        if value < 1:
            return "must be greater than or equal to 1"
        if spec.maximum is not None and value > spec.maximum:
            return f"must be less than or equal to {spec.maximum}"
        return None
    expected = {"string": str, "boolean": bool, "object": Mapping, "array": list}[spec.kind]
    if not isinstance(value, expected):
        return _KIND_WORDS[spec.kind]
    if not isinstance(value, str):
        return None
    if spec.choices and value not in spec.choices:
        return (
            f"must be {_choices(spec.choices)}"
            if len(spec.choices) == 1
            else f"must be one of {_choices(spec.choices)}"
        )
    if not value:
        return "is not allowed to be empty"
    if spec.pattern is not None and re.search(spec.pattern, value) is None:
        shown = "" if spec.secret else f" with value {json.dumps(value)}"
        return f"{shown} fails to match the required pattern: /{spec.pattern}/".lstrip()
    return None
