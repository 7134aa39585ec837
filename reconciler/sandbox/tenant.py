"""The simulated tenant's state: integrations by id, the id counter, pending transitions, manual setups run,
and the dialect persisted by `sandbox configure --dialect`.

State is kept in memory, or in a state file. With a file, there are two ways to share it:
- a command (`--sandbox`) `hold()`s the tenant: the file is locked and read once, every request works in
  memory, and `release()` writes it once, atomically, if it changed;
- a long-running server (`sandbox serve --state`) takes the lock per request, rereads the file only when
  someone else replaced it since (its inode, size and mtime changed), and writes it only after a change.
Writes go to a temporary file that replaces the state file (`os.replace`), so a killed process leaves the
old state or the new one, never a torn file. Nothing stored is a secret unless the `secrets=clear` dialect
asks the simulator to return them (then it must keep them).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from reconciler.sandbox.records import Pending, Snapshot, StoredIntegration, TenantState
from reconciler.sandbox.statefile import StateFileError, decode, open_lock, read_state, render, to_document, write_state
from reconciler.sandbox.statefile import fingerprint as _fingerprint

__all__ = ["Pending", "SandboxStateError", "Snapshot", "StoredIntegration", "Tenant", "TenantState"]


class SandboxStateError(Exception):
    """The state file cannot be read: not JSON, or written by an incompatible version."""


class Tenant:
    """The state plus its lock and its file. Use `with tenant.session() as state:` for every request."""

    def __init__(self, state_file: str | os.PathLike[str] | None, clock: Callable[[], float]) -> None:
        self.state_file = Path(state_file) if state_file is not None else None
        self.clock = clock
        self._lock = threading.RLock()
        self._state = TenantState()
        self._seen: tuple[int, int, int] | None = None  # (inode, size, mtime) of the file as last read/written
        self._held: IO[bytes] | None = None  # the lock file, while a command holds the tenant
        self._held_fingerprint = ""
        self.reads = 0  # how many times the file was read, and written: what the tests of #14.4 count
        self.writes = 0

    # -- a command: read once, write once ---------------------------------------------------------------

    def hold(self) -> None:
        """Lock the file and read it once; every session works in memory until `release()`."""
        with self._lock:
            if self.state_file is None or self._held is not None:
                return
            self._held = self._lock_file()
            try:
                self._state = self._read()
            except BaseException:
                self._unlock(self._held)
                self._held = None
                raise
            self._held_fingerprint = _fingerprint(self._state) if self.state_file.exists() else ""

    def release(self) -> None:
        """Write the state once (atomically, only if it changed) and unlock the file."""
        with self._lock:
            held, self._held = self._held, None
            if held is None:
                return
            try:
                if _fingerprint(self._state) != self._held_fingerprint:
                    self._write(render(to_document(self._state)))
            finally:
                self._unlock(held)

    # -- a request ----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def session(self, *, read_only: bool = False) -> Iterator[TenantState]:
        """Exclusive access to a settled, up-to-date state; saved on exit (even when answering an error)
        unless `read_only` and nothing settled."""
        with self._lock:
            if self.state_file is None or self._held is not None:
                self._state.settle(self.clock())
                yield self._state
                return
            handle = self._lock_file()
            try:
                self._refresh()
                before = "" if read_only else _fingerprint(self._state)
                settled = self._state.settle(self.clock())
                try:
                    yield self._state
                finally:
                    changed = settled or (not read_only and _fingerprint(self._state) != before)
                    if changed or not self.state_file.exists():
                        self._write(render(to_document(self._state)))
            finally:
                self._unlock(handle)

    def _refresh(self) -> None:
        """Reread the file only when another process replaced it since we last read or wrote it."""
        assert self.state_file is not None
        if self._seen is None or _signature(self.state_file) != self._seen:
            self._state = self._read()

    def _lock_file(self) -> IO[bytes]:
        """Serialises separate processes (a server and CLI runs) on one state file, where the OS allows."""
        assert self.state_file is not None
        lock_path = self.state_file.with_name(self.state_file.name + ".lock")
        try:
            handle = open_lock(lock_path)  # held across calls (hold/release)
        except StateFileError as error:
            raise SandboxStateError(f"{self.state_file}: cannot lock the sandbox state ({error})") from None
        if sys.platform != "win32":
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        return handle

    @staticmethod
    def _unlock(handle: IO[bytes]) -> None:
        if sys.platform != "win32":
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()

    def _read(self) -> TenantState:
        assert self.state_file is not None
        try:
            data = read_state(self.state_file)
        except StateFileError as error:  # a folder, a FIFO, no permission: say so, never a traceback
            raise SandboxStateError(f"{self.state_file}: cannot read the sandbox state ({error})") from None
        if data is None:
            self._seen = None
            return TenantState()
        self.reads += 1
        self._seen = _signature(self.state_file)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise SandboxStateError(
                f"{self.state_file}: not a sandbox state file (not UTF-8: byte 0x{data[error.start]:02x} "
                f"at offset {error.start})"
            ) from None
        try:
            return decode(json.loads(text))
        except RecursionError:  # a hand-made file nested thousands deep
            raise SandboxStateError(f"{self.state_file}: not a sandbox state file (nested too deep)") from None
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise SandboxStateError(f"{self.state_file}: not a sandbox state file ({error})") from error

    def _write(self, text: str) -> None:
        """Atomically: a temporary file in the same folder, then `os.replace`."""
        assert self.state_file is not None
        try:
            write_state(self.state_file, text)
        except (StateFileError, OSError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else error
            raise SandboxStateError(f"{self.state_file}: cannot write the sandbox state ({reason})") from None
        self.writes += 1
        self._seen = _signature(self.state_file)


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)
