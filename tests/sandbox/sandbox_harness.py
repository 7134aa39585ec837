"""Shared helpers of the sandbox tests (a uniquely named module: `conftest` is ambiguous across folders)."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from reconciler.sandbox import Sandbox, SandboxRequest

KEY = "test-api-key"
# Loopback is plain HTTP; one context for all clients spares ~60 ms of certificate loading per client.
SSL_CONTEXT = ssl.create_default_context()


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


Call = Callable[..., Answer]


def make_call(sandbox: Sandbox) -> Call:
    def call(method: str, path: str, body: Any = None, key: str | None = KEY, raw: bytes | None = None) -> Answer:
        headers = {"authorization": key} if key is not None else {}
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        response = sandbox.handle(SandboxRequest(method, path, headers, data))
        return Answer(response.status, dict(response.headers), response.body.decode())

    return call


ServeFactory = Callable[..., tuple[Sandbox, httpx.Client]]
