"""The drift report for a terminal and for logs: grouped by kind, each changed field as Git → Immuta."""

from __future__ import annotations

from reconciler.drift import HEADINGS, KIND_ORDER, DriftItem, DriftKind, DriftReport
from reconciler.model import dotted
from reconciler.planning.diff import FieldChange
from reconciler.render.escape import terminal
from reconciler.render.values import show

ABSENT = "(absent)"


def closing_line(report: DriftReport) -> str:
    if not report.has_drift:
        return f"No drift: Immuta matches Git ({report.checked} integration(s) checked)."
    counts = report.counts()
    return "Drift: " + ", ".join(f"{counts[kind.value]} {HEADINGS[kind]}" for kind in KIND_ORDER) + "."


def git_and_immuta(field: FieldChange) -> tuple[str, str]:
    """The value Git asks for and the one Immuta reports (a FieldChange's old is Immuta's, new is Git's)."""
    in_git = ABSENT if field.kind == "removed" else show(field.new)
    in_immuta = ABSENT if field.kind == "added" else show(field.old)
    return in_git, in_immuta


def field_line(field: FieldChange) -> str:
    in_git, in_immuta = git_and_immuta(field)
    suffix = "  (immutable: fixing it from Git replaces the integration)" if field.immutable else ""
    return f"~ {terminal(dotted(field.path))}: {in_git} (Git) → {in_immuta} (Immuta){suffix}"


def where(item: DriftItem) -> str:
    change = item.change
    parts = []
    if change.actual_id is not None:
        parts.append(f"id {terminal(str(change.actual_id))}")
    if change.file:
        parts.append(f"{terminal(change.file)}:{change.line}")
    return f"  ({', '.join(parts)})" if parts else ""


def render(report: DriftReport) -> str:
    lines = [f"Target: {terminal(report.target)}"]
    for kind in KIND_ORDER:
        group = report.of_kind(kind)
        if not group:
            continue
        lines += ["", f"{len(group)} {HEADINGS[kind]}:"]
        for item in group:
            lines.append(f"  {_MARK[kind]} {terminal(str(item.change.key))}{where(item)} — {terminal(item.detail)}")
            if kind is DriftKind.CHANGED:
                lines.extend(f"      {field_line(f)}" for f in item.change.fields)
    lines.append("")
    lines.extend(f"Note: {terminal(note)}" for note in report.notes)
    if report.notes:
        lines.append("")
    lines.append(closing_line(report))
    return "\n".join(lines) + "\n"


_MARK = {DriftKind.CHANGED: "~", DriftKind.DELETED: "-", DriftKind.CREATED: "+", DriftKind.UNHEALTHY: "!"}
