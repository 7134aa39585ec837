"""An apply's result as one stable, versioned JSON document: for scripts, and the artifact a CI job keeps
(`apply --report FILE`). `format_version` changes only when a field is removed or changes meaning."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from reconciler import __version__
from reconciler.model import dotted

if TYPE_CHECKING:
    from reconciler.applying.workflow import ApplyOutcome

FORMAT_VERSION = 1
OUTCOMES = ("done", "failed", "refused")


def report_dict(outcome: ApplyOutcome) -> dict[str, Any]:
    verification = outcome.verification
    started = {str(r.change.key) for r in outcome.results}
    return {
        "format_version": FORMAT_VERSION,
        "kind": "reconciler-apply",
        "tool_version": __version__,
        "target": outcome.plan.target,
        "checksum": outcome.plan.checksum,
        "status": outcome.status,
        "integrations": [
            {
                "key": str(r.change.key),
                "type": r.change.key.type,
                "file": r.change.file,
                "action": r.change.action.value,
                "outcome": r.outcome,
                "id": r.integration_id,
                "message": r.message,  # Immuta's words (secrets scrubbed), or why apply refused
                "duration_seconds": round(outcome.durations.get(str(r.change.key), 0.0), 3),
            }
            for r in outcome.results
        ],
        "totals": {
            "planned": len(outcome.plan.writes),
            **{name: sum(r.outcome == name for r in outcome.results) for name in OUTCOMES},
            "not_started": sum(str(c.key) not in started for c in outcome.plan.writes),
        },
        "verification": {
            "converged": verification.converged,
            "unsettled": [
                {"key": str(c.key), "fields": [dotted(f.path) for f in c.fields], "reason": c.reason}
                for c in verification.unsettled
            ],
            "error": verification.read_error,
        },
    }


def render(outcome: ApplyOutcome) -> str:
    return json.dumps(report_dict(outcome), indent=2) + "\n"
