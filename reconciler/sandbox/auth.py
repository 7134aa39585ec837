"""Who may call: the raw API key, or a bearer token from `POST /bim/apikey/authenticate` [doc, A1], which takes
the key in the `Authorization` header [doc, §9.13] or in a `{"apikey": …}` body (dialect `token_request`).

Tokens live in memory only (they are credentials; the state file never holds one) and expire after
`token_lifetime_seconds` on the sandbox clock.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable
from typing import Any

from reconciler.sandbox.assumptions import A1_FORBIDDEN_STATUS, A1_UNAUTHORIZED_STATUS
from reconciler.sandbox.dialects import Dialect
from reconciler.sandbox.replies import Rejected

_KEY_REQUIRED = {
    "either": 'give the API key in the Authorization header or as "apikey"',
    "header": "the Authorization header is required",
    "body": '"apikey" is required',
}
NO_PERMISSION = "You do not have the APPLICATION_ADMIN permission required to manage integrations."


class Gatekeeper:
    """`api_key=None` accepts any non-empty key (and any bearer token it did not issue); a missing header
    is always 401. Keys in `forbidden_keys` authenticate but lack APPLICATION_ADMIN: 403."""

    def __init__(
        self,
        api_key: str | None,
        forbidden_keys: Iterable[str],
        token_lifetime_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self.api_key = api_key
        self.forbidden_keys = frozenset(forbidden_keys)
        self.token_lifetime_seconds = token_lifetime_seconds
        self.clock = clock
        self._tokens: dict[str, tuple[str, float]] = {}  # token → (the key it was issued for, expiry)
        self._lock = threading.Lock()

    def _known_key(self, key: str) -> bool:
        if not key:
            return False
        if key in self.forbidden_keys:
            return True
        return self.api_key is None or secrets.compare_digest(key.encode(), self.api_key.encode())

    def issue_token(self, body: Any, authorization: str | None, dialect: Dialect) -> dict[str, str]:
        """The answer of `POST /bim/apikey/authenticate`: the key in the `Authorization` header [doc, §9.13] or
        in a `{"apikey": …}` body [A1], as the dialect's `token_request` allows (the header first, if both)."""
        form = dialect["token_request"]
        header = (authorization or "").strip() if form != "body" else ""
        in_body = body.get("apikey") if isinstance(body, dict) and form != "header" else None
        key = header or in_body
        if not isinstance(key, str):
            raise Rejected(400, _KEY_REQUIRED[form])
        if not self._known_key(key):
            raise Rejected(A1_UNAUTHORIZED_STATUS, "Invalid API key")
        token = secrets.token_hex(24)
        with self._lock:
            self._tokens[token] = (key, self.clock() + self.token_lifetime_seconds)
        return {"token": token}

    def check(self, authorization: str | None) -> None:
        """Raise 401/403 unless the `Authorization` header lets the caller manage integrations."""
        header = (authorization or "").strip()
        if not header:
            raise Rejected(A1_UNAUTHORIZED_STATUS, "Missing authentication")
        scheme, _, rest = header.partition(" ")
        key = self._key_of_token(rest.strip()) if scheme.lower() == "bearer" and rest.strip() else header
        if not self._known_key(key):
            raise Rejected(A1_UNAUTHORIZED_STATUS, "Invalid API key")
        if key in self.forbidden_keys:
            raise Rejected(A1_FORBIDDEN_STATUS, NO_PERMISSION)

    def _key_of_token(self, token: str) -> str:
        with self._lock:
            issued = self._tokens.get(token)
        if issued is None:
            if self.api_key is None:
                return token  # lenient sandbox: any credential is accepted
            raise Rejected(A1_UNAUTHORIZED_STATUS, "Invalid token")
        key, expires = issued
        if self.clock() >= expires:
            raise Rejected(A1_UNAUTHORIZED_STATUS, "Token expired")
        return key
