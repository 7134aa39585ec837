"""The plan as a stable, versioned JSON document: for scripts, and the body of a saved plan.

`format_version` changes only when a field is removed or changes meaning; new fields may be added.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.model import dotted
from reconciler.planning.plan import PLAN_FORMAT_VERSION, Action, Change, Plan
from reconciler.secrets import mask_all


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
        "fields": [
            {
                "path": dotted(f.path),
                "kind": f.kind,
                "old": mask_all(f.old),
                "new": mask_all(f.new),
                "immutable": f.immutable,
                "file": f.location.file if f.location else None,
                "line": f.location.line if f.location else None,
            }
            for f in change.fields
        ],
        "ignored_differences": change.ignored,
        "not_compared": [dotted(p) for p in change.not_compared],
        "actual_fingerprint": change.actual_fingerprint,
        "desired_digest": change.desired_digest,
    }


def plan_dict(plan: Plan) -> dict[str, Any]:
    return {
        "format_version": PLAN_FORMAT_VERSION,
        "target": plan.target,
        "prune": plan.prune,
        "checksum": plan.checksum,
        "desired_digest": plan.desired_digest,
        "tool_version": plan.tool_version,
        "schema_version": plan.schema_version,
        "has_changes": plan.has_changes,
        "summary": summary(plan),
        "changes": [change_dict(c) for c in plan.changes],
        "notes": list(plan.notes),
    }


def render(plan: Plan) -> str:
    return json.dumps(plan_dict(plan), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
