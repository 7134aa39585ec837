"""`sandbox serve` is bounded and never prints: 413 for a big body (unread), 400/411 for a length it cannot
trust, and no traceback for a connection that fails in the middle of an answer."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import pytest
from sandbox_harness import KEY

from reconciler.sandbox import Sandbox, SandboxRequest, start_server
from reconciler.sandbox.server import MAX_BODY_BYTES, RunningServer
from reconciler.sandbox.wire import SandboxResponse


def raw_exchange(server: RunningServer, head: str, body: bytes = b"") -> tuple[str, bytes]:
    """Sends a request as written (a lying Content-Length included); the status line and the rest."""
    with socket.create_connection((server.host, server.port), timeout=5) as conn:
        conn.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        received = b""
        while chunk := conn.recv(65536):  # the server closes the connection after a refusal
            received += chunk
    status, _, rest = received.partition(b"\r\n")
    return status.decode(), rest


def head(length: str, extra: str = "") -> str:
    return f"POST /integrations HTTP/1.1\nHost: x\nAuthorization: {KEY}\nContent-Length: {length}\n{extra}"


def boom_of(rest: bytes) -> Any:
    return json.loads(rest.partition(b"\r\n\r\n")[2])


def test_the_limit_is_hapis_default() -> None:
    assert MAX_BODY_BYTES == 1_048_576


def test_a_body_over_the_limit_is_refused_with_413(http: httpx.Client, sandbox: Sandbox) -> None:
    answer = http.post("/integrations", content=b" " * (MAX_BODY_BYTES + 1), headers={"content-type": "text/plain"})

    assert answer.status_code == 413
    assert answer.json() == {
        "statusCode": 413,
        "error": "Request Entity Too Large",
        "message": "Payload content length greater than maximum allowed: 1048576",
    }
    assert sum(sandbox.request_counts().values()) == 0  # never reached the simulator


def test_a_body_at_the_limit_is_read(http: httpx.Client) -> None:
    answer = http.post("/integrations", content=b" " * MAX_BODY_BYTES, headers={"content-type": "application/json"})

    assert answer.status_code == 400  # the simulator's own answer to an empty JSON body, not a 413


def test_a_huge_content_length_is_answered_at_once_without_reading(server: RunningServer, sandbox: Sandbox) -> None:
    status, rest = raw_exchange(server, head(str(10**15)), b'{"type": "Snowflake"')  # 1 PB announced

    assert status == "HTTP/1.1 413 Request Entity Too Large"
    assert boom_of(rest)["message"] == "Payload content length greater than maximum allowed: 1048576"
    assert sum(sandbox.request_counts().values()) == 0


@pytest.mark.parametrize("length", ["-1", "abc", "1e9", "0x10", "²"])
def test_a_content_length_that_is_not_a_length_is_400(server: RunningServer, length: str) -> None:
    status, rest = raw_exchange(server, head(length))

    assert status == "HTTP/1.1 400 Bad Request"
    assert boom_of(rest)["message"] == "Invalid content-length header"


def test_a_chunked_body_is_411(server: RunningServer) -> None:
    request = f"POST /integrations HTTP/1.1\nHost: x\nAuthorization: {KEY}\nTransfer-Encoding: chunked\n"

    status, _ = raw_exchange(server, request, b"5\r\nhello\r\n0\r\n\r\n")

    assert status == "HTTP/1.1 411 Length Required"


class _BrokenAnswer(Sandbox):
    """An answer that cannot be written (no body): what a bug deep in the simulator would look like."""

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        return SandboxResponse(200, {}, None)  # type: ignore[arg-type]


def test_a_failing_connection_prints_no_traceback(capfd: pytest.CaptureFixture[str]) -> None:
    with (
        start_server(_BrokenAnswer(api_key=KEY)) as server,
        httpx.Client(base_url=server.url) as client,
        pytest.raises(httpx.HTTPError),
    ):
        client.get("/integrations")

    captured = capfd.readouterr()
    assert (captured.out, captured.err) == ("", "")
