"""The desired state as the Git base revision holds it: which integrations its files declared and protected.

The base is `--base REV`, or `origin/<GITHUB_BASE_REF>` in a pull request's CI. It is read whole from the base
tree with git's plumbing (ls-tree, cat-file; never a checkout): the environment file (`environments/NAME.yaml`
as the base has it), the roots its `paths` declare (or the default folder), the files under them and the
`${var:}` values they are filled with. Nothing comes from the pull request's working tree, which is what a
pull request controls. Links are resolved inside the base tree; the working tree's limits apply (1 MiB per
file, checked before reading). Anything that cannot be read, parsed or keyed fails the run: a base that
protects nothing because it was misread is the failure this module exists to prevent.
"""

from __future__ import annotations

import os
import posixpath
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path as FsPath

from reconciler.errors import ReconcilerError
from reconciler.loading.environments import ENVIRONMENTS_DIR, Environment, apply_values, environment_from_text
from reconciler.loading.loader import DEFAULT_ROOTS, is_yaml_name, load_text
from reconciler.loading.yaml_limits import MAX_FILE_BYTES
from reconciler.planning.protection import BaseFile, BaseView
from reconciler.validation.schema import SchemaSet
from reconciler.validation.validate import identity

_TIMEOUT = 60.0  # seconds per git call
_MAX_LINKS = 40  # links followed to resolve one path, as the kernel's own bound
_LINK, _BLOB, _SUBMODULE = "120000", "blob", "commit"
_SAFE_DIRECTORY = re.compile(r"safe\.directory (\S[^\n]*)")


class BaseRevisionError(ReconcilerError):
    """The base revision was asked for and cannot be read (exit 1)."""


@dataclass(frozen=True, slots=True)
class _Entry:
    mode: str
    kind: str
    oid: str
    size: int


def base_revision(explicit: str | None, environ: Mapping[str, str]) -> str | None:
    """The revision to read: `--base`, else a pull request's base branch in GitHub Actions; None: none."""
    if explicit:
        return explicit
    ref = environ.get("GITHUB_BASE_REF", "")
    return f"origin/{ref}" if ref else None


def read_base(revision: str | None, environment: str | None, given: Sequence[str], schemas: SchemaSet) -> BaseView:
    """What the base revision declared under its own roots (and under the paths `given`, which may name
    more), with its own environment file's values; BaseView() when there is no base to read."""
    if revision is None:
        return BaseView()
    tree = open_base(revision)
    settings = environment_in(tree, environment) if environment else None
    if environment and settings is None:
        return BaseView(revision)  # the environment is new in this change: nothing of it was protected yet
    roots = [*(settings.paths if settings and settings.paths else DEFAULT_ROOTS), *given]
    files: list[BaseFile] = []
    inside = [path for path in (tree.inside(tree.prefix, r) for r in roots) if path is not None]
    for name, resolved in tree.files_under(inside).items():
        found, problems = load_text(tree.text(resolved, name), f"{revision}:{name}")
        documents, more = apply_values(found, settings.values if settings else None, schemas)
        if problems or more:
            raise tree.error([str(p) for p in [*problems, *more]])
        shown = os.path.relpath(tree.root / name)
        for doc in documents:
            known = identity(doc, schemas)
            if known is None:
                raise tree.error([f"{doc.file}: declares no integration whose type and natural key can be read"])
            lifecycle = doc.data.get("lifecycle", {})
            protect = lifecycle.get("preventDestroy", False) if isinstance(lifecycle, dict) else None
            if not isinstance(protect, bool):  # never read as "not protected"
                where = doc.location(("lifecycle", "preventDestroy") if isinstance(lifecycle, dict) else ("lifecycle",))
                raise tree.error([f"{where}: lifecycle.preventDestroy must be true or false, not {protect!r}"])
            files.append(BaseFile(shown, known[1], protect and doc.data.get("ensure", "present") != "absent"))
    return BaseView(revision, tuple(files))


def open_base(revision: str) -> BaseTree:
    """The base commit's files (a BaseRevisionError naming the fix when they cannot be read)."""
    root = _toplevel(revision)
    commit = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}")
    if commit.returncode != 0 or revision.startswith("-"):
        _refused(root, commit)
        raise BaseRevisionError(
            f"the base revision {revision} is not in this checkout: fetch it (e.g. `git fetch origin "
            f"{revision.removeprefix('origin/')}`, or actions/checkout with fetch-depth: 0), or pass --base REV"
        )
    return BaseTree(root, revision, commit.stdout.decode().strip())


def environment_in(tree: BaseTree, name: str) -> Environment | None:
    """`environments/NAME.yaml` as the base has it; None when the base has no such file."""
    path = tree.inside(tree.prefix, posixpath.join(ENVIRONMENTS_DIR, f"{name}.yaml"))
    if path is None or tree.resolve(path) not in tree.entries:
        return None
    located = f"{tree.revision}:{path}"
    try:
        return environment_from_text(name, tree.text(path), located)
    except ReconcilerError as exc:
        raise tree.error(str(exc).splitlines()) from None


class BaseTree:
    """The base commit's files, listed once (`ls-tree -r -l -z`: names as bytes, sizes before reading)."""

    def __init__(self, root: FsPath, revision: str, commit: str) -> None:
        self.root, self.revision, self.commit = root, revision, commit
        self.prefix = os.path.relpath(FsPath.cwd().resolve(), root)  # where the working directory is in it
        listed = _git(root, "ls-tree", "-r", "-l", "-z", "--full-tree", commit)
        if listed.returncode != 0:
            _refused(root, listed)
            raise self.error([f"cannot list its files: {_said(listed)}"])
        self.entries: dict[str, _Entry] = {}
        for record in listed.stdout.split(b"\0"):
            if record:
                meta, _, raw = record.partition(b"\t")
                mode, kind, oid, size = meta.decode().split()
                self.entries[os.fsdecode(raw)] = _Entry(mode, kind, oid, int(size) if size.isdigit() else 0)
        self.folders = {""}
        for name in self.entries:
            parent = posixpath.dirname(name)
            while parent not in self.folders:
                self.folders.add(parent)
                parent = posixpath.dirname(parent)

    def error(self, lines: Sequence[str]) -> BaseRevisionError:
        return BaseRevisionError("\n".join([f"the base revision {self.revision} cannot be read:", *lines]))

    def inside(self, prefix: str, path: str) -> str | None:
        """A path as the working directory names it, as a path of the tree; None outside the repository
        (where the base revision holds nothing)."""
        relative = os.path.relpath(path, self.root) if os.path.isabs(path) else os.path.join(prefix, path)
        joined = posixpath.normpath(relative.replace(os.sep, "/"))
        if joined == ".." or joined.startswith("../"):
            return None
        return "" if joined == "." else joined

    def resolve(self, path: str) -> str:
        """The path with every link in it followed inside the tree (as realpath does on a disk)."""
        pending = [p for p in path.split("/") if p not in ("", ".")]
        done, hops, link = "", 0, (path, path)
        while pending:
            part = pending.pop(0)
            if part == "..":
                if not done:
                    raise self.error([f"{link[0]}: a link to {link[1]}, outside the repository (or in a circle)"])
                done = posixpath.dirname(done)
                continue
            current = posixpath.join(done, part) if done else part
            entry = self.entries.get(current)
            if entry is None or entry.mode != _LINK:
                done = current
                continue
            hops += 1
            target = self._read(entry, f"{self.revision}:{current}").decode("utf-8", "surrogateescape")
            if hops > _MAX_LINKS or target.startswith("/"):
                raise self.error([f"{current}: a link to {target}, outside the repository (or in a circle)"])
            pending, link = [p for p in target.split("/") if p not in ("", ".")] + pending, (current, target)
        return done

    def files_under(self, roots: Sequence[str]) -> dict[str, str]:
        """Every YAML file under the roots, named as the working tree's loader names it → its path in the tree
        with links followed. Hidden names are skipped, a link to a file is followed; a link to a folder or to
        nothing, or a submodule, is an error (as it is in the working tree)."""
        found: dict[str, str] = {}
        for given in roots:
            resolved = self.resolve(given)
            if resolved in self.entries:
                found.setdefault(given, resolved)  # named explicitly: read whatever its suffix
                continue
            if resolved not in self.folders:
                continue  # not in the base revision: a root this change adds
            for path in sorted(p for p in self.entries if _under(p, resolved)):
                relative = path[len(resolved) + 1 :] if resolved else path
                if any(part.startswith(".") for part in relative.split("/")):
                    continue
                shown = posixpath.join(given, relative) if given else relative
                entry = self.entries[path]
                if entry.kind == _SUBMODULE:
                    raise self.error([f"{shown}: a submodule, whose files the base revision does not hold"])
                target = self.resolve(path) if entry.mode == _LINK else path
                if target in self.folders:
                    raise self.error([f"{shown}: a link to a folder, which is not followed: give the folder"])
                if target not in self.entries:
                    if is_yaml_name(path):
                        raise self.error([f"{shown}: a link to nothing in the base revision"])
                    continue
                if is_yaml_name(path):
                    found.setdefault(shown, target)
        return found

    def text(self, path: str, shown: str | None = None) -> str:
        entry = self.entries[self.resolve(path)]
        located = f"{self.revision}:{shown or path}"
        try:
            return self._read(entry, located).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.error([f"{located}: not UTF-8 text (byte {exc.start})"]) from None

    def _read(self, entry: _Entry, located: str) -> bytes:
        if entry.size > MAX_FILE_BYTES:  # from the listing: never read to find out
            raise self.error(
                [f"{located}: {entry.size:,} bytes, over the limit of {MAX_FILE_BYTES:,} bytes (1 MiB) for a file"]
            )
        read = _git(self.root, "cat-file", "blob", entry.oid)
        if read.returncode != 0:
            raise self.error([f"{located}: {_said(read)}"])
        return read.stdout


def _under(path: str, folder: str) -> bool:
    return not folder or path.startswith(folder + "/")


def _toplevel(revision: str) -> FsPath:
    try:
        result = _git(FsPath.cwd(), "rev-parse", "--show-toplevel")
    except OSError:
        raise BaseRevisionError(f"the base revision {revision} cannot be read: git is not installed") from None
    if result.returncode != 0:
        _refused(FsPath.cwd(), result)
        raise BaseRevisionError(
            f"the base revision {revision} cannot be read: not in a Git checkout ({_said(result)}); "
            "check the repository out first (actions/checkout)"
        )
    return FsPath(os.fsdecode(result.stdout.rstrip(b"\n")))


def _refused(root: FsPath, result: subprocess.CompletedProcess[bytes]) -> None:
    """Git's refusal to read a repository another user owns (common in container CI), with its fix."""
    said = result.stderr.decode(errors="replace")
    if "dubious ownership" in said:
        named = _SAFE_DIRECTORY.search(said)
        folder = named.group(1).strip() if named else str(root)
        raise BaseRevisionError(
            f"git refuses to read {folder}: detected dubious ownership (the checkout belongs to another user); "
            f"trust it with `git config --global --add safe.directory {folder}`, then run again"
        )


def _said(result: subprocess.CompletedProcess[bytes]) -> str:
    lines = [line for line in result.stderr.decode(errors="replace").splitlines() if line.strip()]
    return lines[0].strip() if lines else f"git exited with {result.returncode}"


def _git(root: FsPath, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise BaseRevisionError(
            f"git {args[0]} took more than {_TIMEOUT:.0f} s: the base revision is not read"
        ) from None
