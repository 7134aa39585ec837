"""The desired state's files: every YAML file under the given paths, read and parsed with locations.

Which files count (discovery) lives here; how one file's YAML becomes values that remember where they
were written lives in loading/yaml_source.py (re-exported for the modules that read documents).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path as FsPath

from reconciler.errors import Problem
from reconciler.loading.yaml_source import SourceDocument, load_text
from reconciler.model import SourceLocation

__all__ = ["YAML_SUFFIXES", "SourceDocument", "discover", "load_paths", "load_text"]

YAML_SUFFIXES = (".yaml", ".yml")


def discover(paths: Sequence[str]) -> tuple[list[FsPath], list[Problem]]:
    """Every YAML file under `paths`, in a stable order; hidden files and folders are skipped."""
    files: list[FsPath] = []
    problems: list[Problem] = []
    for raw in paths:
        root = FsPath(raw)
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            found: list[FsPath] = []
            for folder, subfolders, names in os.walk(root):
                subfolders[:] = [d for d in subfolders if not d.startswith(".")]  # never descend into .git etc.
                found.extend(
                    FsPath(folder, name) for name in names if name.endswith(YAML_SUFFIXES) and not name.startswith(".")
                )
            files.extend(sorted(found, key=lambda p: p.as_posix()))
        else:
            problems.append(Problem(None, "", f"{raw}: no such file or directory"))
    unique = list(dict.fromkeys(files))
    return unique, problems


def load_paths(paths: Sequence[str]) -> tuple[list[SourceDocument], list[Problem]]:
    files, problems = discover(paths)
    documents: list[SourceDocument] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(SourceLocation(str(path), 1, 1), "", f"cannot read file: {exc}"))
            continue
        found, file_problems = load_text(text, str(path))
        documents.extend(found)
        problems.extend(file_problems)
    return documents, problems
