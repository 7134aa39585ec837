"""A saved plan read back for `reconciler show`: the plan renderers' input, without files or Immuta.

A saved plan is the plan's JSON document (`plan --format json`) plus what apply needs (`SAVED_ONLY`), so
its JSON is shown as stored, and the text and Markdown renderers get a Plan rebuilt from it: every value
they print is in the document, already masked. What is not (the file's and Immuta's payloads as objects,
the column of a value) no renderer of those two needs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.errors import InputError, Problem
from reconciler.model import IntegrationKey, SourceLocation, parse_dotted
from reconciler.planning.diff import FieldChange
from reconciler.planning.plan import Action, Change, Plan
from reconciler.planning.savedplan import SAVED_ONLY, SavedPlan


@dataclass(frozen=True, slots=True)
class RecordedPlan(Plan):
    """A plan as it was saved: its checksum is the one recorded, the one apply FILE checks against."""

    recorded_checksum: str = ""

    @property
    def checksum(self) -> str:
        return self.recorded_checksum


def plan_document(saved: SavedPlan) -> dict[str, Any]:
    """The plan's own JSON document, in its order: the saved plan without what only apply reads."""
    return {name: value for name, value in saved.document.items() if name not in SAVED_ONLY}


def render_json(saved: SavedPlan) -> str:
    """As `plan --format json` printed it (reconciler.render.plan_json.render)."""
    return json.dumps(plan_document(saved), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def recorded_plan(saved: SavedPlan) -> Plan:
    """Raises InputError naming the file when the document is not the plan it claims to be."""
    document = saved.document
    try:
        return RecordedPlan(
            changes=tuple(_change(c) for c in document["changes"]),
            target=str(document["target"]),
            prune=bool(document["prune"]),
            desired_digest=str(document["desired_digest"]),
            schema_version=str(document["schema_version"]),
            tool_version=str(document["tool_version"]),
            notes=tuple(str(note) for note in document.get("notes", [])),
            refused=tuple(str(reason) for reason in document.get("refused", [])),
            recorded_checksum=saved.checksum,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise InputError([Problem(None, "", f"{saved.file}: the saved plan is damaged ({detail})")]) from None


def _change(change: Mapping[str, Any]) -> Change:
    key = IntegrationKey.of(str(change["type"]), dict(change["natural_key"]).items())
    if str(key) != change["key"]:
        raise ValueError(f"{change['key']} does not match its natural key")
    return Change(
        action=Action(change["action"]),
        key=key,
        type=str(change["type"]),
        file=change["file"],
        line=change["line"],
        actual_id=change["id"],
        actual_status=change["status"],
        fields=tuple(_field(f) for f in change["fields"]),
        reason=change["reason"] or "",
        ignored=int(change["ignored_differences"]),
        not_compared=tuple(parse_dotted(p) for p in change["not_compared"]),
        actual_fingerprint=change["actual_fingerprint"],
        desired_digest=change["desired_digest"],
        # Only `needs_setup_script` reads it: false exactly when a DBA runs the setup script first.
        auto_bootstrap=False if change["needs_setup_script"] else None,
        missing_credentials=tuple(str(name) for name in change.get("missing_credentials", [])),
    )


def _field(field: Mapping[str, Any]) -> FieldChange:
    # The column of a value is not recorded; the renderers show only file and line.
    location = SourceLocation(str(field["file"]), int(field["line"]), 0) if field["file"] else None
    return FieldChange(
        path=parse_dotted(str(field["path"])),
        kind=field["kind"],
        old=field["old"],
        new=field["new"],
        immutable=bool(field["immutable"]),
        location=location,
    )
