"""The sandbox over real HTTP: a `ThreadingHTTPServer` on loopback around the same `Sandbox.handle`.

    with start_server(Sandbox(api_key="k")) as server:
        ...  # point a client at server.url

A `ConnectionDropped` fault closes the socket without writing a byte. Nothing here prints.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from reconciler.sandbox.api import Sandbox
from reconciler.sandbox.replies import boom
from reconciler.sandbox.wire import ConnectionDropped, SandboxRequest, SandboxResponse

IDLE_TIMEOUT_SECONDS = 30.0  # a keep-alive connection idle this long is closed
POLL_SECONDS = 0.01  # how soon `close()` is noticed


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sandbox: Sandbox


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_SECONDS
    server_version = "reconciler-sandbox"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # Answers are written as headers then body; without this, Nagle plus delayed ACKs add ~40 ms each.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = SandboxRequest(self.command, self.path, headers, body)
        try:
            response = self.server.sandbox.handle(request)
        except ConnectionDropped:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        except Exception:  # the sandbox must answer, even when it is wrong: a Boom 500, like Hapi's
            response = boom(500, "An internal server error occurred")
        self._write(response)

    def _write(self, response: SandboxResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _answer  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        """Library code never prints: requests are counted in `Sandbox.requests` instead."""


class RunningServer:
    """A server answering on a background thread until `close()` (or the end of a `with` block)."""

    def __init__(self, sandbox: Sandbox, host: str, port: int) -> None:
        server_class = _Server6 if ":" in host else _Server
        self._server = server_class((host, port), _Handler)
        self._server.sandbox = sandbox
        self.sandbox = sandbox
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_SECONDS},
            name="sandbox-server",
            daemon=True,
        )
        self._thread.start()
        self._closed = False

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT` (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def wait(self) -> None:
        """Block until the server is closed (from another thread) or KeyboardInterrupt: for the CLI."""
        while self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def start_server(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve `sandbox` on `host:port` (0: a free port) in a background thread; `.url` says where."""
    return RunningServer(sandbox, host, port)
