"""The plan as a pull-request comment: summary table first, one <details> block per change, and never
longer than GitHub's comment limit (65,536 characters; we stop at 65,000 to leave room for a marker)."""

from __future__ import annotations

import html

from reconciler.model import dotted
from reconciler.plan import Action, Change, Plan
from reconciler.render.plan_text import MARKERS, ORDER, closing_line
from reconciler.render.values import show

LIMIT = 65_000
# A hidden marker lets the workflow find and update its one sticky comment.
STICKY_MARKER = "<!-- reconciler-plan -->"


def render(plan: Plan, *, commit: str | None = None, title: str = "reconciler plan", limit: int = LIMIT) -> str:
    head = [STICKY_MARKER, f"### {title}", "", f"**{closing_line(plan)}**", ""]
    head += [f"Target: `{plan.target}`" + (" · prune on" if plan.prune else ""), ""]
    head += ["| | action | integration | file | fields |", "|---|---|---|---|---|"]
    for action in ORDER:
        for change in plan.changes:
            if change.action is action and action is not Action.NOOP:
                head.append(_row(change))
    unchanged = plan.count(Action.NOOP)
    if unchanged:
        head.append(f"| = | no-op | {unchanged} integration(s) unchanged | | |")
    head.append("")
    notes = [f"> {note}" for note in plan.notes]
    footer = ["", f"Plan checksum: `{plan.checksum}`" + (f" · commit `{commit}`" if commit else "")]

    blocks = [_details(c) for action in ORDER for c in plan.changes if c.action is action and c.fields]
    body = "\n".join(head)
    tail = "\n".join([*notes, *footer]) + "\n"
    shown = 0
    for block in blocks:
        if len(body) + len(block) + len(tail) + 200 > limit:
            break
        body += block
        shown += 1
    if shown < len(blocks):
        body += (
            f"\n**Truncated:** details of {len(blocks) - shown} of {len(blocks)} change(s) are not shown to fit "
            f"GitHub's comment limit; the counts above are complete. Run `reconciler plan` for the full plan.\n"
        )
    if len(body) + len(tail) > limit:  # even the table is too long: cut it, say so
        cut = limit - len(tail) - 300
        body = body[:cut].rsplit("\n", 1)[0] + (
            "\n\n**Truncated:** the table is cut to fit GitHub's comment limit; the counts above are complete.\n"
        )
    return body + "\n" + tail


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(change: Change) -> str:
    where = f"`{change.file}:{change.line}`" if change.file else ""
    fields = ", ".join(f"`{dotted(f.path)}`" for f in change.fields[:5])
    if len(change.fields) > 5:
        fields += f" (+{len(change.fields) - 5})"
    reason = f" — {change.reason}" if change.reason else ""
    setup = " — **needs the setup script first**" if change.needs_setup_script else ""
    status = f" ({change.actual_status})" if change.actual_status and change.actual_status != "enabled" else ""
    label = f"`{change.key}`{status}{reason}{setup}"
    return f"| {MARKERS[change.action]} | {change.action.value} | {_cell(label)} | {where} | {_cell(fields)} |"


def _details(change: Change) -> str:
    rows = ["| field | in Immuta | desired | from |", "|---|---|---|---|"]
    for f in change.fields:
        old = "" if f.kind == "added" else show(f.old)
        new = "(removed)" if f.kind == "removed" else show(f.new)
        source = (
            f"`{f.location.file}:{f.location.line}`"
            if f.location
            else ("schema default" if f.kind != "removed" else "")
        )
        lock = " 🔒" if f.immutable else ""
        rows.append(f"| `{dotted(f.path)}`{lock} | `{_cell(old)}` | `{_cell(new)}` | {source} |")
    key = html.escape(str(change.key))
    summary = f"{MARKERS[change.action]} {change.action.value} <code>{key}</code> — {len(change.fields)} field(s)"
    return "\n<details><summary>" + summary + "</summary>\n\n" + "\n".join(rows) + "\n\n</details>\n"
