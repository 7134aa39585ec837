"""The wire: the only module of the client that imports httpx (the sandbox has its own transport).

It builds the HTTP client (timeouts, connection limits, TLS trust, proxies from the environment), sends one
request within a total deadline and a size limit on the answer, and turns each way a request can fail into a
`NoAnswer` naming what broke, on which host:port, and what to do next — and whether retrying can help.
"""

from __future__ import annotations

import errno
import os
import socket
import ssl
import time
from collections.abc import Iterator, Mapping
from typing import Any, Final

import httpx

from reconciler.client.deadlines import Watchdog
from reconciler.client.decoder import ACCEPT_ENCODING, ContentDecoder, TooLarge, Undecodable
from reconciler.client.tls import CA_HINT, ca_bundle_from, speaks_tls, trusting
from reconciler.client.wire import Answer, NoAnswer

# An integration list of a few thousand records is a few MiB; past this an answer is a broken or hostile
# server, and reading on would only run the machine out of memory.
MAX_ANSWER_BYTES: Final = 64 * 1024 * 1024
BaseTransport = httpx.BaseTransport  # what tests and the in-process sandbox inject instead of the network


class Transport:
    """One pooled HTTP client; thread-safe."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str],
        connect_timeout: float,
        read_timeout: float,
        transport: BaseTransport | None = None,
        ca_bundle: str | None = None,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        max_connections: int = 32,
    ) -> None:
        self._connect = connect_timeout
        self._read = read_timeout
        self._limit = max_answer_bytes
        self._network = transport is None  # a real socket, not a test's or the in-process sandbox's transport
        bundle = ca_bundle_from(os.environ, ca_bundle)
        verify: ssl.SSLContext | bool = True
        if bundle and transport is None and base_url.startswith("https:"):
            verify = trusting(bundle)
        elif not _may_use_tls(base_url, os.environ):
            # Plain http (a local sandbox) with no https proxy: no connection can use TLS (redirects are not
            # followed), so the CA store is not loaded, which is a good part of a small command's start-up.
            verify = False
        self._http = httpx.Client(
            base_url=base_url,
            transport=transport,
            headers={"accept-encoding": ACCEPT_ENCODING, **headers},
            follow_redirects=False,
            verify=verify,
            trust_env=True,  # HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY, as curl reads them
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    def close(self) -> None:
        self._http.close()

    def send(
        self, method: str, path: str, *, content: bytes | None, headers: Mapping[str, str], seconds: float
    ) -> Answer:
        """One attempt, answer body included, ended after `seconds` whatever the server does."""
        ends = time.monotonic() + seconds
        connect, read = min(self._connect, seconds), min(self._read, seconds)
        timeout = httpx.Timeout(connect=connect, read=read, write=read, pool=connect)
        request = self._http.build_request(method, path, content=content, headers=dict(headers), timeout=timeout)
        try:
            response = self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            if (
                self._network
                and _maybe_tls_behind_http(exc, request.url)
                and speaks_tls(request.url.host, request.url.port or 80, connect)
            ):
                raise _http_to_tls(request.url) from None
            raise _no_answer(exc, request.url, connect, read) from None
        try:
            body = self._body(response, ends, seconds)
        finally:
            response.close()
        answer_headers = {name.lower(): value for name, value in response.headers.items()}
        return Answer(response.status_code, response.reason_phrase, answer_headers, body, str(request.url))

    def _body(self, response: httpx.Response, ends: float, seconds: float) -> bytes:
        url = str(response.request.url)
        declared = response.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > self._limit:
            raise NoAnswer(
                _too_large(url, self._limit, f"it announces {int(declared):,} bytes"), reached=True, permanent=True
            )
        size = 0
        stream = response.extensions.get("network_stream")
        with Watchdog(stream.get_extra_info("socket") if stream is not None else None, ends) as watchdog:
            try:
                decoder = ContentDecoder(response.headers.get("content-encoding", ""), self._limit)
                for chunk in _raw(response):  # undecoded: the one decoder undoes the encodings, bounded
                    size += len(chunk)
                    if size > self._limit:
                        raise NoAnswer(_too_large(url, self._limit, "while reading it"), reached=True, permanent=True)
                    if time.monotonic() > ends:
                        raise NoAnswer(_too_slow(url, seconds, size), reached=True)
                    decoder.feed(chunk)
                return decoder.finish()
            except TooLarge:
                raise NoAnswer(_too_large(url, self._limit, "once decoded"), reached=True, permanent=True) from None
            except Undecodable as exc:
                what = f"the answer from {url} could not be decoded: {exc}"
                raise NoAnswer(what, reached=True, permanent=True) from None
            except httpx.TransportError as exc:
                if watchdog.fired or time.monotonic() > ends:
                    raise NoAnswer(_too_slow(url, seconds, size), reached=True) from None
                raise _no_answer(exc, response.request.url, self._connect, self._read) from None


def _raw(response: httpx.Response) -> Iterator[bytes]:
    """The answer's bytes as sent. A response a test or the in-process sandbox built in memory was read
    already (and decoded by httpx): its stream still holds the bytes as given, so they are decoded here too."""
    if response.is_stream_consumed and isinstance(response.stream, httpx.SyncByteStream):
        return iter(response.stream)
    return response.iter_raw()


def _may_use_tls(base_url: str, environ: Mapping[str, str]) -> bool:
    if not base_url.lower().startswith("http:"):
        return True
    proxies = (value for name, value in environ.items() if name.lower() in ("http_proxy", "all_proxy"))
    return any(value.strip().lower().startswith("https:") for value in proxies)


def _too_large(url: str, limit: int, how: str) -> str:
    size = f"{limit // 2**20} MiB" if limit % 2**20 == 0 else f"{limit:,} bytes"
    return f"the answer from {url} is larger than the limit of {size} ({how})"


def _too_slow(url: str, seconds: float, size: int) -> str:
    left = f"in the {seconds:.3g}s left of the call's deadline (IMMUTA_TIMEOUT)"
    return f"no complete answer from {url} {left}; {size:,} bytes had arrived"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _first(exc: BaseException, kind: type[BaseException]) -> Any:
    return next((cause for cause in _causes(exc) if isinstance(cause, kind)), None)


def _no_answer(exc: httpx.TransportError, url: httpx.URL, connect: float, read: float) -> NoAnswer:
    """What went wrong, named with host:port and a next step."""
    where = f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return NoAnswer(
            f"IMMUTA_URL's scheme {url.scheme!r} is neither https nor http",
            reached=False,
            permanent=True,
            hint="IMMUTA_URL must start with https:// (or http:// for a local sandbox).",
        )
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return NoAnswer(
            f"no connection to {where} within {connect:.3g}s (connect timeout)",
            reached=False,
            hint="Check the host and port in IMMUTA_URL and the firewall; "
            "behind a proxy set HTTPS_PROXY (and NO_PROXY).",
        )
    if isinstance(exc, httpx.TimeoutException):
        return NoAnswer(
            f"no answer from {where} within {read:.3g}s (read timeout)",
            reached=True,
            hint="Immuta may be overloaded; IMMUTA_TIMEOUT sets how long a call may take.",
        )
    if isinstance(exc, httpx.ConnectError):
        return _not_connected(exc, url, where)
    detail = str(exc).strip()
    if isinstance(exc, httpx.ProxyError):
        return NoAnswer(
            f"the proxy did not reach {where} ({detail or type(exc).__name__})",
            reached=False,
            hint="Check HTTPS_PROXY (or HTTP_PROXY, ALL_PROXY) and NO_PROXY.",
        )
    if isinstance(exc, httpx.RemoteProtocolError):
        if url.scheme == "http" and ("\\x15\\x03" in detail or "\\x16\\x03" in detail):
            return _http_to_tls(url)
        return NoAnswer(
            f"connection to {where} dropped without an answer",
            reached=True,
            hint=f"If {where} speaks https, IMMUTA_URL must start with https://." if url.scheme == "http" else "",
        )
    return NoAnswer(f"network error talking to {where} ({detail or type(exc).__name__})", reached=True)


def _maybe_tls_behind_http(exc: httpx.TransportError, url: httpx.URL) -> bool:
    """A plain-http request to a TLS port is typically reset or closed without a byte in answer."""
    return url.scheme == "http" and isinstance(exc, httpx.ReadError | httpx.RemoteProtocolError)


def _http_to_tls(url: httpx.URL) -> NoAnswer:
    where = f"{url.host}:{url.port or 80}"
    return NoAnswer(
        f"{where} is an https server, and IMMUTA_URL says http://",
        reached=False,
        permanent=True,
        hint=f"Use https://{where} in IMMUTA_URL.",
    )


def _not_connected(exc: httpx.ConnectError, url: httpx.URL, where: str) -> NoAnswer:
    lookup = _first(exc, socket.gaierror)
    if lookup is not None:
        temporary = lookup.errno == socket.EAI_AGAIN
        return NoAnswer(
            f"DNS lookup of {url.host} failed ({lookup.strerror})",
            reached=False,
            permanent=not temporary,
            hint="Check the host name in IMMUTA_URL: the tenant root, e.g. https://acme.immuta.com.",
        )
    certificate = _first(exc, ssl.SSLCertVerificationError)
    if certificate is not None:
        return NoAnswer(
            f"the TLS certificate of {where} is not trusted ({certificate.verify_message or certificate.reason})",
            reached=False,
            permanent=True,
            hint=CA_HINT,
        )
    tls = _first(exc, ssl.SSLError)
    if tls is not None:
        text = f"{tls.reason or ''} {tls}".upper()
        if any(
            sign in text
            for sign in ("WRONG_VERSION_NUMBER", "RECORD LAYER FAILURE", "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG")
        ):
            return NoAnswer(
                f"{where} does not speak TLS: it looks like a plain-http server",
                reached=False,
                permanent=True,
                hint=f"Use http://{where} in IMMUTA_URL only if that is really meant (a local sandbox); "
                "a tenant is reached over https on its TLS port.",
            )
        return NoAnswer(f"TLS handshake with {where} failed ({tls.reason or tls})", reached=False, hint=CA_HINT)
    refused = _first(exc, ConnectionRefusedError)
    if refused is not None or "refused" in str(exc).lower():
        return NoAnswer(
            f"connection refused by {where}",
            reached=False,
            hint="Nothing listens there: check the host and port in IMMUTA_URL (a tenant is https on 443), "
            "or start the sandbox (`reconciler sandbox serve`).",
        )
    os_error = _first(exc, OSError)
    code = errno.errorcode.get(os_error.errno, "") if os_error is not None and os_error.errno else ""
    detail = str(exc).strip() or code or type(exc).__name__
    return NoAnswer(
        f"could not connect to {where} ({detail})",
        reached=False,
        hint="Check IMMUTA_URL and the network; behind a proxy set HTTPS_PROXY (and NO_PROXY).",
    )
