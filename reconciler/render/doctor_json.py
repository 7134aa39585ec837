"""`reconciler doctor --format json`: one versioned document (docs/real-tenant.md)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from reconciler.doctor import DOCTOR_FORMAT_VERSION, DoctorReport


def document(report: DoctorReport) -> dict[str, Any]:
    dialect = asdict(report.dialect) if report.dialect is not None else None
    if dialect is not None:
        dialect["statuses"] = dict(report.dialect.statuses) if report.dialect else {}
        for found in dialect["types"]:
            found["secrets"] = dict(found["secrets"])
    return {
        "format_version": DOCTOR_FORMAT_VERSION,
        "target": report.target,
        "ok": report.ok,
        "checks": [asdict(check) for check in report.checks],
        "integrations": report.integrations,
        "dialect": dialect,
        "notes": list(report.notes),
    }


def render(report: DoctorReport) -> str:
    return json.dumps(document(report), indent=2, sort_keys=False) + "\n"
