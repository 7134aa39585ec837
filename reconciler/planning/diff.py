"""Field-by-field comparison of one desired integration with what Immuta reports.

A stateless tool sees only the file and what Immuta reports, and which defaults a tenant echoes, whether it
masks secrets and whether its PUT merges are unknown (docs/immuta-api.md §8). So what is compared follows five rules,
the same in plan, drift and verify (docs/comparison.md):

1. a field the file writes and Immuta reports is compared;
2. a field the file writes that Immuta does not report is treated like a write-only field: never compared,
   listed in `not_compared`, and sent on every create and update;
3. a field the file does not write but Immuta reports is compared with the schema's default when it has one
   and the field is mutable — so deleting a line puts Immuta back to the default — and the request then
   carries that default explicitly (`Comparison.carried`), so a merging PUT converges too; otherwise the
   value is Immuta's and is not compared — except a setting only a user makes [A18], which is "removed";
4. a field nobody writes and Immuta does not report is nothing;
5. a replace only comes from an immutable field the file writes and Immuta reports differently: a default
   alone never causes a replace or a delete.

Secrets (whatever Immuta answers for them: nothing, a mask, the value), values whose reference cannot be read
here, `lifecycle.ignoreChanges` paths and fields the schemas do not know (a newer Immuta's) are never
compared. Rules apply at the leaves: an object on both sides is walked; a list, a scalar or a change of type
is one value. Numbers compare by value (443 == 443.0), booleans only equal booleans, key order never matters
(tests/test_diff.py checks `differences` against DeepDiff).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal

from reconciler.desired import DesiredIntegration
from reconciler.model import Json, Path, SourceLocation, normalised
from reconciler.secrets import Secret, Unresolved
from reconciler.shown import shown_at
from reconciler.validation.schema import TypeSchema
from reconciler.walk import same  # JSON equality: 443 == 443.0, true != 1

Kind = Literal["changed", "added", "removed"]


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: Path
    kind: Kind
    old: Json  # as Immuta reports it (None when added), as outputs may show it (reconciler/shown.py)
    new: Json  # as the file asks, or the schema default (None when removed), likewise
    immutable: bool
    location: SourceLocation | None  # where the file asks for the new value; None: the schema default


@dataclass(frozen=True, slots=True)
class Comparison:
    fields: tuple[FieldChange, ...]
    ignored: int  # differences skipped because of lifecycle.ignoreChanges
    not_compared: tuple[Path, ...]  # secrets, unreadable references, fields Immuta does not report (rule 2)
    carried: tuple[tuple[Path, Json], ...] = ()  # rule 3: defaults a request sends for fields Immuta reports

    @property
    def needs_replace(self) -> bool:
        return any(change.immutable for change in self.fields)


_MISSING: Any = object()
_SCALARS = frozenset({str, int, float, bool, type(None)})  # exact types: Secret and Unresolved are not among them


def compare(desired: DesiredIntegration, actual_payload: dict[str, Json]) -> Comparison:
    walk = _Walk(desired)
    walk.node(desired.body, actual_payload, _shape_of(desired.type_schema), ())
    ignore = desired.lifecycle.ignore_changes
    fields = [c for c in walk.changes if not desired.lifecycle.ignores(c.path)]
    ignored = sum(1 for path in ignore if any(_under(c.path, path) for c in walk.changes))
    return Comparison(
        tuple(sorted(fields, key=_order)),
        ignored,
        tuple(sorted({p for p in walk.not_compared if not desired.lifecycle.ignores(p)}, key=_order_path)),
        tuple(sorted(((p, v) for p, v in walk.carried if not desired.lifecycle.ignores(p)), key=_carried_order)),
    )


class _Walk:
    """One comparison's walk over the written payload and the reported one, side by side."""

    def __init__(self, desired: DesiredIntegration) -> None:
        self.desired = desired
        self.changes: list[FieldChange] = []
        self.not_compared: list[Path] = []
        self.carried: list[tuple[Path, Json]] = []

    def node(self, written: dict[str, Json], reported: Json, shape: _Shape, path: Path) -> None:
        """Both sides of an object the schema describes: each declared field, by the five rules."""
        reported_fields = reported if isinstance(reported, dict) else {}
        declared = shape.declared
        # Any order: compare() sorts what it reports.
        for name in written.keys() | reported_fields.keys():
            if declared is not None and name not in declared:
                continue  # unknown to this version: never compared, never sent back
            inner = shape.child(name)
            mine = written.get(name, _MISSING)
            theirs = reported_fields.get(name, _MISSING)
            if inner.secret:
                if mine is not _MISSING:
                    self.not_compared.append((*path, name))
                continue
            kind = type(mine)
            if kind is type(theirs) and kind in _SCALARS and mine == theirs:
                continue  # the common case, equal on both sides: rule 1 without building anything
            here = (*path, name)
            if mine is _MISSING:
                self.unwritten(theirs, inner, here)
            elif theirs is _MISSING:
                self.not_compared.append(here)  # rule 2: sent, never compared
            elif isinstance(mine, dict) and isinstance(theirs, dict) and inner.declared is not None:
                self.node(mine, theirs, inner, here)
            else:
                self.leaf(mine, theirs, inner, here)

    def leaf(self, mine: Json, theirs: Json, shape: _Shape, path: Path) -> None:
        """Rule 1: written and reported, compared as one value (a list is read as a whole)."""
        wanted = _comparable(mine, shape)
        if wanted is _MISSING:
            self.not_compared.append(path)  # a secret where the schema expects none
            return
        current = _comparable(theirs, shape)
        if not same(current, wanted) and not shape.same_key(current, wanted):
            location = self.desired.location(path) if path in self.desired.source.locations else None
            old, new = shown_at(shape.schema, path, current), shown_at(shape.schema, path, wanted)  # what outputs hold
            self.changes.append(FieldChange(path, "changed", old, new, shape.immutable, location))

    def unwritten(self, theirs: Json, shape: _Shape, path: Path) -> None:
        """Rules 3 and 4: a field only Immuta reports is held to the schema default, if mutable and it has one."""
        if theirs is _MISSING or shape.immutable:
            return
        if isinstance(theirs, dict) and shape.declared is not None:
            self.node({}, theirs, shape, path)  # leaf by leaf: each field's own (or inherited) default
            return
        if shape.default is _MISSING:
            if shape.user_only:  # A18: written before and no longer: planned as removed
                self.changes.append(FieldChange(path, "removed", _comparable(theirs, shape), None, False, None))
            return
        self.carried.append((path, shape.default))
        current = _comparable(theirs, shape)
        if not same(current, shape.default):
            old, new = shown_at(shape.schema, path, current), shown_at(shape.schema, path, shape.default)
            self.changes.append(FieldChange(path, "changed", old, new, False, None))


def _under(path: Path, prefix: Path) -> bool:
    return path[: len(prefix)] == prefix


def _order_path(path: Path) -> tuple[str, ...]:
    return tuple(str(p) for p in path)


def _order(change: FieldChange) -> tuple[str, ...]:
    return _order_path(change.path)


def _carried_order(item: tuple[Path, Json]) -> tuple[str, ...]:
    return _order_path(item[0])


def _comparable(value: Json, shape: _Shape) -> Any:  # Any: a Json value, or _MISSING
    """A copy of one value holding only what can be compared: no field the schema does not know and no
    secret inside it; `_MISSING` when it holds a secret (then the whole value, a list included, is not
    compared)."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, Secret | Unresolved):
        # Only where the schema expects no secret (a literal, --allow-…): the references gate lets no other
        # reference than a secret's reach the plan.
        return _MISSING
    if isinstance(value, dict):
        declared = shape.declared
        kept: dict[str, Json] = {}
        for name, child in value.items():
            if declared is not None and name not in declared:
                continue
            inner = shape.child(name)
            if inner.secret:
                continue
            result = _comparable(child, inner)
            if result is _MISSING:
                return _MISSING
            kept[name] = result
        return kept
    if isinstance(value, list):
        if all(type(item) in _SCALARS for item in value):  # a list of names, say: nothing to leave out
            return list(value)
        item_shape = shape.child(0)
        items = [_comparable(item, item_shape) for item in value]
        return _MISSING if any(item is _MISSING for item in items) else items
    return value


class _Shape:
    """What the schema says about one field path (list indexes collapsed: every item has the items'
    schema): the names it declares (None: an open object, or a path the schema does not describe), whether
    it is a secret or immutable, and its default (from its own schema, or from an enclosing object's
    default). Built lazily and kept: schemas are loaded once per process."""

    __slots__ = ("children", "declared", "default", "immutable", "key_rule", "path", "schema", "secret", "user_only")

    def __init__(self, schema: TypeSchema, path: Path, inherited: Any = _MISSING) -> None:
        node = schema.field(path)
        names = schema.properties(node) if node is not None else None
        self.schema = schema
        self.path = path
        self.declared = frozenset(names) if names is not None else None
        self.secret = bool(path) and schema.is_secret(path)
        self.immutable = bool(path) and schema.is_immutable(path)
        own = node.get("default", _MISSING) if node is not None else _MISSING
        self.default = own if own is not _MISSING else inherited
        self.key_rule = schema.rules.key_compare.get(str(path[-1])) if path in schema.natural_key else None
        self.children: dict[str | int, _Shape] = {}
        self.user_only = any(path[: len(p)] == p for p in schema.rules.user_only)  # x-user-only [A18]

    def same_key(self, old: Json, new: Json) -> bool:
        """A natural-key field compares as the platform compares it [A17]: a host name in any letter case."""
        if self.key_rule is None or not isinstance(old, str) or not isinstance(new, str):
            return False
        return normalised(old, self.key_rule) == normalised(new, self.key_rule)

    def child(self, part: str | int) -> _Shape:
        key = 0 if isinstance(part, int) else part
        found = self.children.get(key)
        if found is None:
            inherited = self.default.get(key, _MISSING) if isinstance(self.default, dict) else _MISSING
            found = self.children[key] = _Shape(self.schema, (*self.path, key), inherited)
        return found


@functools.cache
def _shape_of(schema: TypeSchema) -> _Shape:
    return _Shape(schema, ())


def differences(old: Json, new: Json, path: Path = ()) -> list[tuple[Path, Kind]]:
    """Where two JSON values differ, as `same` judges: a key only one side has is added or removed as a
    whole, objects on both sides are walked, and anything else (a list, a scalar, a type change) is changed
    as a whole where it differs. Unordered."""
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
