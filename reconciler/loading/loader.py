"""The desired state's files: every YAML file under the given paths, read and parsed with locations.

Which files count (discovery) lives here; how one file's YAML becomes values that remember where they
were written lives in loading/yaml_source.py (re-exported for the modules that read documents).

The whole desired state or nothing: a plan made from part of it would delete (with `--prune`) what the
unread part declares. So every entry under a given folder is either read, deliberately skipped (hidden
names, files that are not YAML), or reported: an unreadable folder or YAML file, a FIFO, socket or device,
a link to a folder (never followed: it could lead anywhere, or in a circle).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path as FsPath

from reconciler import files as reader
from reconciler import jsontext
from reconciler.errors import Problem
from reconciler.loading.yaml_source import SourceDocument, load_text
from reconciler.model import SourceLocation

__all__ = [
    "DEFAULT_ROOTS",
    "SAVED_PLAN_KIND",
    "YAML_SUFFIXES",
    "SourceDocument",
    "discover",
    "is_yaml_name",
    "load_paths",
    "load_text",
]

YAML_SUFFIXES = (".yaml", ".yml")
# The whole desired state of a repository, without an environment: its declared roots. An environment file
# declares its own (`paths`); a folder of another name counts only once one of them declares it.
DEFAULT_ROOTS = ("integrations.d",)
SAVED_PLAN_KIND = "reconciler-plan"  # the `kind` of a file written by `plan --out` (planning/savedplan.py)


def is_yaml_name(name: str) -> bool:
    """`.yaml`/`.yml` in any letter case (`.YAML`, `.Yml`): what an editor or a Windows user may save."""
    return name.lower().endswith(YAML_SUFFIXES)


def discover(paths: Sequence[str]) -> tuple[list[FsPath], list[Problem]]:
    """Every YAML file under `paths`, in a stable order; hidden files and folders are skipped; everything
    that cannot be read, or is neither a file nor a folder, is a problem naming it."""
    files: list[FsPath] = []
    problems: list[Problem] = []
    for raw in paths:
        root = FsPath(raw)
        try:
            mode = root.stat().st_mode
        except FileNotFoundError:
            problems.append(_problem(raw, "no such file or directory"))
            continue
        except OSError as exc:
            problems.append(_problem(raw, f"cannot read: {exc.strerror or exc}"))
            continue
        if stat.S_ISREG(mode):
            files.append(root)  # named explicitly: read whatever its suffix
        elif stat.S_ISDIR(mode):
            found: list[FsPath] = []
            _walk(root, found, problems)
            files.extend(sorted(found, key=lambda p: p.as_posix()))
        else:
            problems.append(_problem(raw, f"{_kind(mode)}, not a file or folder of desired-state files"))
    unique = list(dict.fromkeys(files))
    return unique, problems


def _walk(folder: FsPath, found: list[FsPath], problems: list[Problem]) -> None:
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        problems.append(_problem(str(folder), f"cannot read folder: {exc.strerror or exc}"))
        return
    for entry in entries:
        if entry.name.startswith("."):  # never .git, editors' swap files, drafts: documented
            continue
        path = FsPath(entry.path)
        try:
            mode = entry.stat().st_mode  # follows a link: a linked file counts as the file
        except FileNotFoundError:
            if is_yaml_name(entry.name):
                problems.append(_problem(str(path), "cannot read: a link to nothing (no such file or directory)"))
            continue  # a dangling link that is not YAML declares nothing
        except OSError as exc:
            problems.append(_problem(str(path), f"cannot read: {exc.strerror or exc}"))
            continue
        if stat.S_ISDIR(mode):
            if entry.is_symlink():
                problems.append(_problem(str(path), "a link to a folder, which is not followed: give the folder"))
            else:
                _walk(path, found, problems)
        elif stat.S_ISREG(mode):
            if is_yaml_name(entry.name):
                found.append(path)
        else:
            problems.append(_problem(str(path), f"{_kind(mode)}, not a regular file: remove it or hide it (.name)"))


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _problem(path: str, message: str) -> Problem:
    return Problem(None, "", f"{path}: {message}")


def load_paths(paths: Sequence[str]) -> tuple[list[SourceDocument], list[Problem]]:
    files, problems = discover(paths)
    documents: list[SourceDocument] = []
    for path in files:
        try:
            text = reader.read_text(path, reader.DESIRED_STATE, inside=reader.link_bound(path, paths))
        except reader.FileError as exc:
            message = exc.reason if exc.oversized else f"cannot read file: {exc.reason}"
            problems.append(Problem(SourceLocation(str(path), 1, 1), "", message))
            continue
        if _is_saved_plan(text):
            problems.append(
                _problem(str(path), f"a saved plan, not a desired-state file: apply it with `apply {path}`")
            )
            continue
        found, file_problems = load_text(text, str(path))
        documents.extend(found)
        problems.extend(file_problems)
    return documents, problems


def _is_saved_plan(text: str) -> bool:
    """A plan saved by `plan --out` (JSON, hence valid YAML) given where desired-state files are expected."""
    if not text.lstrip().startswith("{") or SAVED_PLAN_KIND not in text:
        return False
    try:
        document = jsontext.loads(text, max_depth=2 * jsontext.MAX_DEPTH)
    except ValueError:
        return False
    return isinstance(document, dict) and document.get("kind") == SAVED_PLAN_KIND
