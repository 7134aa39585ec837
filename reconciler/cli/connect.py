"""The one place that chooses the in-process simulator as the transport: library code only sees a client."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import TYPE_CHECKING

from reconciler.client.settings import Auth
from reconciler.errors import ReconcilerError
from reconciler.target import Target

if TYPE_CHECKING:  # the client (and httpx) loads only when a command talks to Immuta
    from reconciler.client.immuta import ImmutaClient

SANDBOX_KEY = "sandbox-local-key"


def open_client(target: Target) -> ImmutaClient:
    """A client for the target. The embedded sandbox is held for the client's life: its state file is read
    once now and written once, atomically, when the client closes (issue 14.4)."""
    from reconciler.client.immuta import ImmutaClient

    if target.sandbox_state is not None:
        from reconciler.sandbox.api import Sandbox
        from reconciler.sandbox.tenant import SandboxStateError
        from reconciler.sandbox.transport import SandboxTransport

        FsPath(target.sandbox_state).parent.mkdir(parents=True, exist_ok=True)
        simulator = Sandbox(state_file=target.sandbox_state, api_key=SANDBOX_KEY)
        try:
            simulator.hold()
        except SandboxStateError as error:  # not a ReconcilerError: the sandbox imports nothing of ours
            raise ReconcilerError(str(error)) from None

        def release() -> None:
            try:
                simulator.release()
            except OSError as error:
                raise ReconcilerError(f"{target.sandbox_state}: the sandbox state was not saved ({error})") from None

        transport = SandboxTransport(simulator.handle, on_close=release)
        return ImmutaClient("http://sandbox.invalid", Auth.api_key(SANDBOX_KEY), transport=transport)
    assert target.settings is not None
    return ImmutaClient.from_settings(target.settings)
