"""What a pull request's plan comment says besides the plan: the environment, the run, and which differences
revert a change made outside Git — the field differs in Immuta, but the pull request does not change it against
the base revision (its file writes the same value there, or writes it in neither)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from typing import Any

import yaml

from reconciler import files
from reconciler.model import dotted
from reconciler.planning.baserevision import base_revision
from reconciler.planning.plan import Action, Change, Plan

_TIMEOUT = 60.0
_MAX_BYTES = 1 << 20
_ABSENT = object()


def reverts(plan: Plan, base: str | None, environ: Mapping[str, str] = os.environ) -> frozenset[tuple[str, str]]:
    """(integration key, dotted field path) of each update the pull request does not ask for; empty when no base
    revision can be read (outside a pull request, or outside a Git checkout)."""
    revision = base_revision(base, environ)
    if revision is None:
        return frozenset()
    found: set[tuple[str, str]] = set()
    for change in plan.changes:
        if change.action not in (Action.UPDATE, Action.REPLACE) or not change.file or not change.fields:
            continue
        before, now = _document(_git_show(revision, change.file), change), _document(_read(change.file), change)
        if before is None or now is None:
            continue  # a new file (or one not read as YAML): everything in it is the pull request's own
        for field in change.fields:
            if _at(before, field.path) == _at(now, field.path):
                found.add((str(change.key), dotted(field.path)))
    return frozenset(found)


def _git_show(revision: str, file: str) -> str | None:
    try:
        shown = subprocess.run(
            ["git", "show", f"{revision}:./{file}"],
            capture_output=True,
            check=False,
            timeout=_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if shown.returncode != 0 or len(shown.stdout) > _MAX_BYTES:
        return None
    return shown.stdout.decode("utf-8", errors="replace")


def _read(file: str) -> str | None:
    try:
        return files.read_text(file, files.DESIRED_STATE)
    except files.FileError:
        return None


def _document(text: str | None, change: Change) -> Any:
    """The document of `text` declaring the change's integration: the one of its type, or the one whose
    natural-key values are the change's."""
    if text is None:
        return None
    try:
        documents = [d for d in yaml.safe_load_all(text) if isinstance(d, dict) and d.get("type") == change.type]
    except yaml.YAMLError:
        return None
    if len(documents) == 1:
        return documents[0]
    wanted = {value for _, value in change.key.parts}
    matching = [d for d in documents if wanted and wanted <= {str(v) for v in (d.get("config") or {}).values()}]
    return matching[0] if len(matching) == 1 else None


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        if (isinstance(document, dict) and part in document) or (
            isinstance(document, list) and isinstance(part, int) and part < len(document)
        ):
            document = document[part]
        else:
            return _ABSENT
    return document
