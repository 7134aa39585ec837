"""What one attempt yields, free of the HTTP library: a complete answer, or why there was none."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Answer:
    """A complete HTTP answer, read within the limits."""

    status: int
    reason: str
    headers: Mapping[str, str]  # names in lower case
    body: bytes
    url: str = ""  # where it came from, for messages

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The decoded body (client/decoder.py: strict, bounded); ValueError when it is not JSON we accept."""
        from reconciler.client.decoder import parse_json

        return parse_json(self.body)


class NoAnswer(Exception):
    """No complete answer. `reached`: the server may have processed the request; `permanent`: retrying
    cannot help (a name that does not resolve, an untrusted certificate, the wrong scheme, a huge answer)."""

    def __init__(self, what: str, *, reached: bool, permanent: bool = False, hint: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.reached = reached
        self.permanent = permanent
        self.hint = hint
