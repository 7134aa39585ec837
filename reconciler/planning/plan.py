"""The plan is a value: the changes that turn the actual state into the desired one, in a stable order.
`plan` renders it, `apply` consumes it, `--out` saves it. Nothing here talks to the API or prints.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.actual import ActualIntegration, ActualState
from reconciler.desired import DesiredIntegration, DesiredState
from reconciler.model import IntegrationKey, Path
from reconciler.planning import credentials, protection
from reconciler.planning.diff import FieldChange, compare
from reconciler.statuses import Health, describe, health

PLAN_FORMAT_VERSION = 2  # 2: every change carries `before` and `after` payloads


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    ORPHAN = "orphan"  # in Immuta, no file, not pruned: shown, never touched
    NOOP = "no-op"


WRITES = (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE)


@dataclass(frozen=True, slots=True)
class Change:
    action: Action
    key: IntegrationKey
    type: str
    file: str | None = None
    line: int | None = None
    actual_id: str | None = None
    actual_status: str | None = None
    fields: tuple[FieldChange, ...] = ()
    reason: str = ""
    ignored: int = 0
    not_compared: tuple[Path, ...] = ()
    carried: tuple[tuple[Path, Any], ...] = ()  # defaults an update sends for fields Immuta reports (diff rule 3)
    actual_fingerprint: str | None = None  # what Immuta reported when the plan was made
    desired_digest: str | None = None  # what the file asked for when the plan was made
    auto_bootstrap: bool | None = None
    # Fields Immuta's DELETE needs that the file does not give (planning.credentials): refused before any write.
    missing_credentials: tuple[str, ...] = ()
    # What protects the integration this change would delete beyond its own file (planning.protection): a
    # file on the base revision, or a file whose lifecycle.previously names it. The gate refuses a destroy.
    protected_by: str | None = None
    orphan_rename: str | None = None  # a `previously` renaming what no base file declared: --prune only (gate)
    desired: DesiredIntegration | None = field(default=None, repr=False, compare=False)
    actual: ActualIntegration | None = field(default=None, repr=False, compare=False)

    @property
    def is_write(self) -> bool:
        return self.action in WRITES

    @property
    def needs_setup_script(self) -> bool:
        """A create of a manually bootstrapped integration: the platform's DBA runs Immuta's script first."""
        return self.action in (Action.CREATE, Action.REPLACE) and self.auto_bootstrap is False

    @property
    def unhealthy(self) -> bool:
        return self.actual is not None and self.actual.unhealthy

    @property
    def status_note(self) -> str:
        """The status worth showing in a plan: none when enabled; an unknown one says that it is unknown."""
        if not self.actual_status or health(self.actual_status) is Health.HEALTHY:
            return ""
        if health(self.actual_status) is Health.UNKNOWN:
            return describe(self.actual_status)
        return self.actual_status


@dataclass(frozen=True, slots=True)
class PlanOptions:
    prune: bool = False
    # --rotate: integrations (file paths or keys) whose payload, secrets included, is sent again even though
    # nothing compared changed. Secrets are write-only, so a rotated secret can never show up as a change.
    rotate: frozenset[str] = frozenset()
    base: protection.BaseView = protection.BaseView()  # noqa: RUF009 - frozen value object


@dataclass(frozen=True, slots=True)
class Plan:
    changes: tuple[Change, ...]
    target: str
    prune: bool
    desired_digest: str
    schema_version: str
    tool_version: str
    notes: tuple[str, ...] = ()
    base: protection.BaseView = protection.BaseView()  # noqa: RUF009 - what the base revision said (saved)
    refused: tuple[str, ...] = ()  # what the delete gate refuses (planning/gate.py): `plan` shows it, exits 3

    @property
    def writes(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.is_write)

    @property
    def has_changes(self) -> bool:
        return bool(self.writes)

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action is action)

    @property
    def checksum(self) -> str:
        """Of every non-secret value the plan shows (planning/reviewed.py): what was reviewed is what runs."""
        from reconciler.render.plan_json import plan_dict  # the document the checksum reads imports this module

        return str(plan_dict(self)["checksum"])


def make_plan(
    desired: DesiredState,
    actual: ActualState,
    *,
    target: str,
    options: PlanOptions,
    schema_version: str,
    tool_version: str,
) -> Plan:
    wanted = desired.by_key()
    existing = actual.by_key()
    moves, protected = protection.moves(desired, existing, options.base)
    taken = {actual_old.key for actual_old, _ in moves.values()}
    changes = [
        _guarded(
            _renamed(wanted[key], *moves[key])
            if key in moves
            else _change_for(key, wanted.get(key), existing.get(key), options),
            protected,
        )
        for key in sorted((set(wanted) | set(existing)) - taken)
    ]
    return Plan(
        changes=tuple(_written_differently(changes)),
        target=target,
        prune=options.prune,
        desired_digest=desired.digest,
        schema_version=schema_version,
        tool_version=tool_version,
        notes=tuple(_notes(desired, actual)),
        base=options.base.relevant(desired),
    )


def _written_differently(changes: list[Change]) -> list[Change]:
    """The safety net under A17: an integration Immuta holds that no file declares, whose key equals a file's
    key but for letter case or a trailing dot, is most likely that file's integration written differently.
    It is never deleted (not even by --prune); both sides of the pair say what to change in the file."""
    creates = {c.key.loosely(): c for c in changes if c.action is Action.CREATE and c.actual is None}
    held = {
        c.key.loosely(): c
        for c in changes
        if c.desired is None and c.action in (Action.DELETE, Action.ORPHAN) and c.key.loosely() in creates
    }
    if not held:
        return changes
    paired: list[Change] = []
    for change in changes:
        loose = change.key.loosely()
        if loose not in held:
            paired.append(change)
            continue
        twin, kept = creates[loose], held[loose]
        if change is kept:
            reason = (
                f"the same integration as {twin.key} in {twin.file}, written differently? never deleted; "
                "to manage it, write its key in that file exactly as Immuta reports it"
            )
            paired.append(dataclasses.replace(change, action=Action.ORPHAN, reason=reason))
        elif change is twin:
            reason = (
                f"Immuta holds {kept.key} (id {kept.actual_id}): the same integration written differently? "
                "write the key in this file exactly as Immuta reports it"
            )
            paired.append(dataclasses.replace(change, reason=reason))
        else:
            paired.append(change)
    return paired


def _notes(desired: DesiredState, actual: ActualState) -> Iterable[str]:
    if any(d.present and d.type_schema.secret_paths for d in desired.integrations):
        yield "Secret values are write-only in Immuta and are not compared; they are sent on create and update."
    if desired.placeholders:
        yield "Sandbox: unset references were given a placeholder value: " + ", ".join(desired.placeholders)
    for integration_id, integration_type in actual.unknown_types:
        yield f"Integration {integration_id} has type {integration_type!r}, unknown to this version: left alone."


def _guarded(change: Change, protected: dict[IntegrationKey, str]) -> Change:
    """The credentials a destroy needs, and what protects what it destroys (the gate reads both)."""
    if change.action not in (Action.DELETE, Action.REPLACE):
        return change
    destroyed = change.actual.key if change.actual is not None else change.key
    return dataclasses.replace(
        change,
        missing_credentials=credentials.missing(change.actual, change.desired),
        protected_by=protected.get(destroyed),
    )


def _renamed(desired: DesiredIntegration, actual: ActualIntegration, rename: protection.Rename) -> Change:
    """What Immuta holds under the old key, replaced by the file's integration under the new one."""
    comparison = compare(desired, actual.payload)
    return Change(
        Action.REPLACE,
        reason=f"renamed from {rename.old} ({rename.source}): delete, then create",
        orphan_rename=rename.source if rename.orphan else None,
        fields=comparison.fields,
        ignored=comparison.ignored,
        not_compared=comparison.not_compared,
        **_sides(desired.key, desired, actual),
    )


def _change_for(
    key: IntegrationKey,
    desired: DesiredIntegration | None,
    actual: ActualIntegration | None,
    options: PlanOptions,
) -> Change:
    base = _sides(key, desired, actual)
    if desired is None:
        assert actual is not None
        if options.prune:
            return Change(Action.DELETE, reason="pruned: no file declares it", **base)
        return Change(Action.ORPHAN, reason="no file declares it (use --prune to delete)", **base)
    if not desired.present:
        if actual is None or actual.status == "deleting":
            return Change(Action.NOOP, reason="absent, as the tombstone asks", **base)
        return Change(Action.DELETE, reason=f"tombstone (ensure: absent) in {desired.file}", **base)
    if actual is None:
        return Change(Action.CREATE, **base)
    if actual.status == "deleting":
        return Change(Action.CREATE, reason="being deleted in Immuta; apply waits until it is gone", **base)
    comparison = compare(desired, actual.payload)
    base |= {
        "fields": comparison.fields,
        "ignored": comparison.ignored,
        "not_compared": comparison.not_compared,
        "carried": comparison.carried,
    }
    repair = "creation failed in Immuta (createError): " if actual.status == "createError" else ""  # §9.6
    if not comparison.fields and not repair:
        if _selected(desired, options.rotate) and desired.type_schema.secret_paths:
            return Change(Action.UPDATE, reason="--rotate: sends the payload again, secrets included", **base)
        return Change(Action.NOOP, **base)
    if desired.type_schema.replace_on_any_change or comparison.needs_replace:
        changed = ", ".join(".".join(map(str, f.path)) for f in comparison.fields if f.immutable)
        why = f"immutable field changed: {changed}" if changed else "no PUT for this type: delete, then create"
        return Change(Action.REPLACE, reason=repair + why, **base)
    return Change(Action.UPDATE, reason=repair + "repaired with PUT" if repair else "", **base)


def _sides(key: IntegrationKey, desired: DesiredIntegration | None, actual: ActualIntegration | None) -> dict[str, Any]:
    """A change's fields that come from the file and from what Immuta reports."""
    base: dict[str, Any] = {"key": key, "type": key.type, "desired": desired, "actual": actual}
    if desired is not None:
        location = desired.location(desired.type_schema.natural_key[0] if desired.type_schema.natural_key else ())
        base |= {
            "file": desired.file,
            "line": location.line,
            "desired_digest": desired.digest,
            "auto_bootstrap": desired.payload.get("autoBootstrap") if desired.present else None,
        }
    if actual is not None:
        base |= {
            "actual_id": actual.id,
            "actual_status": actual.status,
            "actual_fingerprint": actual.fingerprint,
        }
        if "auto_bootstrap" not in base or base["auto_bootstrap"] is None:
            base["auto_bootstrap"] = actual.payload.get("autoBootstrap")
    return base


def _selected(desired: DesiredIntegration, selectors: frozenset[str]) -> bool:
    return bool(selectors) and (str(desired.key) in selectors or os.path.normpath(desired.file) in selectors)


def unmatched_rotations(desired: DesiredState, selectors: frozenset[str]) -> list[str]:
    """--rotate values that name no integration of the files: most likely a typo, never silently ignored."""
    known = {str(d.key) for d in desired.integrations} | {os.path.normpath(d.file) for d in desired.integrations}
    return sorted(s for s in selectors if s not in known)
