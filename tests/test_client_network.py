"""Failures that say what broke, on real loopback sockets: a closed port, a name that does not resolve, an
untrusted certificate, the wrong scheme either way, a proxy; CA bundles from the environment or settings;
answers too large. No network beyond 127.0.0.1: names under `.invalid` go to a fake resolver, so the DNS
tests answer the same with or without a network (an offline resolver says EAI_AGAIN, which is retried)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reconciler.client.immuta import Auth, ClientSettings, ImmutaClient, RetryPolicy
from reconciler.errors import ApiError, TransientError
from reconciler.sandbox import Sandbox, start_server

KEY = "net-key"
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]"


def client(url: str, **options: object) -> tuple[ImmutaClient, list[float]]:
    sleeps: list[float] = []
    made = ImmutaClient(
        url,
        Auth.api_key(KEY),
        retry=RetryPolicy(max_attempts=2),
        sleep=sleeps.append,
        **options,  # type: ignore[arg-type]
    )
    return made, sleeps


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Listener:
    """A loopback TCP server answering each connection with `serve(connection)` on a thread."""

    def __init__(self, serve: Callable[[socket.socket], None]) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        self.connections = 0
        self._serve = serve
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._one, args=(connection,), daemon=True).start()

    def _one(self, connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):  # the client hung up: nothing more to serve
            self._serve(connection)

    def close(self) -> None:
        self._socket.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert)),
            *("-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def https_server(certificate: tuple[Path, Path]) -> Iterator[Listener]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*map(str, certificate))

    def serve(connection: socket.socket) -> None:
        with context.wrap_socket(connection, server_side=True) as tls:
            tls.recv(65536)
            tls.sendall(ANSWER)

    listener = Listener(serve)
    yield listener
    listener.close()


FLAKY = "flaky.example.invalid"


@pytest.fixture(autouse=True)
def fake_resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    """A resolver that knows no `.invalid` name (EAI_NONAME) and is down for FLAKY (EAI_AGAIN); every other name
    (127.0.0.1) goes to the real one."""
    real = socket.getaddrinfo

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        if host == FLAKY:
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        if isinstance(host, str) and host.endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(autouse=True)
def no_ca_or_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)


def test_a_closed_port_is_named_and_retried() -> None:
    port = closed_port()
    made, sleeps = client(f"http://127.0.0.1:{port}")
    with pytest.raises(TransientError) as caught:
        made.list_integrations()
    assert caught.value.message.startswith("gave up after 2 attempt(s) in ")
    assert caught.value.message.endswith(f": connection refused by 127.0.0.1:{port} x2")
    assert caught.value.hint.startswith("Nothing listens there: check the host and port in IMMUTA_URL")
    assert len(sleeps) == 1


def test_a_name_that_does_not_resolve_is_named_and_not_retried() -> None:
    made, sleeps = client("https://tenant.example.invalid")
    with pytest.raises(ApiError) as caught:
        made.list_integrations()
    assert type(caught.value) is ApiError and sleeps == []
    assert caught.value.message == "DNS lookup of tenant.example.invalid failed (Name or service not known)"
    assert caught.value.hint == "Check the host name in IMMUTA_URL: the tenant root, e.g. https://acme.immuta.com."


def test_a_resolver_that_is_down_for_a_moment_is_retried_then_named() -> None:
    """EAI_AGAIN (the resolver did not answer) may pass: retried like a refused connection, then named."""
    made, sleeps = client("https://flaky.example.invalid")
    with pytest.raises(TransientError) as caught:
        made.list_integrations()
    assert caught.value.message.startswith("gave up after 2 attempt(s) in ")
    assert caught.value.message.endswith(
        ": DNS lookup of flaky.example.invalid failed (Temporary failure in name resolution) x2"
    )
    assert caught.value.hint == "Check the host name in IMMUTA_URL: the tenant root, e.g. https://acme.immuta.com."
    assert len(sleeps) == 1


def test_an_untrusted_certificate_is_named_and_not_retried(https_server: Listener) -> None:
    made, sleeps = client(f"https://127.0.0.1:{https_server.port}")
    with pytest.raises(ApiError) as caught:
        made.list_integrations()
    assert type(caught.value) is ApiError and sleeps == []
    assert caught.value.message == (
        f"the TLS certificate of 127.0.0.1:{https_server.port} is not trusted (self-signed certificate)"
    )
    assert "SSL_CERT_FILE or REQUESTS_CA_BUNDLE" in caught.value.hint and "caBundle" in caught.value.hint
    assert https_server.connections == 1


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"])
def test_a_ca_bundle_from_the_environment_is_trusted(
    https_server: Listener, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, str(certificate[0]))
    made, _ = client(f"https://127.0.0.1:{https_server.port}")
    assert made.list_integrations() == []


def test_a_ca_bundle_from_the_settings_is_trusted(https_server: Listener, certificate: tuple[Path, Path]) -> None:
    settings = ClientSettings(
        f"https://127.0.0.1:{https_server.port}", Auth.api_key(KEY), ca_bundle=str(certificate[0])
    )
    with ImmutaClient.from_settings(settings) as made:
        assert made.list_integrations() == []


def test_a_ca_bundle_named_by_an_environment_file_is_trusted(
    https_server: Listener, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`caBundle:` in environments/NAME.yaml reaches the client: `--env NAME` trusts the tenant's CA."""
    from reconciler.loading.environments import load_environment
    from reconciler.target import resolve_target

    folder = tmp_path / "environments"
    folder.mkdir()
    (folder / "corp.yaml").write_text(
        f"url: https://127.0.0.1:{https_server.port}\ncaBundle: {certificate[0]}\n", encoding="utf-8"
    )
    environment = load_environment("corp", str(folder))
    target = resolve_target(False, None, {"IMMUTA_API_KEY": KEY}, environment)
    assert target.settings is not None and target.settings.ca_bundle == str(certificate[0])
    with ImmutaClient.from_settings(target.settings) as made:
        assert made.list_integrations() == []


def test_https_to_a_plain_http_server_is_named_and_not_retried() -> None:
    with start_server(Sandbox(api_key=KEY)) as server:
        made, sleeps = client(f"https://127.0.0.1:{server.port}")
        with pytest.raises(ApiError) as caught:
            made.list_integrations()
    assert type(caught.value) is ApiError and sleeps == []
    assert caught.value.message == f"127.0.0.1:{server.port} does not speak TLS: it looks like a plain-http server"
    assert caught.value.hint.startswith(f"Use http://127.0.0.1:{server.port} in IMMUTA_URL only if")


def test_http_to_an_https_server_is_named_and_not_retried(https_server: Listener) -> None:
    made, sleeps = client(f"http://127.0.0.1:{https_server.port}")
    with pytest.raises(ApiError) as caught:
        made.list_integrations()
    assert type(caught.value) is ApiError and sleeps == []
    assert caught.value.message == f"127.0.0.1:{https_server.port} is an https server, and IMMUTA_URL says http://"
    assert caught.value.hint == f"Use https://127.0.0.1:{https_server.port} in IMMUTA_URL."


class Proxy:
    """Records the request line of each connection and refuses it, as a proxy that may not reach the host."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.listener = Listener(self._serve)

    def _serve(self, connection: socket.socket) -> None:
        self.lines.append(connection.recv(65536).split(b"\r\n", 1)[0].decode())
        connection.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def test_https_proxy_is_used_and_no_proxy_bypasses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = Proxy()
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.listener.port}")
    made, _ = client("https://tenant.example.invalid")
    with pytest.raises(ApiError) as caught:
        made.list_integrations()
    assert proxy.lines[0] == "CONNECT tenant.example.invalid:443 HTTP/1.1"
    assert caught.value.message.endswith(": the proxy did not reach tenant.example.invalid:443 (403 Forbidden) x2")
    assert caught.value.hint == "Check HTTPS_PROXY (or HTTP_PROXY, ALL_PROXY) and NO_PROXY."

    monkeypatch.setenv("NO_PROXY", "tenant.example.invalid")
    seen = len(proxy.lines)
    made, _ = client("https://tenant.example.invalid")
    with pytest.raises(ApiError, match=r"DNS lookup of tenant\.example\.invalid failed"):
        made.list_integrations()
    assert len(proxy.lines) == seen  # straight to the (unresolvable) host
    proxy.listener.close()


def test_an_answer_announcing_more_than_the_limit_is_refused_unread() -> None:
    def serve(connection: socket.socket) -> None:
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 107374182400\r\n\r\n[")

    listener = Listener(serve)
    made, sleeps = client(f"http://127.0.0.1:{listener.port}")
    with pytest.raises(ApiError) as caught:
        made.list_integrations()
    assert caught.value.message == (
        f"the answer from http://127.0.0.1:{listener.port}/integrations is larger than the limit of 64 MiB "
        "(it announces 107,374,182,400 bytes)"
    )
    assert sleeps == []
    listener.close()


def test_an_answer_growing_past_the_limit_is_cut_off() -> None:
    def serve(connection: socket.socket) -> None:
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n[" + b"0," * 4096)

    listener = Listener(serve)
    made, _ = client(f"http://127.0.0.1:{listener.port}", max_answer_bytes=2048)
    with pytest.raises(ApiError) as caught:
        made.list_integrations()
    assert caught.value.message == (
        f"the answer from http://127.0.0.1:{listener.port}/integrations is larger than the limit of 2,048 bytes "
        "(while reading it)"
    )
    listener.close()


@pytest.mark.parametrize(
    ("url", "environ", "tls"),
    [
        ("https://tenant.immuta.com", {}, True),
        ("http://127.0.0.1:8080", {}, False),
        ("HTTP://127.0.0.1:8080", {"HTTPS_PROXY": "https://proxy:3128"}, False),  # only for https URLs
        ("http://127.0.0.1:8080", {"HTTP_PROXY": "http://proxy:3128"}, False),
        ("http://127.0.0.1:8080", {"http_proxy": "https://proxy:3128"}, True),
        ("http://127.0.0.1:8080", {"ALL_PROXY": " HTTPS://proxy:3128"}, True),
    ],
)
def test_certificates_are_loaded_unless_no_connection_can_use_tls(url: str, environ: dict[str, str], tls: bool) -> None:
    """Loading the CA store is a good part of a small command's start-up; a plain-http sandbox skips it, but
    an https proxy in the way keeps verifying."""
    from reconciler.client.transport import _may_use_tls

    assert _may_use_tls(url, environ) is tls
