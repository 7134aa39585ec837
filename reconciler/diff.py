"""Field-by-field comparison of one desired integration with what Immuta reports. The only module that
imports deepdiff.

What is compared is what settles: the desired payload with schema defaults against the reported payload,
both without secrets (Immuta never returns them), without values whose reference could not be read here,
without `lifecycle.ignoreChanges` paths, and without fields the schema does not know (a newer Immuta may
report fields this version has never heard of; they must never cause a change).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

from deepdiff import DeepDiff

from reconciler.desired import DesiredIntegration
from reconciler.model import Path, SourceLocation
from reconciler.schema import TypeSchema, delete_path, get_path
from reconciler.secrets import Secret, Unresolved


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: Path
    kind: Literal["changed", "added", "removed"]
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
    wanted, not_compared = _comparable_desired(desired.payload, schema)
    reported = schema.drop_unknown(actual_payload)
    _drop_paths(reported, schema.secret_paths)
    ignored_count = 0
    for path in desired.lifecycle.ignore_changes:
        if get_path(wanted, path) != get_path(reported, path):
            ignored_count += 1
        delete_path(wanted, path)
        delete_path(reported, path)
    for path in not_compared:
        delete_path(reported, path)
    changes = [
        _field_change(desired, schema, path, kind, reported, wanted) for path, kind in _differences(reported, wanted)
    ]
    unique = {c.path: c for c in changes}
    return Comparison(
        tuple(sorted(unique.values(), key=_order)),
        ignored_count,
        tuple(sorted(not_compared, key=_order_path)),
    )


def _order_path(path: Path) -> tuple[str, ...]:
    return tuple(str(p) for p in path)


def _order(change: FieldChange) -> tuple[str, ...]:
    return _order_path(change.path)


def _comparable_desired(payload: dict[str, Any], schema: TypeSchema) -> tuple[dict[str, Any], list[Path]]:
    """The desired payload without secrets and unknown values, and the paths that were taken out."""
    taken: list[Path] = []

    def strip(value: Any, path: Path) -> Any:
        if isinstance(value, Secret | Unresolved) or (path and schema.is_secret(path)):
            taken.append(path)
            return _REMOVED
        if isinstance(value, dict):
            kept = {k: strip(v, (*path, k)) for k, v in value.items()}
            return {k: v for k, v in kept.items() if v is not _REMOVED}
        if isinstance(value, list):
            return [strip(v, (*path, i)) for i, v in enumerate(value)]
        return copy.deepcopy(value)

    result = strip(payload, ())
    return schema.drop_unknown(result), taken


_REMOVED = object()


def _drop_paths(value: dict[str, Any], paths: frozenset[Path]) -> None:
    for path in paths:
        delete_path(value, path)


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[Path, Literal["changed", "added", "removed"]]]:
    diff = DeepDiff(old, new, ignore_order=False, ignore_numeric_type_changes=True, view="tree")
    found: list[tuple[Path, Literal["changed", "added", "removed"]]] = []
    for report_type, items in diff.items():
        for item in items:
            path: Path = tuple(item.path(output_format="list"))
            list_at = _first_list(old, new, path)
            if list_at is not None:  # a list reads best as a whole: old list → new list
                found.append((list_at, "changed"))
            elif report_type.endswith("_added"):
                found.append((path, "added"))
            elif report_type.endswith("_removed"):
                found.append((path, "removed"))
            else:
                found.append((path, "changed"))
    return found


def _first_list(old: Any, new: Any, path: Path) -> Path | None:
    for end in range(len(path)):
        prefix = path[:end]
        if isinstance(get_path(old, prefix), list) or isinstance(get_path(new, prefix), list):
            return prefix
    return None


def _field_change(
    desired: DesiredIntegration,
    schema: TypeSchema,
    path: Path,
    kind: Literal["changed", "added", "removed"],
    reported: dict[str, Any],
    wanted: dict[str, Any],
) -> FieldChange:
    location = desired.location(path) if kind != "removed" and _written(desired, path) else None
    return FieldChange(
        path=path,
        kind=kind,
        old=None if kind == "added" else copy.deepcopy(get_path(reported, path)),
        new=None if kind == "removed" else copy.deepcopy(get_path(wanted, path)),
        immutable=schema.is_immutable(path),
        location=location,
    )


def _written(desired: DesiredIntegration, path: Path) -> bool:
    """Whether the file itself names this path (a value from a schema default has no line of its own)."""
    return path in desired.source.locations
