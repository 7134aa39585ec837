"""The state file: its format (one JSON document, one integration per line: it diffs well), and how it is
read and written. The simulator imports nothing of the reconciler, so it has its own small reader and writer
with the same promises: a regular file of at most MAX_STATE_BYTES, opened without waiting (a FIFO is refused,
never waited on) and never through a link; written atomically beside itself (temporary file, fsync,
`os.replace`), never over a link, device or FIFO, and no temporary file left behind whatever stops the write.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Any, cast

from reconciler.sandbox.contract import TYPES
from reconciler.sandbox.dialects import Dialect
from reconciler.sandbox.records import (
    KINDS,
    Kind,
    Pending,
    Snapshot,
    StoredConnection,
    StoredIntegration,
    TenantState,
)

FORMAT_VERSION = 1
# A tenant of 10,000 integrations is about 20 MB; past this the file is not a state this tool wrote.
MAX_STATE_BYTES = 256 * 1024 * 1024
_NO_WAIT = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class StateFileError(Exception):
    """The state file cannot be read or written; the message says why, the caller names the file."""


def read_state(path: Path) -> bytes | None:
    """The state file's bytes; None when there is none yet."""
    try:
        fd = os.open(path, os.O_RDONLY | _NO_WAIT)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StateFileError(_why(error)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise StateFileError(f"not a regular file: {_kind(info.st_mode)}")
        if info.st_size > MAX_STATE_BYTES:
            raise StateFileError(f"{info.st_size:,} bytes, over the limit of {MAX_STATE_BYTES:,}")
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_STATE_BYTES and (chunk := os.read(fd, min(1 << 20, MAX_STATE_BYTES + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise StateFileError(_why(error)) from None
    finally:
        os.close(fd)
    if size > MAX_STATE_BYTES:
        raise StateFileError(f"over the limit of {MAX_STATE_BYTES:,} bytes")
    return b"".join(chunks)


def write_state(path: Path, text: str) -> None:
    _refuse_special(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        _refuse_special(path)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def open_lock(path: Path) -> IO[bytes]:
    """The lock file beside the state file, opened (created) for `flock`: never through a link."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | _NO_WAIT, 0o600)
    except OSError as error:
        raise StateFileError(_why(error)) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise StateFileError("its lock file is not a regular file")
    return os.fdopen(fd, "r+b")


def _refuse_special(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        mode = os.lstat(path).st_mode
        if not stat.S_ISREG(mode):
            raise StateFileError(f"not a regular file: {_kind(mode)}, which is never replaced")


def _why(error: OSError) -> str:
    import errno

    if error.errno == errno.ELOOP:
        return "a link, which is not followed"
    return error.strerror or str(error)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    return "a device or socket"


def fingerprint(state: TenantState) -> str:
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
    if state.dialect:
        document["dialect"] = dict(sorted(state.dialect.items()))
    if state.connections:
        document["connections"] = {key: _encode_connection(c) for key, c in sorted(state.connections.items())}
    return document


def _encode_connection(connection: StoredConnection) -> dict[str, Any]:
    return {
        "technology": connection.technology,
        "nativeIntegrationId": connection.native_id,
        "connection": connection.connection,
    }


def _decode_connection(key: str, raw: dict[str, Any]) -> StoredConnection:
    native = raw.get("nativeIntegrationId")
    return StoredConnection(
        key, str(raw["technology"]), None if native is None else str(native), dict(raw.get("connection") or {})
    )


def _encode_integration(integration: StoredIntegration) -> dict[str, Any]:
    out: dict[str, Any] = {"id": integration.id, "type": integration.type, "status": integration.status}
    if integration.auto_bootstrap is not None:
        out["autoBootstrap"] = integration.auto_bootstrap
    if integration.config is not None:
        out["config"] = integration.config
    if integration.secrets:
        out["secrets"] = integration.secrets
    if integration.created:
        out["created"] = integration.created
    if integration.api_key is not None:
        out["apiKey"] = integration.api_key
    if integration.connection is not None:
        out["connection"] = integration.connection
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
    if snapshot.secrets:
        out["secrets"] = snapshot.secrets
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
        _dialect(document.get("dialect", {})),
        {str(k): _decode_connection(str(k), v) for k, v in document.get("connections", {}).items()},
    )


def _dialect(raw: dict[str, Any]) -> dict[str, str]:
    values = {str(k): str(v) for k, v in raw.items()}
    Dialect.of(values)  # a ValueError naming the choices, not a KeyError when the sandbox answers
    return values


def _decode_integration(raw: dict[str, Any]) -> StoredIntegration:
    if raw["type"] not in TYPES:
        raise ValueError(f"integration {raw['id']!r}: unknown type {raw['type']!r}")
    if not isinstance(raw.get("config"), dict | None):
        raise ValueError(f"integration {raw['id']!r}: config is not an object")
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
            Snapshot(previous.get("autoBootstrap"), previous.get("config"), dict(previous.get("secrets", {})))
            if isinstance(previous, dict)
            else None,
        )
    return StoredIntegration(
        str(raw["id"]),
        str(raw["type"]),
        raw.get("autoBootstrap"),
        raw.get("config"),
        str(raw["status"]),
        pending,
        dict(raw.get("secrets", {})),
        float(raw.get("created", 0.0)),
        raw.get("apiKey"),
        raw.get("connection"),
    )
