"""The sandbox over real HTTP: a `ThreadingHTTPServer` on loopback around the same `Sandbox.handle`.

    with start_server(Sandbox(api_key="k")) as server:
        ...  # point a client at server.url

A `ConnectionDropped` fault closes the socket without writing a byte. Nothing here prints — not even
a traceback: whatever a client sends, it gets an answer (a Boom body) or a closed connection.

A request body is read only when its Content-Length is at most MAX_BODY_BYTES (Hapi's default
`payload.maxBytes`, with Hapi's 413 message); a bigger one — or a chunked one, whose size is unknown — is
refused before a byte of it is read, so a client cannot make the server hold gigabytes.
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

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: Hapi's default; an integration's payload is a few KiB
IDLE_TIMEOUT_SECONDS = 30.0  # a keep-alive connection idle this long is closed
POLL_SECONDS = 0.01  # how soon `close()` is noticed


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sandbox: Sandbox

    def handle_error(self, _request: Any, _client_address: Any) -> None:
        """socketserver prints a traceback here; a connection that failed is simply closed."""


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
        refusal = self._body_refusal()
        if refusal is not None:
            self.close_connection = True  # the unread body would be taken for the next request
            self._write(refusal)
            return
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

    def _body_refusal(self) -> SandboxResponse | None:
        if self.headers.get("Transfer-Encoding"):
            return boom(411, "A body needs a Content-Length")
        text = (self.headers.get("Content-Length") or "0").strip()
        if not (text.isascii() and text.isdigit()):  # "-1", "1e9", "0x10", "²": not a length
            return boom(400, "Invalid content-length header")
        if int(text) > MAX_BODY_BYTES:
            return boom(413, f"Payload content length greater than maximum allowed: {MAX_BODY_BYTES}")
        return None

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
