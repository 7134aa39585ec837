"""Connections (contract §10): the three `/data` endpoints the reconciler reads, the refusal of writes to a
connection-backed integration, and the record of every write such an integration received.

`DataApi.intercept` sees every request before the Integrations API routes it:
- a `/data` request is answered here, in the dialect's C1 to C5 and C8 switches;
- a write to an integration behind a connection is refused 409 under `connection_writes=refused` [C7], and
  otherwise goes on to be carried out (so a test can see that it happened: `writes_to_connection_backed`).
A timeout is a stall outside the tenant's lock, so other requests are answered meanwhile.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

from reconciler.sandbox.auth import Gatekeeper
from reconciler.sandbox.dialects import Dialect
from reconciler.sandbox.records import StoredConnection, TenantState
from reconciler.sandbox.replies import Rejected, boom, json_response, rejected_response
from reconciler.sandbox.tenant import Tenant
from reconciler.sandbox.validation import parse_body
from reconciler.sandbox.wire import ConnectionDropped, SandboxRequest, SandboxResponse

PAGE_SIZE = 10  # C2: what a paged search answers at most, whatever `size` asks for
STALL_SECONDS = 30.0  # data_api=timeout: longer than any client waits in the tests (IMMUTA_TIMEOUT)
WRITES = frozenset({"POST", "PUT", "DELETE", "PATCH"})
_SEARCH = "/data/object/search"
_CONNECTION = re.compile(r"/data/connection/(?P<key>[^/]+)")
_OBJECT = re.compile(r"/data/object/(?P<key>[^/]+)")
_INTEGRATION = re.compile(r"/integrations/(?P<id>[^/]+)(/.*)?")
_FAILURES: Mapping[str, tuple[int, str]] = {
    "absent": (404, "Not Found"),
    "error": (500, "An internal server error occurred"),
    "unauthorized": (401, "Invalid API key"),
    "forbidden": (403, "You do not have permission to search data objects"),
}


class DataApi:
    def __init__(
        self, tenant: Tenant, gatekeeper: Gatekeeper, dialect_of: Callable[[TenantState], Dialect], sleep: Any
    ) -> None:
        self._tenant = tenant
        self._gatekeeper = gatekeeper
        self._dialect_of = dialect_of
        self._sleep = sleep

    def intercept(self, method: str, path: str, request: SandboxRequest) -> SandboxResponse | None:
        """The answer to a `/data` request or to a refused write; None: the Integrations API answers."""
        if path != "/data" and not path.startswith("/data/"):
            return self._refusal(method, path)
        try:
            self._gatekeeper.check(request.headers.get("authorization"))
            with self._tenant.session(read_only=True) as state:
                dialect = self._dialect_of(state)
            mode = dialect["data_api"]
            if mode == "dropped":
                raise ConnectionDropped(f"{method} {path}")
            if mode == "timeout":
                self._sleep(STALL_SECONDS)
                raise ConnectionDropped(f"{method} {path}: stalled")
            if mode in _FAILURES:
                raise Rejected(*_FAILURES[mode])
            raw, _, query_text = request.path.partition("?")  # a key may hold an encoded `/`: routed undecoded
            body = parse_body(request.body, request.headers.get("content-type", ""))
            with self._tenant.session(read_only=True) as state:
                return self._route(state, method, raw, body, parse_qs(query_text), dialect)
        except Rejected as rejected:
            return rejected_response(rejected)

    def _route(
        self, state: TenantState, method: str, path: str, body: Any, query: Mapping[str, list[str]], dialect: Dialect
    ) -> SandboxResponse:
        if path == _SEARCH:
            if method != "POST":
                return boom(405, headers={"allow": "POST"})
            return json_response(200, search(state, body, query, dialect))
        for pattern, view in ((_CONNECTION, connection_view), (_OBJECT, object_view)):
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if method != "GET":  # the reconciler never writes under /data; the simulator does not model it
                return boom(405, headers={"allow": "GET"})
            found = state.connections.get(unquote(match["key"]))
            if found is None:
                return boom(404, f"No data object found with key {match['key']}.")
            return json_response(200, view(found, dialect))
        return boom(404)

    def _refusal(self, method: str, path: str) -> SandboxResponse | None:
        """C7 refused: 409 for a write to an integration behind a connection; edits go through the connection."""
        match = _INTEGRATION.fullmatch(path)
        if method not in WRITES or match is None:
            return None
        with self._tenant.session(read_only=True) as state:
            if self._dialect_of(state)["connection_writes"] != "refused":
                return None
            owner = backing(state).get(match["id"])
        if owner is None:
            return None
        return boom(
            409,
            f"Integration {match['id']} is managed by connection {owner}: "
            f"edit it with PUT /data/connection/{owner}, remove it by deregistering the connection.",
        )


def backing(state: TenantState) -> dict[str, str]:
    """Native integration id → the key of the connection it belongs to (dangling ones included)."""
    return {c.native_id: c.key for c in state.connections.values() if c.native_id is not None}


def search(state: TenantState, body: Any, query: Mapping[str, list[str]], dialect: Dialect) -> Any:
    """Every top-level data object (the connections), sorted by key [doc]; paged or not [C1, C2]."""
    objects = [object_view(c, dialect) for _, c in sorted(state.connections.items())]
    mode = dialect["data_api"]
    if mode == "garbled":
        return {"results": objects, "total": len(objects)}
    if dialect["search_answer"] == "array":
        return objects
    source: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    if dialect["search_paging"] == "query":
        source = {name: values[-1] for name, values in query.items()}
    offset = _number(source.get("offset"), 0)
    size = min(_number(source.get("size"), PAGE_SIZE), PAGE_SIZE)
    count = len(objects) + (5 if mode == "short" else 0)
    return {"count": count, "hits": objects[offset : offset + size]}


def _number(value: Any, default: int) -> int:
    if isinstance(value, bool):
        raise Rejected(400, '"offset" and "size" must be numbers')
    if value is None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise Rejected(400, '"offset" and "size" must be numbers') from None
    if number < 0:
        raise Rejected(400, '"offset" and "size" must be larger than or equal to 0')
    return number


def object_view(connection: StoredConnection, dialect: Dialect) -> dict[str, Any]:
    """`GET /data/object/{key}` [doc]: objectPath (a list or a string, C3), technology, state, settings."""
    path: Any = [connection.key] if dialect["object_path"] == "list" else connection.key
    return {
        "objectPath": path,
        "technology": connection.technology,
        "state": "active",
        "settings": {"tableDiscovery": {"value": True, "hasDescendantsWithOverrides": False}},
        "overrides": {},
        "childCount": 0,
    }


def connection_view(connection: StoredConnection, dialect: Dialect) -> dict[str, Any]:
    """`GET /data/connection/{key}` [doc]; nativeIntegrationId a number or a string [C8], or absent."""
    person = {"id": 2, "name": "Connection Admin", "email": "admin@example.com"}
    body: dict[str, Any] = {
        "connectionKey": connection.key,
        "connection": {"technology": connection.technology, **connection.connection},
        "createdAt": "2026-01-05T10:00:00.000Z",
        "createdBy": 2,
        "creator": person,
        "updatedAt": "2026-01-05T10:00:00.000Z",
        "updatedBy": 2,
        "updater": person,
    }
    native = connection.native_id
    if native is not None:
        number = dialect["native_ids"] == "number" and native.isdigit()
        body["nativeIntegrationId"] = int(native) if number else native
    return body


def writes_to_connection_backed(requests: Iterable[tuple[str, str]], state: TenantState) -> list[str]:
    """Every write the tenant received to an integration behind a connection, or under `/data` (the search
    is a read): `METHOD /path`. What a test asserts is empty."""
    owned = backing(state)
    found: list[str] = []
    for method, path in requests:
        if method not in WRITES:
            continue
        match = _INTEGRATION.fullmatch(path)
        to_owned = match is not None and match["id"] in owned
        under_data = (path == "/data" or path.startswith("/data/")) and path != _SEARCH
        if to_owned or under_data:
            found.append(f"{method} {path}")
    return found
