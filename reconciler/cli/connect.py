"""The one place that chooses the in-process simulator as the transport: library code only sees a client."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import TYPE_CHECKING

from reconciler.client.settings import Auth
from reconciler.target import Target

if TYPE_CHECKING:  # the client (and httpx) loads only when a command talks to Immuta
    from reconciler.client.immuta import ImmutaClient

SANDBOX_KEY = "sandbox-local-key"


def open_client(target: Target) -> ImmutaClient:
    from reconciler.client.immuta import ImmutaClient, SandboxTransport

    if target.sandbox_state is not None:
        from reconciler.sandbox.api import Sandbox

        FsPath(target.sandbox_state).parent.mkdir(parents=True, exist_ok=True)
        simulator = Sandbox(state_file=target.sandbox_state, api_key=SANDBOX_KEY)
        return ImmutaClient(
            "http://sandbox.invalid", Auth.api_key(SANDBOX_KEY), transport=SandboxTransport(simulator.handle)
        )
    assert target.settings is not None
    return ImmutaClient.from_settings(target.settings)
