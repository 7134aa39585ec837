"""The in-process simulator as an httpx transport: what `--sandbox` runs talk to, without a socket."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from reconciler.sandbox.wire import ConnectionDropped, SandboxRequest, SandboxResponse


class SandboxTransport(httpx.BaseTransport):
    """Serves requests from a `handle(SandboxRequest) -> SandboxResponse` callable, e.g. `Sandbox.handle`.
    A dropped connection surfaces as `httpx.RemoteProtocolError`, as it would over a socket. `on_close`
    runs when the client closes (the embedded sandbox writes its state then, once per command)."""

    def __init__(
        self, handle: Callable[[SandboxRequest], SandboxResponse], on_close: Callable[[], None] | None = None
    ) -> None:
        self._handle = handle
        self._on_close = on_close

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

    def close(self) -> None:
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()
