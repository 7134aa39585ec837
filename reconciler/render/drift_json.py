"""The drift report as a stable, versioned JSON document; each item carries the plan change it came from."""

from __future__ import annotations

import json
from typing import Any

from reconciler.drift import DriftReport
from reconciler.render.plan_json import change_dict

FORMAT_VERSION = 1


def report_dict(report: DriftReport) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "target": report.target,
        "has_drift": report.has_drift,
        "checked": report.checked,
        "summary": report.counts(),
        "items": [
            {
                "kind": item.kind.value,
                "detail": item.detail,
                "failed_tests": list(item.failed_tests),
                "change": change_dict(item.change),
            }
            for item in report.items
        ],
        "notes": list(report.notes),
    }


def render(report: DriftReport) -> str:
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"
