"""The simulated tenant's state: integrations by id, the id counter, pending transitions, manual setups run.

State is kept in memory, or — with a state file — reloaded from the file at the start of every session and
written back atomically when it changed, so separate CLI runs and a running server see one tenant. Nothing
stored here is ever a secret: configs are stripped of write-only fields before they reach a `Tenant`.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from reconciler.errors import ReconcilerError

FORMAT_VERSION = 1

Kind = Literal["create", "edit", "delete"]
KINDS: tuple[Kind, ...] = ("create", "edit", "delete")
SETTLED_OK = "enabled"
FAILED_STATUS: dict[Kind, str] = {"create": "createError", "edit": "editError", "delete": "deleteError"}


class SandboxStateError(ReconcilerError):
    """The state file cannot be read: not JSON, or written by an incompatible version."""


@dataclass(slots=True)
class Snapshot:
    """What an edit rolls back to: the integration's payload before the PUT."""

    auto_bootstrap: bool | None
    config: dict[str, Any] | None


@dataclass(slots=True)
class Pending:
    """An asynchronous transition: it settles once the clock passes `due`, into success or its error."""

    kind: Kind
    due: float
    fails: bool = False
    previous: Snapshot | None = None


@dataclass(slots=True)
class StoredIntegration:
    id: str
    type: str
    auto_bootstrap: bool | None
    config: dict[str, Any] | None
    status: str
    pending: Pending | None = None

    def snapshot(self) -> Snapshot:
        return Snapshot(self.auto_bootstrap, copy.deepcopy(self.config))


@dataclass(slots=True)
class TenantState:
    next_id: int = 1
    integrations: dict[str, StoredIntegration] = field(default_factory=dict)
    setup_run: set[str] = field(default_factory=set)
    require_manual_setup: bool = False  # persisted switch: autoBootstrap:false creates need the setup run

    def new_id(self) -> str:
        """Ids are strings of increasing integers [A8]; never reused."""
        number = self.next_id
        self.next_id += 1
        return str(number)

    def settle(self, now: float) -> None:
        """Finish every transition whose time has come (status is settled lazily, when someone looks)."""
        for integration in list(self.integrations.values()):
            pending = integration.pending
            if pending is None or now < pending.due:
                continue
            integration.pending = None
            if pending.kind == "delete" and not pending.fails:
                del self.integrations[integration.id]  # gone from the list once deleted [A5]
                continue
            if pending.fails and pending.previous is not None:
                # editError rolls back to the previous state (contract §4)
                integration.auto_bootstrap = pending.previous.auto_bootstrap
                integration.config = pending.previous.config
            integration.status = FAILED_STATUS[pending.kind] if pending.fails else SETTLED_OK


class Tenant:
    """The state plus its lock and its file. Use `with tenant.session() as state:` for every request."""

    def __init__(self, state_file: str | os.PathLike[str] | None, clock: Callable[[], float]) -> None:
        self.state_file = Path(state_file) if state_file is not None else None
        self.clock = clock
        self._lock = threading.RLock()
        self._state = TenantState()

    @contextlib.contextmanager
    def session(self) -> Iterator[TenantState]:
        """Exclusive access to a settled, up-to-date state; saved on exit, even when answering an error."""
        with self._lock, self._file_lock():
            if self.state_file is None:
                self._state.settle(self.clock())
                yield self._state
                return
            self._state = self._read()
            before = _fingerprint(self._state)
            self._state.settle(self.clock())
            try:
                yield self._state
            finally:
                if _fingerprint(self._state) != before or not self.state_file.exists():
                    self._write(render(to_document(self._state)))

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """Serialises separate processes (a server and CLI runs) on one state file, where the OS allows."""
        if self.state_file is None or sys.platform == "win32":
            yield
            return
        import fcntl

        lock_path = self.state_file.with_name(self.state_file.name + ".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self) -> TenantState:
        assert self.state_file is not None
        try:
            text = self.state_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return TenantState()
        try:
            return decode(json.loads(text))
        except (ValueError, KeyError, TypeError) as error:
            raise SandboxStateError(f"{self.state_file}: not a sandbox state file ({error})") from error

    def _write(self, text: str) -> None:
        """Atomically: a temporary file in the same folder, then `os.replace`."""
        assert self.state_file is not None
        folder = self.state_file.parent
        folder.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=self.state_file.name + ".", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.state_file)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise


# -- the file format ------------------------------------------------------------------------------------


def _fingerprint(state: TenantState) -> str:
    """A compact rendering, fast to make (C encoder): equal fingerprints, nothing to write."""
    return json.dumps(to_document(state), separators=(",", ":"))


def render(document: dict[str, Any]) -> str:
    """The state file's text: one integration per line, so it diffs well and is written at C speed
    (`json.dumps(indent=…)` falls back to the pure-Python encoder, too slow for big tenants)."""

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = [f"  {dump(k)}: {dump(v)}," for k, v in document.items() if k != "integrations"]
    rows = [f"    {dump(id_)}: {dump(raw)}" for id_, raw in document["integrations"].items()]
    body = "{\n" + ",\n".join(rows) + "\n  }" if rows else "{}"
    return "{\n" + "\n".join(lines) + f'\n  "integrations": {body}\n}}\n'


def to_document(state: TenantState) -> dict[str, Any]:
    """The state as the JSON document of the state file."""
    document = {
        "format_version": FORMAT_VERSION,
        "next_id": state.next_id,
        "integrations": {id_: _encode_integration(i) for id_, i in state.integrations.items()},
        "setup_run": sorted(state.setup_run),
    }
    if state.require_manual_setup:
        document["require_manual_setup"] = True
    return document


def _encode_integration(integration: StoredIntegration) -> dict[str, Any]:
    out: dict[str, Any] = {"id": integration.id, "type": integration.type, "status": integration.status}
    if integration.auto_bootstrap is not None:
        out["autoBootstrap"] = integration.auto_bootstrap
    if integration.config is not None:
        out["config"] = integration.config
    pending = integration.pending
    if pending is not None:
        out["pending"] = {"kind": pending.kind, "due": pending.due, "fails": pending.fails}
        if pending.previous is not None:
            out["pending"]["previous"] = _encode_snapshot(pending.previous)
    return out


def _encode_snapshot(snapshot: Snapshot) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if snapshot.auto_bootstrap is not None:
        out["autoBootstrap"] = snapshot.auto_bootstrap
    if snapshot.config is not None:
        out["config"] = snapshot.config
    return out


def decode(document: Any) -> TenantState:
    if not isinstance(document, dict):
        raise ValueError("the document is not an object")
    version = document.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(f"format_version {version!r}, expected {FORMAT_VERSION}")
    integrations = {str(k): _decode_integration(v) for k, v in document["integrations"].items()}
    return TenantState(
        int(document["next_id"]),
        integrations,
        {str(k) for k in document.get("setup_run", [])},
        bool(document.get("require_manual_setup", False)),
    )


def _decode_integration(raw: dict[str, Any]) -> StoredIntegration:
    pending: Pending | None = None
    if isinstance(raw.get("pending"), dict):
        p = raw["pending"]
        if p["kind"] not in KINDS:
            raise ValueError(f"unknown transition {p['kind']!r}")
        previous = p.get("previous")
        pending = Pending(
            cast(Kind, p["kind"]),
            float(p["due"]),
            bool(p.get("fails", False)),
            Snapshot(previous.get("autoBootstrap"), previous.get("config")) if isinstance(previous, dict) else None,
        )
    return StoredIntegration(
        str(raw["id"]),
        str(raw["type"]),
        raw.get("autoBootstrap"),
        raw.get("config"),
        str(raw["status"]),
        pending,
    )
