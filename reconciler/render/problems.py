"""The validation report: `file:line:col: $.path: message` lines, a JSON document, GitHub annotations."""

from __future__ import annotations

import json
from collections.abc import Sequence

from reconciler.errors import Problem
from reconciler.render.escape import terminal, workflow_data, workflow_property

REPORT_FORMAT_VERSION = 1


def as_text(problems: Sequence[Problem]) -> str:
    """One line a problem, whatever the file names, keys and values in it hold."""
    return "".join(f"{terminal(str(p))}\n" for p in problems)


def summary(problems: Sequence[Problem], documents: int, files: int) -> str:
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    verdict = "valid" if not errors else "invalid"
    return f"{files} file(s), {documents} integration(s): {verdict} ({errors} error(s), {warnings} warning(s))"


def as_json(problems: Sequence[Problem], documents: int, files: int) -> str:
    report = {
        "format_version": REPORT_FORMAT_VERSION,
        "valid": not any(p.severity == "error" for p in problems),
        "files": files,
        "integrations": documents,
        "problems": [
            {
                "file": p.location.file if p.location else None,
                "line": p.location.line if p.location else None,
                "column": p.location.column if p.location else None,
                "path": p.json_path,
                "severity": p.severity,
                "message": p.message,
            }
            for p in problems
        ],
    }
    return json.dumps(report, indent=2) + "\n"


def github_annotations(problems: Sequence[Problem]) -> str:
    """`::error file=…,line=…,col=…::message` workflow commands, escaped as GitHub documents."""
    lines = []
    for p in problems:
        props = ""
        if p.location:
            props = (
                f" file={workflow_property(p.location.file)},line={p.location.line},col={p.location.column}"
                f",title={workflow_property(p.json_path or 'reconciler')}"
            )
        lines.append(f"::{p.severity}{props}::{workflow_data(p.message)}\n")
    return "".join(lines)
