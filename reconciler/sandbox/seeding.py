"""Out of band: register a connection as someone would through `POST /data/connection` (contract §10.1), and
read back what a test asserts: the writes a connection-backed integration received.

A state file can hold connections as well (`"connections": {key: {technology, nativeIntegrationId,
connection}}`, with `"connection": key` on the native integration), for `sandbox serve --state`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.sandbox import validation
from reconciler.sandbox.api import Sandbox
from reconciler.sandbox.connections import writes_to_connection_backed
from reconciler.sandbox.records import StoredConnection
from reconciler.sandbox.replies import Rejected


def add_connection(
    sandbox: Sandbox,
    key: str,
    technology: str,
    native: Mapping[str, Any] | None = None,
    *,
    native_id: str | None = None,
    connection: Mapping[str, Any] | None = None,
) -> str | None:
    """Register connection `key`; with `native` (an integration payload), its native integration is created
    enabled and linked. `native_id` links an id instead (e.g. one that does not exist: a dangling connection).
    Answers the native integration's id, if any. ValueError when `native` is invalid or taken."""
    with sandbox.tenant.session() as state:
        if key in state.connections:
            raise ValueError(f"connection {key!r} exists")
        details = dict(connection or {})
        if native is not None:
            if "config" in native:  # connections register their native integration with autoBootstrap: false [doc]
                native = {**native, "autoBootstrap": False}
            try:
                contract = validation.check(native)
                sandbox.operations.check_unique(state, contract, native, None)
            except Rejected as rejected:
                raise ValueError(rejected.message) from None
            integration = sandbox.operations.new_integration(
                state, contract, native, sandbox.dialect_of(state), "enabled"
            )
            integration.connection = key
            native_id = integration.id
            config = native.get("config") or {}
            host = config.get("host") or config.get("workspaceUrl")
            if host and "hostname" not in details:
                details |= {"hostname": host, "port": config.get("port", 443)}
        state.connections[key] = StoredConnection(key, technology, native_id, details)
        return native_id


def connection_writes(sandbox: Sandbox) -> list[str]:
    """`METHOD /path` of every write received by an integration behind a connection, or under `/data`."""
    with sandbox.tenant.session(read_only=True) as state:
        return writes_to_connection_backed(sandbox.request_counts().elements(), state)
