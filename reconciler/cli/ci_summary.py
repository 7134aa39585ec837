"""The job summary's verdict on one step of the GitHub Action: what happened and what to do next.

    python -I -m reconciler.cli.ci_summary COMMAND EXIT_CODE OUTPUT_FILE STDERR_FILE [STALE_HINT]

prints Markdown for $GITHUB_STEP_SUMMARY (plan and drift add their own report after it). It reads only what the
reconciler printed, which never holds a secret value."""

from __future__ import annotations

import os
import re
import sys

from reconciler import files

_SHOWN_LINES = 40


def _fenced(text: str) -> str:
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{fence}\n{text.rstrip()}\n{fence}"


def _excerpt(lines: list[str]) -> str:
    shown = lines[:_SHOWN_LINES]
    more = f"\n… and {len(lines) - len(shown)} more line(s) in the log" if len(lines) > len(shown) else ""
    return _fenced("\n".join(shown)) + more


def verdict(command: str, code: int, output: str, errors: str, stale_hint: str = "") -> str:
    """One headline saying what happened, then the lines that say why, then what to do."""
    environment = os.environ.get("RECONCILER_ENVIRONMENT", "")
    title = f"### reconciler {command}{f' ({environment})' if environment else ''}"
    err_lines = [line for line in errors.splitlines() if line.strip() and not line.startswith("::")]
    if code == 0:
        return f"{title}: {_success(command, output)}\n"
    if code == 2 and command in ("plan", "drift"):
        what = (
            "changes to review below; merging applies exactly this plan"
            if command == "plan"
            else "Immuta differs from Git (below): change the files to match, or apply them to revert Immuta"
        )
        return f"{title}: {what}\n"
    if code == 3:
        return f"{title}: {_refusal(command, err_lines, stale_hint)}"
    needs = [line for line in err_lines if re.match(r"\S+:\d+ needs \w+: ", line)]
    if code == 1 and needs:
        lines = "\n".join(f"- {line}" for line in needs)
        return f"{title}: **missing secret(s)**, nothing was written\n\n{lines}\n\nAdd each, then run the job again.\n"
    if code == 64:
        usage = [line.removeprefix("::error::") for line in (output + "\n" + errors).splitlines() if line.strip()]
        return f"{title}: **usage error**, nothing was run\n\n{_excerpt(usage)}\n"
    if code in (130, 143):
        return f"{title}: **stopped** (signal); what finished is listed in the log\n\n{_excerpt(err_lines)}\n"
    return f"{title}: **error** (exit {code})\n\n{_excerpt(err_lines or output.splitlines())}\n"


def _success(command: str, output: str) -> str:
    if command == "validate":
        return "the files are valid"
    if command in ("plan", "drift"):
        return "no changes: Immuta matches the files"
    if "No changes. Immuta already matches the files." in output.splitlines():
        return "nothing to apply: Immuta already matches the files"
    return f"**applied**; Immuta now matches the files\n\n{_excerpt(output.splitlines())}"


def _refusal(command: str, err_lines: list[str], stale_hint: str) -> str:
    # `refused: WHY`, or `refused: …:` followed by one indented line per reason (plan's delete gate).
    reasons: list[str] = []
    for line in err_lines:
        if line.startswith("refused"):
            reasons.append(line.removeprefix("refused: "))
        elif line.startswith("  ") and reasons:
            reasons.append(line.strip())
    reasons = reasons or err_lines
    if any("stale" in line for line in reasons):
        again = stale_hint or "plan again and review the new plan"
        why = _excerpt(reasons)
        return f"**stale**, nothing was written: the reviewed plan no longer matches\n\n{why}\n\n{again}\n"
    where = "merging applies nothing until it is fixed" if command == "plan" else "nothing was written"
    fix = (
        "Lift the protection in a reviewed change of its own first, or change the files so the plan keeps what "
        "the gate protects."
    )
    return f"**refused** by a safety gate, {where}\n\n{_excerpt(reasons)}\n\n{fix}\n"


_STEP_OUTPUT = files.FileKind("step output", 64 * files.MIB)


def _read(name: str) -> str:
    try:
        return files.read_bytes(name, _STEP_OUTPUT).decode("utf-8", errors="replace")
    except files.FileError:
        return ""


def main(argv: list[str]) -> int:
    command, code, output_file, errors_file, *hint = argv
    sys.stdout.write(verdict(command, int(code), _read(output_file), _read(errors_file), "".join(hint)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
