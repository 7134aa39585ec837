"""Which Immuta a run talks to: the tenant named by IMMUTA_URL or by `--env NAME`, or the embedded
sandbox (`--sandbox`). A plan for one environment never touches another's tenant. Which client talks to it
is the command line's choice (reconciler.cli.connect): library code is handed a client.

The connection gate: with a base revision (`--base REV`, or a pull request's base branch in CI), an
environment's connection settings — `url`, `caBundle` (and the certificates in it), `apiKeyEnv`,
`tokenEnv` — must be the base revision's. The environment file is in the pull request, and the run holds the
tenant's key: a pull request that changes them (or adds the environment) is refused, exit 3, before any
credential is read and any connection opened. What a reviewer approved names the tenant, not the change.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import TYPE_CHECKING

from reconciler import files
from reconciler.client.settings import ENV_API_KEY, ENV_TOKEN, ENV_URL, ClientSettings
from reconciler.errors import ReconcilerError, RefusedError
from reconciler.loading.environments import Environment

if TYPE_CHECKING:
    from reconciler.planning.baserevision import BaseTree

DEFAULT_SANDBOX_STATE = ".reconciler/sandbox.json"
_NEVER = "a pull request's plan never"
_AFTER = "in a pull request of its own, merged by an administrator, then plan"
# The fields that say where the key goes and whom the run trusts: (field, attribute, what a change would do).
_CONNECTION = (
    ("url", "url", f"{_NEVER} sends credentials to a tenant the base revision does not name", "the tenant"),
    ("caBundle", "ca_bundle", f"{_NEVER} trusts certificate authorities the base revision does not name", "it"),
    ("apiKeyEnv", "api_key_env", f"{_NEVER} reads credentials the base revision does not name", "it"),
    ("tokenEnv", "token_env", f"{_NEVER} reads credentials the base revision does not name", "it"),
)


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
    base: str | None = None,
) -> Target:
    """The target; with an environment and a base revision (`base`, else GITHUB_BASE_REF in `environ`), only
    the base revision's connection settings (refuse_a_changed_tenant)."""
    if sandbox:
        default = f".reconciler/sandbox-{environment.name}.json" if environment else DEFAULT_SANDBOX_STATE
        files.check_folder(sandbox_state or default, "sandbox state")  # before resolving its links
        state = FsPath(sandbox_state or default).resolve()
        return Target(f"sandbox://{state.as_posix()}", str(state))

    env = dict(os.environ if environ is None else environ)
    if environment is not None:
        from reconciler.planning.baserevision import base_revision

        revision = base_revision(base, env)
        if revision is not None:
            refuse_a_changed_tenant(environment, revision)
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


def refuse_a_changed_tenant(environment: Environment, revision: str) -> None:
    """RefusedError when the base revision's `environments/NAME.yaml` is missing or names another tenant,
    key variable or CA bundle, or its CA bundle holds other certificates; read from the base tree only."""
    from reconciler.planning.baserevision import environment_in, open_base

    tree = open_base(revision)
    base = environment_in(tree, environment.name)
    if base is None:
        raise RefusedError(
            [
                f"{environment.file}: new in this pull request (the base {revision} has no such file): "
                f"{_CONNECTION[0][2]}; add the environment {_AFTER}"
            ]
        )
    reasons = [
        f"{environment.file}: {field} changes in this pull request (base {revision}: "
        f"{getattr(base, attribute) or 'not set'}): {why}; change {what} {_AFTER}"
        for field, attribute, why, what in _CONNECTION
        if getattr(base, attribute) != getattr(environment, attribute)
    ]
    if not reasons and environment.ca_bundle:
        changed = _changed_certificates(tree, environment.ca_bundle)
        if changed:
            reasons.append(f"{environment.file}: caBundle {changed}: {_CONNECTION[1][2]}; change it {_AFTER}")
    if len(reasons) > 1:  # one line each, as the delete gate's (the CI summary shows them all)
        reasons = [f"{environment.file}: the connection changes in this pull request:", *(f"  {r}" for r in reasons)]
    if reasons:
        raise RefusedError(reasons)


def _changed_certificates(tree: BaseTree, bundle: str) -> str | None:
    """How the bundle's files differ from the base's, or None: the same, or outside the repository (the
    runner's own file, which no pull request writes)."""
    path = tree.inside(tree.prefix, bundle)
    if path is None:
        return None
    resolved = tree.resolve(path)
    if resolved in tree.folders:
        names = {p.rsplit("/", 1)[1] for p in tree.entries if posixpath.dirname(p) == resolved}
        here = {n for n in os.listdir(bundle) if not os.path.isdir(os.path.join(bundle, n))}
        if names != here:
            held = ", ".join(sorted(names)) or "no file"
            return f"{bundle}: its files change in this pull request (base {tree.revision}: {held})"
        pairs = [(posixpath.join(path, n), os.path.join(bundle, n)) for n in sorted(names)]
    elif resolved in tree.entries:
        pairs = [(path, bundle)]
    else:
        return f"{bundle} is not in the base {tree.revision}: its certificates are the pull request's"
    for base_file, here_file in pairs:
        if tree.text(base_file) != files.read_text(here_file, files.CA_BUNDLE):
            return f"{here_file}: its certificates change in this pull request (base {tree.revision})"
    return None
