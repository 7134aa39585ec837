"""`reconciler doctor` as text: the checks, then the dialect the tenant's integrations show."""

from __future__ import annotations

import json

from reconciler.doctor import DoctorReport, TypeDialect
from reconciler.render.escape import terminal


def render(report: DoctorReport) -> str:
    lines = [f"Target: {terminal(report.target)}", ""]
    for check in report.checks:
        lines.append(f"  {'ok  ' if check.ok else 'FAIL'} {check.name}: {terminal(check.detail)}")
    dialect = report.dialect
    if dialect is not None:
        lines += ["", "Dialect (as far as the integrations present show it):"]
        lines.append(f"  ids: {dialect.id_type}")
        lines.append(f"  list order: {dialect.list_order}")
        seen = ", ".join(f"{terminal(status)} ×{count}" for status, count in dialect.statuses) or "none"
        lines.append(f"  statuses: {seen}")
        for status in dialect.unknown_statuses:
            lines.append(f"  ! status {status!r} is unknown to this version: reported as not healthy, never as enabled")
        for name in dialect.unknown_types:
            lines.append(f"  ! type {name!r} is unknown to this version: left alone by plan and apply")
        for collision in dialect.collisions:
            shown = terminal(str(collision))
            lines.append(f"  ! two integrations with one natural key: {shown} (plan leaves the second alone)")
        if dialect.top_level_fields:
            lines.append(f"  server fields beside the payload: {terminal(', '.join(dialect.top_level_fields))}")
        for found in dialect.types:
            lines += _type_lines(found)
    lines += ["", *(terminal(note) for note in report.notes)] if report.notes else []
    lines += [
        "",
        "Ready: plan, then apply." if report.ok else "Not ready: fix the failed check above, then run doctor again.",
    ]
    return "\n".join(lines) + "\n"


def _type_lines(found: TypeDialect) -> list[str]:
    """What the integrations of one type show."""
    lines = ["", f"  {terminal(found.type)} ({found.count}):"]
    if found.defaults_echoed or found.defaults_not_echoed:
        lines.append(f"    schema-defaulted fields reported: {', '.join(found.defaults_echoed) or 'none'}")
    if found.defaults_not_echoed:
        lines.append(f"    schema-defaulted fields not reported: {', '.join(found.defaults_not_echoed)}")
    for differs in found.defaults_differing:
        values = ", ".join(json.dumps(v) for v in differs.reported)
        lines.append(
            f"    ! {differs.path}: reported {values} by {differs.integrations} of {found.count}, the schema's "
            f"default is {json.dumps(differs.schema_default)} — where no file writes it, this tenant's default "
            "differs: the reconciler sends the schema's on every create and update"
        )
    if dict(found.secrets).get("*") == "omitted":
        lines.append("    secrets: omitted (none reported)")
    elif found.secrets:
        lines.append("    secrets: " + ", ".join(f"{path} {handling}" for path, handling in found.secrets))
    if not (found.defaults_echoed or found.defaults_not_echoed or found.secrets or found.unknown_fields):
        lines.append("    nothing reported beyond its type (no config fields in the schema)")
    if found.unknown_fields:
        lines.append(
            f"    fields the schemas do not know (never compared): {terminal(', '.join(found.unknown_fields))}"
        )
    return lines
