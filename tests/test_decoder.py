"""The one decoder of answers (issue 19.6), over real HTTP on loopback: the 64 MiB bound holds for decoded
bytes however many encodings are stacked, nesting is bounded, NaN/Infinity and duplicate keys are refused,
and each ends in a message naming the method and the endpoint, exit 1, no traceback."""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from reconciler import jsontext
from reconciler.client.decoder import ContentDecoder, TooLarge, Undecodable

RunCli = Callable[..., Any]  # the `run_cli` fixture of conftest.py
KEY = "decoder-test-key"
TRINO = b'{"id": 1, "type": "Trino", "status": "enabled"}'


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def zeros_gzipped(size: int) -> bytes:
    """`size` zero bytes, gzipped, made a MiB at a time."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1024 * 1024)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    return b"".join([*parts, packer.flush()])


class Served:
    def __init__(self) -> None:
        self.body = b"[]"
        self.encoding = ""
        self.requests: list[tuple[str, str]] = []


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    served = Served()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.requests.append((self.path, self.headers.get("accept-encoding", "")))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if served.encoding:
                self.send_header("Content-Encoding", served.encoding)
            self.send_header("Content-Length", str(len(served.body)))
            self.end_headers()
            self.wfile.write(served.body)

        def log_message(self, *_: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setenv("IMMUTA_URL", f"http://127.0.0.1:{httpd.server_port}")
    monkeypatch.setenv("IMMUTA_API_KEY", KEY)
    try:
        yield served
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def empty_repo(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    (tmp_path / "integrations.d").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def plan(run_cli: RunCli) -> Any:
    started = time.monotonic()
    result = run_cli("plan")
    assert time.monotonic() - started < 20
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    return result


def test_stacked_encodings_are_decoded_and_we_ask_for_only_gzip_and_deflate(
    server: Served, empty_repo: Any, run_cli: RunCli
) -> None:
    server.body = gzipped(zlib.compress(b"[" + TRINO + b"]"))
    server.encoding = "deflate, gzip"

    result = plan(run_cli)

    assert result.exit_code == 0, result.stderr
    assert server.requests[0] == ("/integrations", "gzip, deflate")


def test_a_gzip_gzip_bomb_stops_at_64_mib_of_decoded_bytes(server: Served, empty_repo: Any, run_cli: RunCli) -> None:
    server.body = gzipped(zeros_gzipped(65 * 1024 * 1024))  # a few KB on the wire
    server.encoding = "gzip, gzip"
    assert len(server.body) < 100_000

    result = plan(run_cli)

    url = f"http://127.0.0.1:{server_port(server)}/integrations"
    assert result.stderr == (
        f"error: GET /integrations: the answer from {url} is larger than the limit of 64 MiB (once decoded)\n"
    )
    assert result.exit_code == 1


def server_port(server: Served) -> str:
    import os

    return os.environ["IMMUTA_URL"].rsplit(":", 1)[1]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested more than 64 levels deep"),
        (b"[" * 65 + b"]" * 65, "nested more than 64 levels deep"),
        (b'[{"id": 1, "type": "Trino", "x": NaN}]', "NaN is not a JSON number"),
        (b'[{"id": 1, "type": "Trino", "x": Infinity}]', "Infinity is not a JSON number"),
        (b'[{"id": 1, "type": "Trino", "x": -Infinity}]', "-Infinity is not a JSON number"),
        (b'[{"id": 1, "type": "Trino", "x": 1e999}]', "1e999 is too large for a JSON number"),
        (b'[{"id": 1, "type": "Trino", "id": 2}]', 'the key "id" appears twice in one object'),
    ],
    ids=["deep", "65-deep", "nan", "infinity", "minus-infinity", "overflow", "duplicate-key"],
)
def test_an_answer_that_is_not_json_we_accept_is_refused(
    server: Served, empty_repo: Any, run_cli: RunCli, body: bytes, reason: str
) -> None:
    server.body = body

    result = plan(run_cli)

    url = f"http://127.0.0.1:{server_port(server)}/integrations"
    assert result.stderr == (
        f"error: GET /integrations → 200: the answer is not valid JSON: {reason} "
        f"(application/json, {len(body)} bytes from {url})\n"
    )
    assert result.exit_code == 1


def test_an_encoding_we_did_not_ask_for_is_refused(server: Served, empty_repo: Any, run_cli: RunCli) -> None:
    server.body = b"\x1b\x01\x00\xf8\xa5@\x02"
    server.encoding = "br"

    result = plan(run_cli)

    url = f"http://127.0.0.1:{server_port(server)}/integrations"
    assert result.stderr == (
        f"error: GET /integrations: the answer from {url} could not be decoded: "
        "it is encoded as br, which is not supported (gzip and deflate are)\n"
    )
    assert result.exit_code == 1


def test_a_broken_gzip_encoding_is_refused(server: Served, empty_repo: Any, run_cli: RunCli) -> None:
    server.body = b"not gzip at all"
    server.encoding = "gzip"

    result = plan(run_cli)

    url = f"http://127.0.0.1:{server_port(server)}/integrations"
    assert result.stderr == (
        f"error: GET /integrations: the answer from {url} could not be decoded: "
        "its gzip encoding is broken (Error -3 while decompressing data: incorrect header check)\n"
    )
    assert result.exit_code == 1


# -- the decoder alone -----------------------------------------------------------------------------------


def test_decoded_bytes_are_bounded_whatever_the_chunks() -> None:
    decoder = ContentDecoder("gzip", limit=1000)
    bomb = gzipped(bytes(10_000))

    with pytest.raises(TooLarge):
        for index in range(0, len(bomb), 7):
            decoder.feed(bomb[index : index + 7])
    assert decoder.size <= 1000 + 64 * 1024


def test_exactly_the_limit_is_accepted() -> None:
    decoder = ContentDecoder("gzip, gzip", limit=10_000)
    decoder.feed(gzipped(gzipped(bytes(10_000))))
    assert decoder.finish() == bytes(10_000)


@pytest.mark.parametrize("encoding", ["deflate", "identity", "", "GZIP", "x-gzip"])
def test_each_supported_encoding(encoding: str) -> None:
    data = b'{"a": [1, 2]}'
    body = {"deflate": zlib.compress(data), "GZIP": gzipped(data), "x-gzip": gzipped(data)}.get(encoding, data)
    decoder = ContentDecoder(encoding, limit=1000)
    decoder.feed(body)
    assert decoder.finish() == data


def test_raw_deflate_is_accepted_as_some_servers_send_it() -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    decoder = ContentDecoder("deflate", limit=1000)
    decoder.feed(packer.compress(b"[1]") + packer.flush())
    assert decoder.finish() == b"[1]"


def test_an_unknown_encoding_is_refused_up_front() -> None:
    with pytest.raises(Undecodable) as refused:
        ContentDecoder("gzip, zstd", limit=1000)
    assert str(refused.value) == "it is encoded as zstd, which is not supported (gzip and deflate are)"


def test_sixty_four_levels_are_accepted() -> None:
    assert jsontext.loads(b"[" * 64 + b"]" * 64) is not None
