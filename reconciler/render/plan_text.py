"""The plan for a terminal: grouped by action, Terraform-like markers, colour only when asked for."""

from __future__ import annotations

from reconciler.model import dotted
from reconciler.planning.diff import FieldChange
from reconciler.planning.plan import Action, Change, Plan
from reconciler.render.escape import terminal
from reconciler.render.values import show

MARKERS = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.REPLACE: "-/+",
    Action.DELETE: "-",
    Action.ORPHAN: "?",
    Action.NOOP: "=",
}
_COLOURS = {
    Action.CREATE: "32",
    Action.UPDATE: "33",
    Action.REPLACE: "35;1",
    Action.DELETE: "31",
    Action.ORPHAN: "36",
    Action.NOOP: "2",
}
ORDER = (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE, Action.ORPHAN, Action.NOOP)
HEADINGS = {
    Action.CREATE: "to create",
    Action.UPDATE: "to update in place",
    Action.REPLACE: "to REPLACE (delete, then create)",
    Action.DELETE: "to DELETE",
    Action.ORPHAN: "in Immuta with no file (not managed)",
    Action.NOOP: "unchanged",
}


def closing_line(plan: Plan) -> str:
    return (
        f"Plan: {plan.count(Action.CREATE)} to create, {plan.count(Action.UPDATE)} to update, "
        f"{plan.count(Action.REPLACE)} to replace, {plan.count(Action.DELETE)} to delete, "
        f"{plan.count(Action.NOOP)} unchanged."
    )


def render(plan: Plan, *, color: bool = False, show_unchanged: bool = True) -> str:
    def paint(action: Action, text: str) -> str:
        return f"\x1b[{_COLOURS[action]}m{text}\x1b[0m" if color else text

    lines = [f"Target: {terminal(plan.target)}" + (" (prune on)" if plan.prune else "")]
    for action in ORDER:
        group = [c for c in plan.changes if c.action is action]
        if not group or (action is Action.NOOP and not show_unchanged):
            continue
        lines.append("")
        lines.append(paint(action, f"{len(group)} {HEADINGS[action]}:"))
        for change in group:
            lines.append(paint(action, f"  {MARKERS[action]} {terminal(str(change.key))}") + _suffix(change))
            lines.extend(f"      {_field_line(f)}" for f in change.fields)
            if change.ignored:
                lines.append(f"      ({change.ignored} difference(s) ignored by lifecycle.ignoreChanges)")
    lines.append("")
    lines.extend(f"Note: {terminal(note)}" for note in plan.notes)
    if plan.notes:
        lines.append("")
    lines.append(closing_line(plan))
    if plan.count(Action.ORPHAN) and not plan.prune:
        lines.append(f"{plan.count(Action.ORPHAN)} integration(s) in Immuta have no file; --prune would delete them.")
    if plan.refused:
        lines += [
            "",
            "Refused by a safety gate: apply would change nothing.",
            *(f"  {terminal(r)}" for r in plan.refused),
        ]
    return "\n".join(lines) + "\n"


def _suffix(change: Change) -> str:
    parts = []
    if change.actual_id is not None:
        parts.append(f"id {terminal(str(change.actual_id))}")
    if change.status_note:
        parts.append(f"status {terminal(change.status_note)}")
    if change.file:
        parts.append(f"{terminal(change.file)}:{change.line}")
    text = f"  ({', '.join(parts)})" if parts else ""
    if change.reason:
        text += f" — {terminal(change.reason)}"
    if change.needs_setup_script:
        text += " — needs the setup script first (reconciler scripts)"
    if change.missing_credentials:
        text += f" — apply will refuse: Immuta's DELETE needs {', '.join(change.missing_credentials)}"
    return text


def _field_line(field: FieldChange) -> str:
    name = terminal(dotted(field.path))
    if field.kind == "added":
        body = f"+ {name}: {show(field.new)}"
    elif field.kind == "removed":
        body = f"- {name}: {show(field.old)} (removed from the file)"
    else:
        body = f"~ {name}: {show(field.old)} → {show(field.new)}"
    if field.immutable:
        body += "  (immutable: forces replace)"
    if field.location:
        body += f"  [{terminal(field.location.file)}:{field.location.line}]"
    elif field.kind != "removed":
        body += "  [schema default]"
    return body
