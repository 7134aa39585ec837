"""The one reader and the one writer of files: every file the tool reads or writes goes through here.

Reading (`read_text`): the path is opened without waiting (`O_NONBLOCK`: a FIFO with no writer is refused,
never waited on) and, where the link itself must not be followed, with `O_NOFOLLOW`; the open file is then
checked (`fstat`) to be a regular file within the limit of its kind, and at most limit + 1 bytes are read, so
a link to `/dev/zero`, a FIFO or a 2 GB file cost neither time nor memory. A pseudo-file (`/proc/self/environ`:
size 0, yet content) is refused too: it holds the process's environment, the API key included. The limits, one per kind:

| kind | limit | why |
|---|---|---|
| desired-state file | 1 MiB | one integration is under 2 KB (the YAML reader's own bound, `yaml_limits.py`) |
| environment file | 1 MiB | a URL, paths and a few hundred `${var:}` values |
| `${file:}` value | 1 MiB | a key or a certificate is a few KiB |
| saved plan | 128 MiB | twice the 64 MiB bound on Immuta's answer, plus what the files ask for |
| CA bundle | 16 MiB | every public CA (certifi's bundle) is under 300 KB |

Writing (`write_text`): atomically in the target's own folder — a temporary file beside it, written, flushed
to disk (`fsync`) and renamed over the target (`os.replace`), so a reader sees the old file or the new one.
A target that exists and is a link, a device, a FIFO or a folder is refused (so never `/dev/stdout` or
`/dev/null`), and so is a target in the repository whose folder a link (a pull request's) leads out of it;
the temporary file is removed whatever ends the write (an error, Ctrl-C, SIGTERM).
`append_text` is the one append: GitHub's step summary, a regular file that must not be replaced.

Every failure is a `FileError` naming the file; the package's own data (schemas) is read by importlib.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from reconciler.errors import ReconcilerError

MIB: Final = 1024 * 1024
_NONBLOCK: Final = getattr(os, "O_NONBLOCK", 0)
_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)
_NOCTTY: Final = getattr(os, "O_NOCTTY", 0)
_CHUNK: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class FileKind:
    """What a file is to the user (named in messages), and the most bytes it may hold."""

    name: str
    limit: int
    advice: str = ""


DESIRED_STATE: Final = FileKind("desired-state file", MIB, "split it into one file per integration")
ENVIRONMENT: Final = FileKind("environment file", MIB)
FILE_REFERENCE: Final = FileKind("${file:} value", MIB)
SAVED_PLAN: Final = FileKind("saved plan", 128 * MIB)
CA_BUNDLE: Final = FileKind("CA bundle", 16 * MIB)


class FileError(ReconcilerError):
    """A file that cannot be read or written as asked; `str()` names the file, `reason` says why."""

    def __init__(self, path: str | os.PathLike[str], reason: str, *, missing: bool = False, size: int = 0) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        self.missing = missing  # it does not exist (some callers then create it, or list what does)
        self.oversized = size  # bytes, when it is over its limit
        super().__init__(f"{self.path}: {reason}")


def read_text(
    path: str | os.PathLike[str], kind: FileKind, *, follow_links: bool = True, inside: str | None = None
) -> str:
    """The file's UTF-8 text, or a FileError: a regular file within `kind.limit`, read without waiting;
    with `inside`, one whose links (of the file or of a folder on its path) lead nowhere out of that folder."""
    data = read_bytes(path, kind, follow_links=follow_links, inside=inside)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileError(path, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def read_bytes(
    path: str | os.PathLike[str], kind: FileKind, *, follow_links: bool = True, inside: str | None = None
) -> bytes:
    flags = os.O_RDONLY | _NONBLOCK | _CLOEXEC | _NOCTTY | (0 if follow_links else _NOFOLLOW)
    try:
        # Checked before it is opened too: opening a device may do something (rewind a tape).
        _refuse_special(path, os.stat(path, follow_symlinks=follow_links).st_mode)
        real = _leads_inside(path, kind, inside) if inside is not None else None
        fd = os.open(path, flags)
    except OSError as exc:
        raise _os_error(path, exc, follow_links) from None
    try:
        info = os.fstat(fd)
        _refuse_special(path, info.st_mode)  # it may have been swapped since it was looked at
        if real is not None and not os.path.samestat(info, os.stat(real)):
            raise FileError(path, f"changed while it was read (a link swapped?): not reading this {kind.name}")
        if info.st_size > kind.limit:
            raise _too_big(path, kind, info.st_size)
        chunks: list[bytes] = []
        size = 0
        while size <= kind.limit:
            chunk = os.read(fd, min(_CHUNK, kind.limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise _os_error(path, exc, follow_links) from None
    finally:
        os.close(fd)
    if size > kind.limit:  # it grew while it was read, or says it is empty (a pseudo-file)
        raise _too_big(path, kind, size, grew=True)
    if size and not info.st_size:
        # /proc/self/environ and its kind: "regular", size 0, and the process's secrets inside.
        raise FileError(path, "not a file on disk (its size is 0 yet it has content, as in /proc or /sys)")
    return b"".join(chunks)


def repository() -> str:
    """The repository the tool runs in: from the working directory up, the first folder holding `.git`
    (a folder, or a worktree's file); else the working directory itself."""
    here = Path.cwd()
    return str(next((f for f in (here, *here.parents) if os.path.lexists(f / ".git")), here))


def link_bound(path: str | os.PathLike[str], given: Sequence[str] = ()) -> str:
    """The folder a file's links may lead within (`read_text(inside=…)`): the repository (`repository()`),
    for a file in it; else the folder given that holds it; else, for a file given by name, its own folder."""
    nominal = os.path.abspath(path)
    folders = (p if os.path.isdir(p) else os.path.dirname(p) or "." for p in given)
    for folder in (os.path.abspath(f) for f in (repository(), *folders)):
        if _under(nominal, folder):
            return folder
    return os.path.dirname(nominal)


def _under(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip(os.sep) + os.sep)


def _leads_inside(path: str | os.PathLike[str], kind: FileKind, inside: str) -> str:
    """The real path of `path`, or a FileError if a link on it leads out of `inside` (to /etc/passwd,
    /proc/self/environ, another checkout): a pull request may commit a link, never what it points at."""
    real = os.path.realpath(path)
    if not _under(os.path.abspath(path), os.path.abspath(inside)):
        return real  # not a file of that folder (given by name elsewhere): nothing of it to stay inside
    root = os.path.realpath(inside)
    if not _under(real, root):
        raise FileError(
            path, f"a link to {real}, outside {inside}: {kind.name}s are read only from inside it (copy the file in)"
        )
    # Hidden files (.git/config, .env, what a CI step left) are never read as such: nor through a link.
    if _hidden(os.path.relpath(real, root)) and not _hidden(os.path.relpath(os.path.abspath(path), inside)):
        raise FileError(path, f"a link to {real}, a hidden file or folder: {kind.name}s never are (.git, .env)")
    return real


def _hidden(relative: str) -> bool:
    return any(part.startswith(".") and part not in (".", "..") for part in relative.split(os.sep))


def write_text(
    path: str | os.PathLike[str], text: str, *, what: str, private: bool = False, replace: bool = True
) -> None:
    """Writes `text` to `path` atomically (see the module's docstring). `private`: mode 0600 (else 0644);
    `replace=False`: an existing file is never replaced, even one created while this one was written."""
    target = Path(path)
    _check_target(target, what, replace=replace)
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{target.name[:64]}.", suffix=".tmp")
    except OSError as exc:
        raise FileError(path, f"cannot write the {what}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            if hasattr(os, "fchmod"):  # POSIX; on Windows the file keeps the folder's permissions
                os.fchmod(handle.fileno(), 0o600 if private else 0o644)
            os.fsync(handle.fileno())
        _check_target(target, what, replace=replace)  # nothing swapped in meanwhile
        if replace:
            os.replace(temp, target)
        else:
            os.link(temp, target)  # fails if the name exists, whatever it is
            os.unlink(temp)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, FileExistsError):
            raise FileError(path, f"not replacing the existing file with the {what}") from None
        if isinstance(exc, OSError):
            raise FileError(path, f"cannot write the {what}: {exc.strerror or exc}") from None
        raise
    _sync_folder(folder)


def append_text(path: str | os.PathLike[str], text: str, *, what: str) -> None:
    """Appends to a regular file (created if missing): never through a link, to a device or a FIFO."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _NONBLOCK | _CLOEXEC | _NOCTTY
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        raise _os_error(path, exc, False, f"cannot write the {what}") from None
    try:
        _refuse_special(path, os.fstat(fd).st_mode)
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data) :]
    except OSError as exc:
        raise FileError(path, f"cannot write the {what}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def check_writable(path: str | os.PathLike[str], what: str) -> None:
    """Refuses now, before any work, a target `write_text` would refuse: a link, device, FIFO or folder."""
    _check_target(Path(path), what, replace=True)


def check_folder(target: str | os.PathLike[str], what: str) -> None:
    """Refuses a target in the repository whose folder a link leads out of it (`write_text` does, first)."""
    root, real = repository(), os.path.realpath(os.path.dirname(os.path.abspath(target)))
    if _under(os.path.abspath(target), root) and not _under(os.path.join(real, ""), os.path.realpath(root)):
        raise FileError(target, f"a link on its path leads to {real}, outside {root}: not writing the {what}")


def _check_target(target: Path, what: str, *, replace: bool) -> None:
    check_folder(target, what)
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise FileError(target, f"cannot write the {what}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(mode):
        raise FileError(target, f"a link, which is never written through or replaced: not writing the {what}")
    if not stat.S_ISREG(mode):
        raise FileError(target, f"{_kind(mode)}, not a regular file: not writing the {what}")
    if not replace:
        raise FileError(target, f"not replacing the existing file with the {what}")


def _refuse_special(path: str | os.PathLike[str], mode: int) -> None:
    if stat.S_ISLNK(mode):
        raise FileError(path, "a link, which is not followed")
    if not stat.S_ISREG(mode):
        raise FileError(path, f"not a regular file ({_kind(mode)})")


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _too_big(path: str | os.PathLike[str], kind: FileKind, size: int, *, grew: bool = False) -> FileError:
    limit = f"{kind.limit // MIB} MiB" if kind.limit % MIB == 0 else f"{kind.limit:,} bytes"
    advice = f": {kind.advice}" if kind.advice else ""
    how = "more than its stated size, over" if grew else f"{size:,} bytes, over"
    return FileError(
        path, f"the file is {how} the limit of {kind.limit:,} bytes ({limit}) for a {kind.name}{advice}", size=size
    )


def _os_error(path: str | os.PathLike[str], exc: OSError, followed: bool, doing: str = "") -> FileError:
    import errno

    prefix = f"{doing}: " if doing else ""
    if exc.errno == errno.ELOOP and not followed:
        return FileError(path, f"{prefix}a link, which is not followed")
    if exc.errno == errno.ENXIO:  # a FIFO opened for writing with no reader, a socket
        return FileError(path, f"{prefix}not a regular file (a FIFO or socket)")
    return FileError(path, f"{prefix}{exc.strerror or exc}", missing=isinstance(exc, FileNotFoundError))


def _sync_folder(folder: Path) -> None:
    """The rename itself reaches the disk (POSIX); where folders cannot be opened, nothing to do."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | _CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
