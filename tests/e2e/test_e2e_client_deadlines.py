"""Each API call ends within its deadline (IMMUTA_TIMEOUT), reading the answer included, even against a server
that trickles its answer one byte at a time or never answers. Real sockets and real time, so end-to-end."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from reconciler.client.immuta import Auth, ClientSettings, ImmutaClient, RetryPolicy, Timeouts
from reconciler.errors import TransientError

pytestmark = pytest.mark.e2e


@contextlib.contextmanager
def listening(serve: Callable[[socket.socket], None]) -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(connection,), daemon=True).start()

    def answer(connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):
            serve(connection)

    threading.Thread(target=loop, daemon=True).start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        server.close()


def trickle(connection: socket.socket) -> None:
    connection.recv(65536)
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[")
    for _ in range(100000):
        connection.sendall(b" ")
        time.sleep(0.01)


def silent(connection: socket.socket) -> None:
    connection.recv(65536)
    time.sleep(5)


def test_a_trickled_answer_ends_at_the_deadline() -> None:
    with listening(trickle) as port:
        client = ImmutaClient(
            f"http://127.0.0.1:{port}", Auth.api_key("k"), retry=RetryPolicy(max_attempts=3, deadline=0.5)
        )
        started = time.monotonic()
        with pytest.raises(TransientError) as caught:
            client.list_integrations()
        elapsed = time.monotonic() - started
    # httpx's read timeout (60 s) never fires: a byte arrives every 10 ms. The deadline does.
    assert elapsed < 3  # far below the 60 s read timeout; the slack is for a loaded CI machine
    assert re.match(
        rf"gave up after 1 attempt\(s\) in 0\.5s: no complete answer from http://127\.0\.0\.1:{port}/integrations "
        r"in the 0\.\d+s left of the call's deadline \(IMMUTA_TIMEOUT\); [\d,]+ bytes had arrived",
        caught.value.message,
    ), caught.value.message


def test_a_sooner_deadline_is_kept_while_a_later_one_is_watched() -> None:
    """One thread watches every answer being read: a call started after a slower one still ends on time."""
    with listening(trickle) as port:
        url = f"http://127.0.0.1:{port}"
        slow = ImmutaClient(url, Auth.api_key("k"), retry=RetryPolicy(max_attempts=1, deadline=4.0))
        quick = ImmutaClient(url, Auth.api_key("k"), retry=RetryPolicy(max_attempts=1, deadline=0.4))

        def slow_call() -> None:
            with contextlib.suppress(TransientError):
                slow.list_integrations()

        first = threading.Thread(target=slow_call)
        first.start()
        time.sleep(0.2)  # the slow call's answer is being read, its 4 s deadline watched
        started = time.monotonic()
        with pytest.raises(TransientError, match="no complete answer"):
            quick.list_integrations()
        elapsed = time.monotonic() - started
        first.join(10)
    assert elapsed < 2.5  # not the slow call's 4 s
    assert [t.name for t in threading.enumerate()].count("answer-deadlines") == 1


def test_immuta_timeout_sets_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    with listening(silent) as port:
        settings = ClientSettings.from_env(
            {"IMMUTA_URL": f"http://127.0.0.1:{port}", "IMMUTA_API_KEY": "k", "IMMUTA_TIMEOUT": "0.4"}
        )
        assert settings.timeout == 0.4
        client = ImmutaClient.from_settings(settings, timeout=Timeouts(connect=5, read=60))
        started = time.monotonic()
        with pytest.raises(TransientError) as caught:
            client.get("1")
        elapsed = time.monotonic() - started
    assert elapsed < 3  # far below the 60 s read timeout; the slack is for a loaded CI machine
    assert f"no answer from 127.0.0.1:{port} within 0.4s (read timeout)" in caught.value.message
