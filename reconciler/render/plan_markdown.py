"""The plan as a pull-request comment: a title naming the environment and the tenant, a warning above the
table when the plan destroys anything (deletes and replaces first, with the settings each destroys), the table,
one <details> block per change (a difference the pull request does not make is marked as reverting a change
made outside Git), notes as separate paragraphs, and the run link with what merging applies. Never longer
than GitHub's comment limit (65,536 characters; we stop at 65,000 to leave room for a marker)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from reconciler.model import Path, dotted
from reconciler.planning.diff import FieldChange
from reconciler.planning.plan import Action, Change, Plan
from reconciler.render import plan_json
from reconciler.render.escape import html_block, markdown, markdown_code, without_comment_markers
from reconciler.render.plan_text import MARKERS, closing_line
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


# Destroys first: what a reviewer must see before anything else (tfcmt's "resource deletion" warning).
MARKDOWN_ORDER = (Action.DELETE, Action.REPLACE, Action.CREATE, Action.UPDATE, Action.ORPHAN, Action.NOOP)
DESTROYS = (Action.DELETE, Action.REPLACE)
REVERT = "reverts a change made outside Git"


@dataclass(frozen=True, slots=True)
class Review:
    """What the pull request's comment says besides the plan: where it applies, the run, the reverts."""

    environment: str | None = None
    run_url: str | None = None
    # (integration key, dotted field path) of each difference the pull request does not make: Immuta was
    # changed outside Git and applying the plan changes it back.
    reverts: frozenset[tuple[str, str]] = frozenset()
    # What Immuta held, by key, where the plan has no live read (a saved plan's `before`, for `show`).
    before: Mapping[str, Any] | None = None


def render(
    plan: Plan,
    *,
    commit: str | None = None,
    title: str = "reconciler plan",
    limit: int = LIMIT,
    review: Review = Review(),
) -> str:
    destroys = [c for action in DESTROYS for c in plan.changes if c.action is action]
    head = _head(plan, title, review, destroys) + _table(plan, review)
    head.append("")
    notes = [f"> **Note:** {markdown(_shorten(note, NOTE_LIMIT))}\n" for note in plan.notes]
    footer = [f"Plan checksum: `{plan.checksum}`" + (f" · commit `{commit}`" if commit else ""), ""]
    footer.append(_closing(plan, review))

    held: dict[str, Any] = {str(c.key): plan_json.before(c) for c in destroys if c.actual is not None}
    held = {**(review.before or {}), **held}
    blocks = [_destroyed(c, held[str(c.key)]) for c in destroys if held.get(str(c.key)) is not None]
    blocks += [
        _details(c, review.reverts)
        for action in MARKDOWN_ORDER
        for c in plan.changes
        if c.action is action and c.fields
    ]
    tail = "\n".join([*notes, *footer]) + "\n"
    body = _with_details("\n".join(head), blocks, len(tail), limit)
    if len(body) + 1 + len(tail) > limit:  # even the table is too long: cut it at a row, say so
        cut = max(limit - len(tail) - len(TABLE_CUT) - 1, 0)
        body = body[:cut].rsplit("\n", 1)[0] + TABLE_CUT
    # The one marker is ours: nothing after it can open an HTML comment, whatever slipped through.
    return STICKY_MARKER + without_comment_markers((body + "\n" + tail).removeprefix(STICKY_MARKER))


def _head(plan: Plan, title: str, review: Review, destroys: list[Change]) -> list[str]:
    """The title, the counts, the refusals and the deletion warning: what a reviewer must read first."""
    where = f"{markdown(review.environment)} · " if review.environment else ""
    head = [STICKY_MARKER, f"### {title}: {where}{_tenant(plan.target)}", "", f"**{closing_line(plan)}**", ""]
    if plan.refused:  # the delete gate's refusals (planning/gate.py): the check fails, merging applies nothing
        head += ["> [!CAUTION]", "> **Refused by a safety gate: merging applies nothing until this is fixed.**"]
        head += [f"> - {markdown(reason)}" for reason in plan.refused] + [""]
    if destroys:
        head += [_warning(destroys), ""]
    orphans = plan.count(Action.ORPHAN)
    if orphans and not plan.prune:
        head += [f"{orphans} integration(s) in Immuta have no file; `--prune` would delete them.", ""]
    return [*head, f"Target: {markdown_code(plan.target, in_table=False)}" + (" · prune on" if plan.prune else ""), ""]


def _table(plan: Plan, review: Review) -> list[str]:
    """One row per change, deletes and replaces first; quiet unchanged integrations counted in one row."""
    rows = ["| | action | integration | file | fields |", "|---|---|---|---|---|"]
    for action in MARKDOWN_ORDER:
        for change in plan.changes:
            # Unchanged integrations are counted, except those in a transitional or error status: shown.
            if change.action is action and (action is not Action.NOOP or _status(change)):
                rows.append(_row(change, review.reverts))
    quiet = sum(1 for c in plan.changes if c.action is Action.NOOP and not _status(c))
    if quiet:
        other = " other" if quiet < plan.count(Action.NOOP) else ""
        rows.append(f"| = | no-op | {quiet}{other} integration(s) unchanged | | |")
    return rows


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


def _tenant(target: str) -> str:
    host = urlsplit(target).hostname
    return markdown_code(host or target, in_table=False)


def _warning(destroys: list[Change]) -> str:
    deletes = sum(c.action is Action.DELETE for c in destroys)
    replaces = len(destroys) - deletes
    counts = ", ".join(
        part
        for part in (f"{deletes} delete(s)" if deletes else "", f"{replaces} replace(s)" if replaces else "")
        if part
    )
    return (
        f"> [!WARNING]\n> **This plan destroys {len(destroys)} integration(s)** ({counts}): each loses its current "
        "settings in Immuta, listed first below. A replace deletes, then creates again."
    )


def _closing(plan: Plan, review: Review) -> str:
    run = f"[Run]({review.run_url}) · " if review.run_url else ""
    target = markdown_code(plan.target, in_table=False)
    to = f"**{markdown(review.environment)}** ({target})" if review.environment else target
    if plan.refused:  # the refusal above says why: merging must not be read as applying it
        return f"{run}Merging applies nothing to {to}: a safety gate refused this plan (above)."
    return f"{run}Merging applies exactly this plan to {to}."


def _destroyed(change: Change, settings: Any) -> str:
    """What a delete or replace destroys: the integration's current settings, secrets shown as (secret)."""
    rows = ["| setting | in Immuta now |", "|---|---|"]
    rows += [f"| {markdown_code(dotted(path))} | {markdown_code(show(value))} |" for path, value in _settings(settings)]
    key = html_block(str(change.key))
    summary = f"{MARKERS[change.action]} {change.action.value} <code>{key}</code> destroys"
    return "\n<details><summary>" + summary + "</summary>\n\n" + "\n".join(rows) + "\n\n</details>\n"


def _settings(value: object, path: Path = ()) -> list[tuple[Path, object]]:
    """Each setting with its path: mappings opened, lists shown whole (as the plan compares them)."""
    if isinstance(value, dict) and (value or not path):
        return [item for name, child in value.items() for item in _settings(child, (*path, name))]
    return [(path, value)]


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _status(change: Change) -> str:
    """The status worth showing: anything but `enabled` (transitional, error, unknown)."""
    return change.status_note


def _row(change: Change, reverts: frozenset[tuple[str, str]]) -> str:
    where = markdown_code(f"{change.file}:{change.line}") if change.file else ""
    fields = ", ".join(markdown_code(dotted(f.path)) + _revert_mark(change, f, reverts) for f in change.fields[:5])
    if len(change.fields) > 5:
        fields += f" (+{len(change.fields) - 5})"
    reason = f" — {markdown(change.reason)}" if change.reason else ""
    setup = " — **needs the setup script first**" if change.needs_setup_script else ""
    if change.missing_credentials:
        setup += f" — **apply will refuse: Immuta's DELETE needs {', '.join(change.missing_credentials)}**"
    status = f" ({markdown(_status(change))})" if _status(change) else ""
    label = f"{markdown_code(str(change.key))}{status}{reason}{setup}"
    return f"| {MARKERS[change.action]} | {change.action.value} | {label} | {where} | {fields} |"


def _revert_mark(change: Change, field: FieldChange, reverts: frozenset[tuple[str, str]]) -> str:
    return " ↩" if (str(change.key), dotted(field.path)) in reverts else ""


def _details(change: Change, reverts: frozenset[tuple[str, str]]) -> str:
    rows = ["| field | in Immuta | desired | from |", "|---|---|---|---|"]
    for f in change.fields:
        old = "" if f.kind == "added" else show(f.old)
        new = "(removed)" if f.kind == "removed" else show(f.new)
        source = (
            markdown_code(f"{f.location.file}:{f.location.line}")
            if f.location
            else ("schema default" if f.kind != "removed" else "")
        )
        if _revert_mark(change, f, reverts):
            source += f" — **{REVERT}**"
        lock = " 🔒" if f.immutable else ""
        name = markdown_code(dotted(f.path))
        rows.append(f"| {name}{lock} | {markdown_code(old)} | {markdown_code(new)} | {source} |")
    key = html_block(str(change.key))
    summary = f"{MARKERS[change.action]} {change.action.value} <code>{key}</code> — {len(change.fields)} field(s)"
    return "\n<details><summary>" + summary + "</summary>\n\n" + "\n".join(rows) + "\n\n</details>\n"
