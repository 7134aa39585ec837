"""The project's own schema keywords: every rule that differs by integration type, read from the type's schema.

A type is its schema file: adding one needs no table in the code. Each keyword is read here, checked, and
given its meaning where it is missing (the default a reader of the schema would expect):

- `x-naturalKey` [A9]: dotted paths of the fields that identify an integration.
- `x-immutable` [A13]: fields a PUT cannot change (`*`: none can; any change is a replace).
- `x-unique`: fields whose value must differ across the integrations of the type.
- `x-key-compare` [A17]: per natural-key field, `host` (a host name: any letter case, a final dot) or `exact`
  (the default).
- `x-delete-credentials` [A16]: `fields`, the config fields a DELETE of a bootstrapped integration sends
  when the file has them, and `requiredBy`, per authenticationType, those without which Immuta answers 400
  (the first entry for an unknown method). Absent: DELETE takes no body.
- `x-user-only` [A18]: fields only a user sets (no default, never filled in by Immuta): one Immuta reports and
  the file no longer writes is planned as removed.
- `x-one-per`: `{field, message}`: Immuta allows one integration per value of that field (a part of the
  natural key), and says `message` of a second.
- `x-setup-script`: the optional script stages the type has (`initial-create`, `post-cleanup`); every type has
  the create, edit, delete and cleanup scripts.
- `x-warnings`: see schema.py.

The entry schema's dispatch on `type` is written here too, from the entry's list of types: one rule per type,
its schema (or its tombstone for `ensure: absent`) and the fields its `lifecycle.previously` may name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.assumptions import (
    A9_NATURAL_KEY_KEYWORD,
    A13_IMMUTABLE_KEYWORD,
    A16_DELETE_CREDENTIALS_KEYWORD,
    A17_EXACT,
    A17_HOST,
    A17_KEY_COMPARE_KEYWORD,
    A18_USER_ONLY_KEYWORD,
)
from reconciler.model import Path, parse_dotted

UNIQUE_KEYWORD = "x-unique"
SETUP_SCRIPT_KEYWORD = "x-setup-script"
ONE_PER_KEYWORD = "x-one-per"
SETUP_SCRIPT_STAGES = frozenset({"initial-create", "post-cleanup"})
ALL_FIELDS = "*"


@dataclass(frozen=True, slots=True)
class TypeRules:
    natural_key: tuple[Path, ...]
    immutable: frozenset[Path]
    replace_on_any_change: bool
    unique: tuple[Path, ...]
    key_compare: Mapping[str, str]  # natural-key part name → A17_HOST or A17_EXACT
    delete_credentials: tuple[str, ...]  # config fields a DELETE sends when given
    delete_required: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # authenticationType → fields
    setup_scripts: frozenset[str] = frozenset()
    user_only: tuple[Path, ...] = ()
    one_per: tuple[Path, str] | None = None  # the field, and why a second integration with its value fails


def read_rules(name: str, root: Mapping[str, Any]) -> TypeRules:
    """The rules of type `name` from its schema; a keyword that says something unknown is a ValueError."""
    natural_key = tuple(parse_dotted(p) for p in root.get(A9_NATURAL_KEY_KEYWORD, []))
    immutable = root.get(A13_IMMUTABLE_KEYWORD, [])
    compare: dict[str, str] = {}
    for dotted, rule in root.get(A17_KEY_COMPARE_KEYWORD, {}).items():
        if parse_dotted(dotted) not in natural_key or rule not in (A17_HOST, A17_EXACT):
            raise ValueError(f"{name}: {A17_KEY_COMPARE_KEYWORD} {dotted!r}: {rule!r} is not a natural-key rule")
        compare[str(parse_dotted(dotted)[-1])] = rule
    credentials = root.get(A16_DELETE_CREDENTIALS_KEYWORD, {})
    fields = tuple(credentials.get("fields", []))
    required = {method: tuple(names) for method, names in credentials.get("requiredBy", {}).items()}
    if any(not set(names) <= set(fields) for names in required.values()):
        raise ValueError(f"{name}: {A16_DELETE_CREDENTIALS_KEYWORD}: requiredBy names a field not in fields")
    stages = frozenset(root.get(SETUP_SCRIPT_KEYWORD, []))
    if not stages <= SETUP_SCRIPT_STAGES:
        raise ValueError(f"{name}: {SETUP_SCRIPT_KEYWORD}: unknown stage(s) {sorted(stages - SETUP_SCRIPT_STAGES)}")
    return TypeRules(
        natural_key=natural_key,
        immutable=frozenset(parse_dotted(p) for p in immutable if p != ALL_FIELDS),
        replace_on_any_change=ALL_FIELDS in immutable,
        unique=tuple(parse_dotted(p) for p in root.get(UNIQUE_KEYWORD, [])),
        key_compare=compare,
        delete_credentials=fields,
        delete_required=required,
        setup_scripts=stages,
        user_only=tuple(parse_dotted(p) for p in root.get(A18_USER_ONLY_KEYWORD, [])),
        one_per=_one_per(name, root.get(ONE_PER_KEYWORD), natural_key),
    )


def _one_per(name: str, rule: Any, natural_key: tuple[Path, ...]) -> tuple[Path, str] | None:
    if rule is None:
        return None
    path = parse_dotted(rule["field"])
    if path not in natural_key or not rule.get("message"):
        raise ValueError(f"{name}: {ONE_PER_KEYWORD}: {rule['field']!r} is not a natural-key field with a message")
    return path, str(rule["message"])


def dispatch(type_names: list[str], files: Mapping[str, str], rules: Mapping[str, TypeRules]) -> list[Any]:
    """The entry schema's `allOf`: per type (`files`: its schema's file name), its schema or, for a file with
    `ensure: absent`, its tombstone; and the natural-key fields `lifecycle.previously` may name."""
    checks: list[Any] = []
    previously: list[Any] = []
    for name in type_names:
        when = {"properties": {"type": {"const": name}}, "required": ["type"]}
        absent = {"properties": {"ensure": {"const": "absent"}}, "required": ["ensure"]}
        tombstone, schema = {"$ref": files[name] + "#/$defs/tombstone"}, {"$ref": files[name]}
        checks.append({"if": when, "then": {"if": absent, "then": tombstone, "else": schema}})
        parts = [str(path[-1]) for path in rules[name].natural_key if path != ("type",)]
        renames: dict[str, Any] = {"properties": {part: {} for part in parts}, "additionalProperties": False}
        if not parts:
            renames = {"not": {}, "$comment": f"{name}'s key is its type alone: there is nothing to rename"}
        lifecycle = {"lifecycle": {"properties": {"previously": renames}}}
        previously.append({"if": when, "then": {"properties": lifecycle}})
    return checks + previously
