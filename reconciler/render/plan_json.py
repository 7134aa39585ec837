"""The plan as a stable, versioned JSON document: for scripts, policy tools, and the body of a saved plan.

`format_version` changes only when a field is removed or changes meaning; new fields may be added. Every
change carries the integration's payload `before` (as Immuta reports it) and `after` (what it will hold once
applied, schema defaults filled in), as Terraform's `resource_changes` do, so that a policy (conftest/OPA,
or a few lines of Python) can judge what a plan creates without reading the files. Secrets are `(secret)`.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.model import dotted
from reconciler.planning import reviewed
from reconciler.planning.plan import PLAN_FORMAT_VERSION, Action, Change, Plan
from reconciler.planning.request import request_body
from reconciler.shown import shown, shown_at
from reconciler.validation.schema import TypeSchema


def summary(plan: Plan) -> dict[str, int]:
    return {
        "create": plan.count(Action.CREATE),
        "update": plan.count(Action.UPDATE),
        "replace": plan.count(Action.REPLACE),
        "delete": plan.count(Action.DELETE),
        "unchanged": plan.count(Action.NOOP),
        "orphan": plan.count(Action.ORPHAN),
    }


def change_dict(change: Change) -> dict[str, Any]:
    return {
        "action": change.action.value,
        "key": str(change.key),
        "type": change.type,
        "natural_key": dict(change.key.parts),
        "file": change.file,
        "line": change.line,
        "id": change.actual_id,
        "status": change.actual_status,
        "reason": change.reason or None,
        "needs_setup_script": change.needs_setup_script,
        "missing_credentials": list(change.missing_credentials),
        "protected_by": change.protected_by,
        "fields": [
            {
                "path": dotted(f.path),
                "kind": f.kind,
                "old": shown_at(change_schema(change), f.path, f.old),
                "new": shown_at(change_schema(change), f.path, f.new),
                "immutable": f.immutable,
                "file": f.location.file if f.location else None,
                "line": f.location.line if f.location else None,
            }
            for f in change.fields
        ],
        "before": before(change),
        "after": after(change),
        "ignored_differences": change.ignored,
        "not_compared": [dotted(p) for p in change.not_compared],
        "actual_fingerprint": change.actual_fingerprint,
        "desired_digest": change.desired_digest,
    }


def change_schema(change: Change) -> TypeSchema | None:
    held = change.desired if change.desired is not None else change.actual
    return held.type_schema if held is not None else None


def before(change: Change) -> dict[str, Any] | None:
    """The payload Immuta reports (server fields set aside) as any output may show it (reconciler/shown.py);
    None when it holds no such integration."""
    if change.actual is None:
        return None
    reported: dict[str, Any] = shown(change.actual.type_schema, change.actual.payload, change.actual.unknown)
    return reported


def after(change: Change) -> dict[str, Any] | None:
    """What the integration will be once the plan is applied, as any output may show it; None when it will
    not exist."""
    if change.action is Action.ORPHAN:
        return before(change)  # never touched
    desired = change.desired
    if change.action is Action.DELETE or desired is None or not desired.present:
        return None
    # An update sends Immuta's own values where lifecycle.ignoreChanges applies: those are what it keeps.
    reported = change.actual.payload if change.actual is not None and change.action is not Action.REPLACE else None
    payload = desired.type_schema.apply_defaults(request_body(desired, reported, change.carried))
    # A field unknown to the schema (a misspelt `passwrod`, not known to be a secret) is shown by name only.
    result: dict[str, Any] = shown(desired.type_schema, payload)
    return result


def plan_dict(plan: Plan) -> dict[str, Any]:
    document = {
        "format_version": PLAN_FORMAT_VERSION,
        "target": plan.target,
        "prune": plan.prune,
        "checksum": "",  # of the values below (planning/reviewed.py): filled in once they are all there
        "desired_digest": plan.desired_digest,
        "tool_version": plan.tool_version,
        "schema_version": plan.schema_version,
        "has_changes": plan.has_changes,
        "summary": summary(plan),
        "changes": [change_dict(c) for c in plan.changes],
        "notes": list(plan.notes),
        "refused": list(plan.refused),  # what the delete gate refuses: apply would change nothing
        "base": plan.base.as_json(),
    }
    document["checksum"] = reviewed.checksum(document)
    return document


def render(plan: Plan) -> str:
    return json.dumps(plan_dict(plan), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
