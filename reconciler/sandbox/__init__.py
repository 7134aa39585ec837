"""A faithful simulator of Immuta's Integrations API (contract: shared/immuta-integrations-api.md).

`Sandbox` answers requests in process (`Sandbox.handle`); `start_server` serves it over loopback HTTP.
"""

from reconciler.sandbox.api import Sandbox
from reconciler.sandbox.faults import Faults
from reconciler.sandbox.server import RunningServer, start_server
from reconciler.sandbox.tenant import SandboxStateError
from reconciler.sandbox.wire import ConnectionDropped, SandboxRequest, SandboxResponse

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
