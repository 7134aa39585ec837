"""Which Immuta a run talks to: the tenant named by IMMUTA_URL, or the embedded sandbox (`--sandbox`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path as FsPath

from reconciler.client import Auth, ClientSettings, ImmutaClient, SandboxTransport

DEFAULT_SANDBOX_STATE = ".reconciler/sandbox.json"
SANDBOX_KEY = "sandbox-local-key"


@dataclass(frozen=True, slots=True)
class Target:
    """Where plans are made against; a saved plan made for one target never applies to another."""

    url: str
    sandbox_state: str | None = None  # the state file when the target is the embedded sandbox

    @property
    def is_sandbox(self) -> bool:
        return self.sandbox_state is not None


def resolve_target(sandbox: bool, sandbox_state: str | None, environ: Mapping[str, str] | None = None) -> Target:
    if sandbox:
        state = FsPath(sandbox_state or DEFAULT_SANDBOX_STATE).resolve()
        return Target(f"sandbox://{state.as_posix()}", str(state))
    env = os.environ if environ is None else environ
    return Target(ClientSettings.from_env(env).base_url)


def open_client(target: Target, environ: Mapping[str, str] | None = None) -> ImmutaClient:
    if target.sandbox_state is not None:
        from reconciler.sandbox.api import Sandbox  # noqa: PLC0415 - only sandbox runs load the simulator

        FsPath(target.sandbox_state).parent.mkdir(parents=True, exist_ok=True)
        simulator = Sandbox(state_file=target.sandbox_state, api_key=SANDBOX_KEY)
        return ImmutaClient(
            "http://sandbox.invalid", Auth.api_key(SANDBOX_KEY), transport=SandboxTransport(simulator.handle)
        )
    return ImmutaClient.from_env(environ)
