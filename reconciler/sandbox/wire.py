"""The simulator's view of HTTP: plain request/response values, so one implementation serves both the
in-process transport (transport.py wraps it for httpx) and the loopback server."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SandboxRequest:
    method: str
    path: str  # path and query, e.g. "/integrations/3/status"
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class SandboxResponse:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


class ConnectionDropped(Exception):
    """The simulator closes the connection without answering (a fault, injected on purpose)."""
