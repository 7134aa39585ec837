"""Which Immuta a run talks to: the tenant named by IMMUTA_URL or by `--env NAME`, or the embedded
sandbox (`--sandbox`). A plan for one environment never touches another's tenant. Which client talks to it
is the command line's choice (reconciler.cli.connect): library code is handed a client."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path as FsPath

from reconciler.client.settings import ENV_API_KEY, ENV_TOKEN, ENV_URL, ClientSettings
from reconciler.errors import ReconcilerError
from reconciler.loading.environments import Environment

DEFAULT_SANDBOX_STATE = ".reconciler/sandbox.json"


@dataclass(frozen=True, slots=True)
class Target:
    """Where plans are made against; a saved plan made for one target never applies to another."""

    url: str
    sandbox_state: str | None = None  # the state file when the target is the embedded sandbox
    settings: ClientSettings | None = None  # how to reach a real tenant

    @property
    def is_sandbox(self) -> bool:
        return self.sandbox_state is not None


def resolve_target(
    sandbox: bool,
    sandbox_state: str | None,
    environ: Mapping[str, str] | None = None,
    environment: Environment | None = None,
) -> Target:
    if sandbox:
        default = f".reconciler/sandbox-{environment.name}.json" if environment else DEFAULT_SANDBOX_STATE
        state = FsPath(sandbox_state or default).resolve()
        return Target(f"sandbox://{state.as_posix()}", str(state))

    env = dict(os.environ if environ is None else environ)
    if environment is not None:
        named = env.get(ENV_URL, "").strip().rstrip("/")
        if named and named != environment.url:
            raise ReconcilerError(
                f"{ENV_URL} is {named} but environment {environment.name!r} ({environment.file}) targets "
                f"{environment.url}: unset {ENV_URL} or pick the matching --env"
            )
        if not env.get(environment.api_key_env) and not env.get(environment.token_env):
            raise ReconcilerError(
                f"environment {environment.name!r} needs {environment.api_key_env} (an Immuta API key) or "
                f"{environment.token_env} (a bearer token) to be set"
            )
        env[ENV_URL] = environment.url
        env[ENV_API_KEY] = env.get(environment.api_key_env, "")
        env[ENV_TOKEN] = env.get(environment.token_env, "")
    settings = ClientSettings.from_env(env)
    if environment is not None and environment.ca_bundle is not None:
        settings = dataclasses.replace(settings, ca_bundle=environment.ca_bundle)
    return Target(settings.base_url, settings=settings)
