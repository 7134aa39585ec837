"""The in-process simulator as an httpx transport (to be replaced by one the sandbox ships)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from reconciler.sandbox.wire import ConnectionDropped, SandboxRequest, SandboxResponse


class SandboxTransport(httpx.BaseTransport):
    """Serves requests from a `handle(SandboxRequest) -> SandboxResponse` callable, e.g. the in-process
    simulator. A dropped connection surfaces as `httpx.RemoteProtocolError`, as it would over a socket."""

    def __init__(self, handle: Callable[[SandboxRequest], SandboxResponse]) -> None:
        self._handle = handle

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        sandbox_request = SandboxRequest(
            method=request.method,
            path=request.url.raw_path.decode("ascii"),
            headers={name.lower(): value for name, value in request.headers.items()},
            body=request.read(),
        )
        try:
            answer = self._handle(sandbox_request)
        except ConnectionDropped:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None
        return httpx.Response(answer.status, headers=dict(answer.headers), content=answer.body, request=request)
