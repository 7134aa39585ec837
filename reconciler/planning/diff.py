"""Field-by-field comparison of one desired integration with what Immuta reports.

What is compared is what settles: the desired payload with schema defaults against the reported payload,
both without secrets (Immuta never returns them), without values whose reference could not be read here,
without `lifecycle.ignoreChanges` paths, and without fields the schema does not know (a newer Immuta may
report fields this version has never heard of, at any level; they must never cause a change).

Once secrets and unknown fields are out, both sides are plain JSON values, so a small structural walk
itemises the differences: numbers compare by value (443 == 443.0), booleans only equal booleans, key order
never matters, and a list that differs is shown whole (old list → new list). It does what DeepDiff did here
(tests/test_diff.py checks it against DeepDiff) without DeepDiff's per-call and import costs, which were
most of the time of a 1,000-integration plan.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, Literal

from reconciler.desired import DesiredIntegration
from reconciler.model import Path, SourceLocation
from reconciler.secrets import Secret, Unresolved
from reconciler.validation.schema import TypeSchema, delete_path, get_path

Kind = Literal["changed", "added", "removed"]


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: Path
    kind: Kind
    old: Any  # as Immuta reports it (None when added)
    new: Any  # as the file asks (None when removed)
    immutable: bool
    location: SourceLocation | None  # where the file asks for the new value


@dataclass(frozen=True, slots=True)
class Comparison:
    fields: tuple[FieldChange, ...]
    ignored: int  # differences skipped because of lifecycle.ignoreChanges
    not_compared: tuple[Path, ...]  # secrets and values from unreadable references

    @property
    def needs_replace(self) -> bool:
        return any(change.immutable for change in self.fields)


def compare(desired: DesiredIntegration, actual_payload: dict[str, Any]) -> Comparison:
    schema = desired.type_schema
    taken: list[Path] = []
    shape = _shape_of(schema)
    wanted = _comparable(desired.payload, shape, (), taken)
    reported = _comparable(actual_payload, shape, (), None)
    for path in taken:
        delete_path(reported, path)
    ignored_count = 0
    for path in desired.lifecycle.ignore_changes:
        if not same(get_path(wanted, path), get_path(reported, path)):
            ignored_count += 1
        delete_path(wanted, path)
        delete_path(reported, path)
    # Most integrations are unchanged: identical canonical JSON (the C encoder) proves it without a walk. Only
    # when the texts differ does the walk decide, with the plan's own idea of equality (443 == 443.0).
    unchanged = _canonical(wanted) == _canonical(reported)
    changes = [
        _field_change(desired, schema, path, kind, reported, wanted)
        for path, kind in ([] if unchanged else differences(reported, wanted))
    ]
    return Comparison(
        tuple(sorted(changes, key=_order)),
        ignored_count,
        tuple(sorted(set(taken), key=_order_path)),
    )


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)


def same(old: Any, new: Any) -> bool:
    """JSON equality as the plan means it: numbers by value (443 == 443.0), booleans only equal booleans,
    dict key order irrelevant, list order relevant."""
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    if isinstance(old, int | float) and isinstance(new, int | float):
        return old == new
    if isinstance(old, dict):
        return isinstance(new, dict) and old.keys() == new.keys() and all(same(old[k], new[k]) for k in old)
    if isinstance(old, list):
        return isinstance(new, list) and len(old) == len(new) and all(map(same, old, new))
    return type(old) is type(new) and bool(old == new)


def _order_path(path: Path) -> tuple[str, ...]:
    return tuple(str(p) for p in path)


def _order(change: FieldChange) -> tuple[str, ...]:
    return _order_path(change.path)


_REMOVED: Any = object()
_CONTAINERS = (dict, list, Secret, Unresolved)


def _comparable(value: Any, shape: _Shape, path: Path, taken: list[Path] | None) -> Any:
    """A fresh copy holding only what can be compared: no field the schema does not know, no secret, and —
    on the desired side (`taken` given) — no value from an unreadable reference; what the desired side
    leaves out is recorded in `taken`, so the reported side drops it too. `_REMOVED` when nothing is left."""
    if isinstance(value, Secret | Unresolved):
        if taken is not None:
            taken.append(path)
        return _REMOVED
    if isinstance(value, dict):
        declared, known = shape.declared, shape.children
        kept: dict[str, Any] = {}
        for name, child in value.items():
            if declared is not None and name not in declared:
                continue  # unknown to this version: never compared
            inner = known.get(name) or shape.child(name)
            if inner.secret:
                if taken is not None:
                    taken.append((*path, name))
                continue
            if not isinstance(child, _CONTAINERS):
                kept[name] = child  # str, int, float, bool, None: immutable, shared safely
                continue
            result = _comparable(child, inner, (*path, name), taken)
            if result is not _REMOVED:
                kept[name] = result
        return kept
    if isinstance(value, list):
        found: list[Path] = []
        item_shape = shape.child(0)
        items = [_comparable(item, item_shape, (*path, index), found) for index, item in enumerate(value)]
        if any(item is _REMOVED for item in items):
            # A list reads as a whole: one value that cannot be compared makes the whole list so.
            if taken is not None:
                taken.append(path)
            return _REMOVED
        if taken is not None:
            taken.extend(found)
        return items
    return value


class _Shape:
    """What the schema says about one field path (list indexes collapsed: every item has the items'
    schema): the names it declares (None: an open object, or a path the schema does not describe) and
    whether it is a secret. Built lazily and kept: schemas are loaded once per process."""

    __slots__ = ("children", "declared", "path", "schema", "secret")

    def __init__(self, schema: TypeSchema, path: Path) -> None:
        node = schema.field(path)
        names = schema.properties(node) if node is not None else None
        self.schema = schema
        self.path = path
        self.declared = frozenset(names) if names is not None else None
        self.secret = bool(path) and schema.is_secret(path)
        self.children: dict[str | int, _Shape] = {}

    def child(self, part: str | int) -> _Shape:
        key = 0 if isinstance(part, int) else part
        found = self.children.get(key)
        if found is None:
            found = self.children[key] = _Shape(self.schema, (*self.path, key))
        return found


@functools.cache
def _shape_of(schema: TypeSchema) -> _Shape:
    return _Shape(schema, ())


def differences(old: Any, new: Any, path: Path = ()) -> list[tuple[Path, Kind]]:
    """Where two JSON values differ, as `same` judges: a key only one side has is added or removed as a
    whole, objects on both sides are walked, and anything else (a list, a scalar, a type change) is changed
    as a whole where it differs. Unordered: `compare` sorts."""
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[tuple[Path, Kind]] = []
        for name in old.keys() | new.keys():
            if name not in new:
                found.append(((*path, name), "removed"))
            elif name not in old:
                found.append(((*path, name), "added"))
            else:
                found.extend(differences(old[name], new[name], (*path, name)))
        return found
    return [] if same(old, new) else [(path, "changed")]


def _field_change(
    desired: DesiredIntegration,
    schema: TypeSchema,
    path: Path,
    kind: Kind,
    reported: dict[str, Any],
    wanted: dict[str, Any],
) -> FieldChange:
    location = desired.location(path) if kind != "removed" and _written(desired, path) else None
    return FieldChange(
        path=path,
        kind=kind,
        old=None if kind == "added" else get_path(reported, path),  # `reported` is this comparison's own copy
        new=None if kind == "removed" else get_path(wanted, path),
        immutable=schema.is_immutable(path),
        location=location,
    )


def _written(desired: DesiredIntegration, path: Path) -> bool:
    """Whether the file itself names this path (a value from a schema default has no line of its own)."""
    return path in desired.source.locations
