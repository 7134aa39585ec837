"""The desired state as the Git base revision holds it: which integrations its files declared and protected.

The base is `--base REV`, or `origin/<GITHUB_BASE_REF>` in a pull request's CI. Outside a Git checkout (or
without git) there is nothing to read and only `lifecycle.previously` says what was renamed. A base that is
named but cannot be read is an error, never "nothing was protected": a shallow CI checkout must fetch it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path as FsPath
from typing import Any

from reconciler.errors import ReconcilerError
from reconciler.loading.environments import apply_values
from reconciler.loading.loader import YAML_SUFFIXES, load_text
from reconciler.planning.protection import BaseFile, BaseView
from reconciler.validation.schema import SchemaSet
from reconciler.validation.validate import identity

MAX_FILE_BYTES = 1_000_000  # a base file larger than any desired-state file is not read (it declared nothing)
_TIMEOUT = 60.0  # seconds per git call


class BaseRevisionError(ReconcilerError):
    """The base revision was asked for and cannot be read (exit 1)."""


def base_revision(explicit: str | None, environ: Mapping[str, str]) -> tuple[str | None, bool]:
    """The revision to read and whether the user named it (`--base`); (None, False) when there is none."""
    if explicit:
        return explicit, True
    ref = environ.get("GITHUB_BASE_REF", "")
    return (f"origin/{ref}", False) if ref else (None, False)


def read_base(
    revision: str | None,
    explicit: bool,
    paths: Sequence[str],
    schemas: SchemaSet,
    variables: Mapping[str, Any] | None = None,
) -> BaseView:
    if revision is None:
        return BaseView()
    root = _toplevel()
    if root is None:
        if explicit:
            raise BaseRevisionError(f"--base {revision}: not in a Git checkout (or git is not installed)")
        return BaseView()
    if _git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").returncode != 0:
        raise BaseRevisionError(
            f"the base revision {revision} is not in this checkout: fetch it (e.g. `git fetch origin "
            f"{revision.removeprefix('origin/')}`, or actions/checkout with fetch-depth: 0), or pass --base REV"
        )
    names = _files(root, revision, paths)
    documents = []
    for name, text in _contents(root, revision, names).items():
        shown = os.path.relpath(root / name)
        found, _ = load_text(text, shown)  # a base file that does not parse declared nothing
        documents.extend(found)
    documents, _ = apply_values(documents, variables, schemas)
    files = []
    for doc in documents:
        known = identity(doc, schemas)
        if known is None:
            continue
        lifecycle = doc.data.get("lifecycle")
        protect = isinstance(lifecycle, dict) and lifecycle.get("preventDestroy") is True
        files.append(BaseFile(doc.file, known[1], protect and doc.data.get("ensure", "present") != "absent"))
    return BaseView(revision, tuple(files))


def _toplevel() -> FsPath | None:
    try:
        result = _git(FsPath.cwd(), "rev-parse", "--show-toplevel")
    except OSError:
        return None
    return FsPath(result.stdout.decode().strip()) if result.returncode == 0 else None


def _files(root: FsPath, revision: str, paths: Sequence[str]) -> list[str]:
    """The YAML files under `paths` on the base revision (repository-relative), deleted ones included."""
    specs = [os.path.relpath(os.path.abspath(p), root) for p in paths]
    listed = _git(root, "ls-tree", "-r", "-z", "--name-only", revision, "--", *specs)
    if listed.returncode != 0:
        raise BaseRevisionError(f"cannot list the files of {revision}: {listed.stderr.decode(errors='replace')}")
    names = [n for n in listed.stdout.decode(errors="replace").split("\0") if n]
    return [n for n in names if n.lower().endswith(YAML_SUFFIXES) and not FsPath(n).name.startswith(".")]


def _contents(root: FsPath, revision: str, names: list[str]) -> dict[str, str]:
    """Each file's text, read in one `git cat-file --batch` call; undecodable or oversized files are left out."""
    if not names:
        return {}
    request = "".join(f"{revision}:{name}\n" for name in names).encode()
    out = _git(root, "cat-file", "--batch", stdin=request).stdout
    texts: dict[str, str] = {}
    position = 0
    for name in names:
        end = out.index(b"\n", position)
        header = out[position:end].split()
        position = end + 1
        if len(header) != 3:  # "<rev>:<name> missing"
            continue
        size = int(header[2])
        body = out[position : position + size]
        position += size + 1
        if size <= MAX_FILE_BYTES:
            try:
                texts[name] = body.decode("utf-8")
            except UnicodeDecodeError:
                continue
    return texts


def _git(root: FsPath, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args], input=stdin, capture_output=True, timeout=_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise BaseRevisionError(
            f"git {args[0]} took more than {_TIMEOUT:.0f} s: the base revision is not read"
        ) from None
