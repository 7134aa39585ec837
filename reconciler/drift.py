"""Drift: what differs between Git and Immuta, classified the way a person acts on it at 7 am.

Built from the same plan `plan` shows (never pruning), so drift and plan can never disagree. A failed read
raises before anything is classified: it is an error, never "everything was deleted".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconciler.planning.plan import Action, Change, Plan
from reconciler.statuses import Health, describe, health


class DriftKind(StrEnum):
    CHANGED = "changed"  # changed outside Git: fields differ (plan update/replace)
    DELETED = "deleted"  # deleted outside Git: a file declares it, Immuta has none (plan create)
    CREATED = "created"  # created outside Git: Immuta has one, no file declares it (plan orphan)
    UNHEALTHY = "unhealthy"  # a failed or unknown status (reconciler.statuses), or failed validation tests


KIND_ORDER = (DriftKind.CHANGED, DriftKind.DELETED, DriftKind.CREATED, DriftKind.UNHEALTHY)
HEADINGS = {
    DriftKind.CHANGED: "changed outside Git",
    DriftKind.DELETED: "deleted outside Git",
    DriftKind.CREATED: "created outside Git",
    DriftKind.UNHEALTHY: "unhealthy",
}


@dataclass(frozen=True, slots=True)
class DriftItem:
    kind: DriftKind
    change: Change
    detail: str  # one line saying what was found, in the user's words
    failed_tests: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DriftReport:
    items: tuple[DriftItem, ...]
    target: str
    checked: int  # integrations compared (files and Immuta together)
    notes: tuple[str, ...] = ()

    @property
    def has_drift(self) -> bool:
        return bool(self.items)

    def of_kind(self, kind: DriftKind) -> tuple[DriftItem, ...]:
        return tuple(item for item in self.items if item.kind is kind)

    def counts(self) -> dict[str, int]:
        return {kind.value: len(self.of_kind(kind)) for kind in KIND_ORDER}


def detect(plan: Plan) -> DriftReport:
    """Classify every change of a non-pruning plan; a change can be both changed and unhealthy."""
    items: list[DriftItem] = []
    for change in plan.changes:
        items.extend(_classify(change))
    order = {kind: index for index, kind in enumerate(KIND_ORDER)}
    items.sort(key=lambda item: (order[item.kind], item.change.key, item.change.actual_id or ""))
    return DriftReport(tuple(items), plan.target, len(plan.changes), plan.notes)


def _classify(change: Change) -> list[DriftItem]:
    found: list[DriftItem] = []
    if change.action in (Action.UPDATE, Action.REPLACE) and change.fields:
        names = ", ".join(".".join(map(str, f.path)) for f in change.fields)
        found.append(DriftItem(DriftKind.CHANGED, change, f"{len(change.fields)} field(s) differ: {names}"))
    elif change.action is Action.CREATE:
        if change.actual is None:
            detail = f"declared in {change.file} but Immuta has no such integration"
        else:
            detail = f"declared in {change.file} but being deleted in Immuta (status {change.actual_status})"
        found.append(DriftItem(DriftKind.DELETED, change, detail))
    elif change.action is Action.ORPHAN:
        found.append(DriftItem(DriftKind.CREATED, change, change.reason or "no file declares it"))
    elif change.action is Action.DELETE:  # a tombstone whose integration exists again
        found.append(DriftItem(DriftKind.CREATED, change, f"exists although {change.file} says ensure: absent"))
    if change.unhealthy and change.actual is not None:
        failed = failed_tests(change.actual.validation)
        parts = []
        if health(change.actual.status) in (Health.FAILED, Health.UNKNOWN):
            parts.append(f"status {describe(change.actual.status)}")
        if failed:
            parts.append("failed validation tests: " + ", ".join(failed))
        elif _validation_failed(change.actual.validation):
            parts.append("validation failed")
        found.append(DriftItem(DriftKind.UNHEALTHY, change, "; ".join(parts), failed))
    return found


def _validation_failed(validation: Mapping[str, Any] | None) -> bool:
    return isinstance(validation, Mapping) and validation.get("status") == "failed"


def failed_tests(validation: Mapping[str, Any] | None) -> tuple[str, ...]:
    if not isinstance(validation, Mapping):
        return ()
    tests = validation.get("validationTests")
    if not isinstance(tests, list):
        return ()
    return tuple(
        str(test.get("name", "?")) for test in tests if isinstance(test, Mapping) and test.get("status") == "failed"
    )
