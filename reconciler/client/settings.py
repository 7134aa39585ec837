"""How to reach a tenant: URL, credentials, timeouts and the retry budget — read from the environment.

Kept apart from client.py so that choosing a target (and reporting what is missing) needs no HTTP library.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from reconciler import __version__
from reconciler.errors import ReconcilerError
from reconciler.secrets import Secret

ENV_URL = "IMMUTA_URL"
ENV_API_KEY = "IMMUTA_API_KEY"
ENV_TOKEN = "IMMUTA_TOKEN"
ENV_TIMEOUT = "IMMUTA_TIMEOUT"
DEFAULT_TIMEOUT = 120.0  # seconds one API call may take, retries and reading the answer included

AUTH_HINT = (
    f"Check {ENV_API_KEY} / {ENV_TOKEN}: the API key may be wrong or revoked, or the bearer token expired "
    "(tokens from POST /bim/apikey/authenticate expire; get a new one)."
)
FORBIDDEN_HINT = (
    f"The user of the key in {ENV_API_KEY} / {ENV_TOKEN} needs the APPLICATION_ADMIN permission in Immuta to "
    "manage integrations."
)


@dataclass(frozen=True, slots=True)
class Auth:
    """The raw API key (`Authorization: <key>`) or a bearer token; its repr never shows the value."""

    scheme: Literal["api-key", "bearer"]
    credential: Secret

    @classmethod
    def api_key(cls, key: str | Secret) -> Auth:
        return cls("api-key", key if isinstance(key, Secret) else Secret(key))

    @classmethod
    def bearer(cls, token: str | Secret) -> Auth:
        return cls("bearer", token if isinstance(token, Secret) else Secret(token))

    def header(self) -> str:
        value = self.credential.reveal()
        return value if self.scheme == "api-key" else f"Bearer {value}"


@dataclass(frozen=True, slots=True)
class ClientSettings:
    base_url: str
    auth: Auth
    timeout: float = DEFAULT_TIMEOUT  # IMMUTA_TIMEOUT: the deadline of one API call
    ca_bundle: str | None = None  # a PEM file (or folder) of CAs to trust instead of the default ones

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClientSettings:
        """Read IMMUTA_URL plus IMMUTA_API_KEY or IMMUTA_TOKEN; every problem is reported at once."""
        env = os.environ if environ is None else environ
        url = env.get(ENV_URL, "").strip()
        key = env.get(ENV_API_KEY, "").strip()
        token = env.get(ENV_TOKEN, "").strip()
        problems: list[str] = []
        if not url:
            problems.append(f"{ENV_URL} is not set: give the tenant's URL, e.g. https://acme.immuta.com")
        else:
            problem = _url_problem(url)
            if problem:
                problems.append(problem)
        timeout, problem = _timeout(env.get(ENV_TIMEOUT, ""))
        if problem:
            problems.append(problem)
        if not key and not token:
            problems.append(f"set {ENV_API_KEY} (an Immuta API key) or {ENV_TOKEN} (a bearer token)")
        elif key and token:
            problems.append(f"both {ENV_API_KEY} and {ENV_TOKEN} are set: unset one, so it is clear which counts")
        for name, value in ((ENV_API_KEY, key), (ENV_TOKEN, token)):
            if value and not (value.isascii() and value.isprintable()):
                # An HTTP header carries printable ASCII only; the value itself is never shown.
                problems.append(
                    f"{name} holds a character that is not printable ASCII (a typographic quote or dash, a line "
                    "break?): an Immuta key or token never does; set it again from the source"
                )
        if problems:
            raise ReconcilerError("cannot connect to Immuta:\n  " + "\n  ".join(problems))
        return cls(url.rstrip("/"), Auth.api_key(key) if key else Auth.bearer(token), timeout)


def _timeout(text: str) -> tuple[float, str | None]:
    if not text.strip():
        return DEFAULT_TIMEOUT, None
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 86400:
        return DEFAULT_TIMEOUT, f"{ENV_TIMEOUT} must be a number of seconds between 0 and 86400 (got {text!r})"
    return seconds, None


def user_agent(environ: Mapping[str, str] | None = None) -> str:
    """`immuta-reconciler/VERSION`, plus the CI run and commit when known: an Immuta admin reading the audit
    log can tell which pipeline run made a change."""
    env = os.environ if environ is None else environ
    run = env.get("GITHUB_RUN_ID", "").strip()
    commit = env.get("GITHUB_SHA", "").strip()[:7]
    details = [part for part in (f"run {run}" if run else "", f"commit {commit}" if commit else "") if part]
    agent = f"immuta-reconciler/{__version__}"
    return f"{agent} ({'; '.join(details)})" if details else agent


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return f"{ENV_URL} is not a valid URL"
    if parts.username or parts.password:
        return f"{ENV_URL} must not contain credentials: use {ENV_API_KEY} or {ENV_TOKEN}"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"{ENV_URL} must be an http(s) URL with a host, e.g. https://acme.immuta.com (got {url!r})"
    if parts.query or parts.fragment:
        return f"{ENV_URL} must not have a query or fragment (got {url!r})"
    return None


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float = 10.0
    read: float = 60.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts per call (the first one included) and the overall deadline of one call, in seconds."""

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 20.0
    deadline: float = DEFAULT_TIMEOUT
