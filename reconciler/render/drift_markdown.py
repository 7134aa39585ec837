"""The drift report as the body of the nightly workflow's one issue: a stable hidden marker first (the
workflow finds its open issue by it), a table per kind, and never longer than GitHub's body limit."""

from __future__ import annotations

from reconciler.drift import HEADINGS, KIND_ORDER, DriftItem, DriftKind, DriftReport
from reconciler.model import dotted
from reconciler.render.drift_text import closing_line, git_and_immuta
from reconciler.render.escape import html_block, markdown, markdown_code, without_comment_markers
from reconciler.render.plan_markdown import LIMIT

DRIFT_MARKER = "<!-- reconciler-drift -->"


def _row(item: DriftItem) -> str:
    change = item.change
    where = markdown_code(f"{change.file}:{change.line}") if change.file else ""
    ident = markdown(str(change.actual_id or ""))
    return f"| {markdown_code(str(change.key))} | {ident} | {where} | {markdown(item.detail)} |"


def _details(item: DriftItem) -> str:
    rows = ["| field | in Git | in Immuta |", "|---|---|---|"]
    for field in item.change.fields:
        in_git, in_immuta = git_and_immuta(field)
        lock = " 🔒" if field.immutable else ""
        rows.append(
            f"| {markdown_code(dotted(field.path))}{lock} | {markdown_code(in_git)} | {markdown_code(in_immuta)} |"
        )
    key = html_block(str(item.change.key))
    summary = f"~ <code>{key}</code> — {len(item.change.fields)} field(s) changed outside Git"
    return "\n<details><summary>" + summary + "</summary>\n\n" + "\n".join(rows) + "\n\n</details>\n"


def render(report: DriftReport, *, run_url: str | None = None, limit: int = LIMIT) -> str:
    head = [DRIFT_MARKER, "### reconciler drift", "", f"**{closing_line(report)}**", ""]
    head.append(f"Target: {markdown_code(report.target, in_table=False)}" + (f" · [run]({run_url})" if run_url else ""))
    for kind in KIND_ORDER:
        group = report.of_kind(kind)
        if not group:
            continue
        head += [
            "",
            f"#### {len(group)} {HEADINGS[kind]}",
            "",
            "| integration | id | file | found |",
            "|---|---|---|---|",
        ]
        head.extend(_row(item) for item in group)
    head.append("")
    how = ["", _HOW_TO_FIX] if report.has_drift else []  # a clean report has nothing to resolve
    tail = "\n".join([*(f"> {markdown(note)}" for note in report.notes), *how]) + "\n"
    body = "\n".join(head)
    blocks = [_details(item) for item in report.of_kind(DriftKind.CHANGED)]
    shown = 0
    for block in blocks:
        if len(body) + len(block) + len(tail) + 200 > limit:
            break
        body += block
        shown += 1
    if shown < len(blocks):
        body += (
            f"\n**Truncated:** field details of {len(blocks) - shown} of {len(blocks)} integration(s) are not shown "
            "to fit GitHub's limit; the counts above are complete. Run `reconciler drift` for the full report.\n"
        )
    if len(body) + len(tail) > limit:
        cut = limit - len(tail) - 300
        body = body[:cut].rsplit("\n", 1)[0] + (
            "\n\n**Truncated:** the tables are cut to fit GitHub's limit; the counts above are complete.\n"
        )
    # The one marker is ours: nothing after it can open an HTML comment, whatever slipped through.
    return DRIFT_MARKER + without_comment_markers((body + "\n" + tail).removeprefix(DRIFT_MARKER))


_HOW_TO_FIX = (
    "To resolve: make Git the truth again with `reconciler apply` (changed and deleted outside Git), add a file "
    "for or delete what was created outside Git (`reconciler export` writes one), and fix unhealthy "
    "integrations in Immuta. This issue closes itself when a nightly run finds no drift."
)
