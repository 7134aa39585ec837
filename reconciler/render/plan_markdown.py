"""The plan as a pull-request comment: summary table first, one <details> block per change, and never
longer than GitHub's comment limit (65,536 characters; we stop at 65,000 to leave room for a marker)."""

from __future__ import annotations

from reconciler.model import dotted
from reconciler.planning.plan import Action, Change, Plan
from reconciler.render.escape import html_block, markdown, markdown_code, without_comment_markers
from reconciler.render.plan_text import MARKERS, ORDER, closing_line
from reconciler.render.values import show

LIMIT = 65_000
# A hidden marker lets the workflow find and update its one sticky comment.
STICKY_MARKER = "<!-- reconciler-plan -->"
NOTE_LIMIT = 1_000  # one note (e.g. a long list of unreadable references) never crowds out the plan
DETAILS_CUT = (
    "\n**Truncated:** details of {hidden} of {total} change(s) are not shown to fit GitHub's comment limit; "
    "the counts above are complete. Run `reconciler plan` for the full plan.\n"
)
TABLE_CUT = "\n\n**Truncated:** the table is cut to fit GitHub's comment limit; the counts above are complete.\n"


def render(plan: Plan, *, commit: str | None = None, title: str = "reconciler plan", limit: int = LIMIT) -> str:
    head = [STICKY_MARKER, f"### {title}", "", f"**{closing_line(plan)}**", ""]
    if plan.refused:  # the delete gate's refusals (planning/gate.py): the check fails, merging applies nothing
        head += ["> [!CAUTION]", "> **Refused by a safety gate: merging applies nothing until this is fixed.**"]
        head += [f"> - {markdown(reason)}" for reason in plan.refused] + [""]
    orphans = plan.count(Action.ORPHAN)
    if orphans and not plan.prune:
        head += [f"{orphans} integration(s) in Immuta have no file; `--prune` would delete them.", ""]
    head += [f"Target: {markdown_code(plan.target, in_table=False)}" + (" · prune on" if plan.prune else ""), ""]
    head += ["| | action | integration | file | fields |", "|---|---|---|---|---|"]
    for action in ORDER:
        for change in plan.changes:
            # Unchanged integrations are counted, except those in a transitional or error status: shown.
            if change.action is action and (action is not Action.NOOP or _status(change)):
                head.append(_row(change))
    quiet = sum(1 for c in plan.changes if c.action is Action.NOOP and not _status(c))
    if quiet:
        other = " other" if quiet < plan.count(Action.NOOP) else ""
        head.append(f"| = | no-op | {quiet}{other} integration(s) unchanged | | |")
    head.append("")
    notes = [f"> {markdown(_shorten(note, NOTE_LIMIT))}" for note in plan.notes]
    footer = ["", f"Plan checksum: `{plan.checksum}`" + (f" · commit `{commit}`" if commit else "")]

    blocks = [_details(c) for action in ORDER for c in plan.changes if c.action is action and c.fields]
    tail = "\n".join([*notes, *footer]) + "\n"
    body = _with_details("\n".join(head), blocks, len(tail), limit)
    if len(body) + 1 + len(tail) > limit:  # even the table is too long: cut it at a row, say so
        cut = max(limit - len(tail) - len(TABLE_CUT) - 1, 0)
        body = body[:cut].rsplit("\n", 1)[0] + TABLE_CUT
    # The one marker is ours: nothing after it can open an HTML comment, whatever slipped through.
    return STICKY_MARKER + without_comment_markers((body + "\n" + tail).removeprefix(STICKY_MARKER))


def _with_details(body: str, blocks: list[str], tail: int, limit: int) -> str:
    """The table followed by as many changes' details as fit before the `tail` characters."""
    # Room kept for the truncation note, whatever the counts in it.
    reserve = len(DETAILS_CUT.format(hidden=len(blocks), total=len(blocks))) + 1
    shown = 0
    for block in blocks:
        if len(body) + len(block) + reserve + tail > limit:
            break
        body += block
        shown += 1
    if shown < len(blocks):
        body += DETAILS_CUT.format(hidden=len(blocks) - shown, total=len(blocks))
    return body


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _status(change: Change) -> str:
    """The status worth showing: anything but `enabled` (transitional, error, unknown)."""
    return change.status_note


def _row(change: Change) -> str:
    where = markdown_code(f"{change.file}:{change.line}") if change.file else ""
    fields = ", ".join(markdown_code(dotted(f.path)) for f in change.fields[:5])
    if len(change.fields) > 5:
        fields += f" (+{len(change.fields) - 5})"
    reason = f" — {markdown(change.reason)}" if change.reason else ""
    setup = " — **needs the setup script first**" if change.needs_setup_script else ""
    if change.missing_credentials:
        setup += f" — **apply will refuse: Immuta's DELETE needs {', '.join(change.missing_credentials)}**"
    status = f" ({markdown(_status(change))})" if _status(change) else ""
    label = f"{markdown_code(str(change.key))}{status}{reason}{setup}"
    return f"| {MARKERS[change.action]} | {change.action.value} | {label} | {where} | {fields} |"


def _details(change: Change) -> str:
    rows = ["| field | in Immuta | desired | from |", "|---|---|---|---|"]
    for f in change.fields:
        old = "" if f.kind == "added" else show(f.old)
        new = "(removed)" if f.kind == "removed" else show(f.new)
        source = (
            markdown_code(f"{f.location.file}:{f.location.line}")
            if f.location
            else ("schema default" if f.kind != "removed" else "")
        )
        lock = " 🔒" if f.immutable else ""
        name = markdown_code(dotted(f.path))
        rows.append(f"| {name}{lock} | {markdown_code(old)} | {markdown_code(new)} | {source} |")
    key = html_block(str(change.key))
    summary = f"{MARKERS[change.action]} {change.action.value} <code>{key}</code> — {len(change.fields)} field(s)"
    return "\n<details><summary>" + summary + "</summary>\n\n" + "\n".join(rows) + "\n\n</details>\n"
