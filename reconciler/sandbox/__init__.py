"""A faithful simulator of Immuta's Integrations API (contract: docs/immuta-api.md).

`Sandbox` answers requests in process (`Sandbox.handle`); `start_server` serves it over loopback HTTP.
Names are loaded on first use, so the client (which needs only `wire`) does not pay for the simulator.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ConnectionDropped": "reconciler.sandbox.wire",
    "Faults": "reconciler.sandbox.faults",
    "RunningServer": "reconciler.sandbox.server",
    "Sandbox": "reconciler.sandbox.api",
    "SandboxRequest": "reconciler.sandbox.wire",
    "SandboxResponse": "reconciler.sandbox.wire",
    "SandboxStateError": "reconciler.sandbox.tenant",
    "start_server": "reconciler.sandbox.server",
}
__all__ = [
    "ConnectionDropped",
    "Faults",
    "RunningServer",
    "Sandbox",
    "SandboxRequest",
    "SandboxResponse",
    "SandboxStateError",
    "start_server",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'reconciler.sandbox' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
