"""Switchable faults: latency, 429/5xx answers, dropped connections, writes performed whose answer is lost or
replaced by a proxy's 5xx, failed provisioning.

Every draw comes from one RNG seeded by `Faults.seed`, so a run with the same faults and the same requests
fails the same way. Rates are probabilities in [0, 1]: 1.0 always, 0.0 never.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from reconciler.sandbox.replies import Rejected, reason
from reconciler.sandbox.wire import ConnectionDropped, SandboxResponse

Transition = Literal["create", "edit", "delete"]
PROXY_STATUSES = (502, 503, 504)


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True, slots=True)
class Faults:
    """The faults of one run. `Faults.from_assignments(["rate_503=0.2", "seed=7"])` maps CLI flags."""

    latency_seconds: float = field(default=0.0, metadata=_help("delay before every answer, in seconds"))
    rate_429: float = field(default=0.0, metadata=_help("share of requests answered 429 Too Many Requests"))
    retry_after_seconds: int = field(default=0, metadata=_help("Retry-After sent with 429 and 503 answers"))
    rate_500: float = field(default=0.0, metadata=_help("share of requests answered 500"))
    rate_503: float = field(default=0.0, metadata=_help("share of requests answered 503"))
    rate_drop: float = field(default=0.0, metadata=_help("share of requests dropped before anything is done"))
    rate_lost_post_response: float = field(
        default=0.0, metadata=_help("share of POST /integrations performed, then dropped without an answer")
    )
    rate_performed_then_5xx: float = field(
        default=0.0,
        metadata=_help("share of writes (POST, PUT, DELETE of an integration) performed, then answered by a proxy"),
    )
    performed_then_status: int = field(
        default=504, metadata=_help("what that proxy answers instead: 502, 503 or 504 (an HTML page)")
    )
    rate_create_error: float = field(default=0.0, metadata=_help("share of creates that end in createError"))
    rate_edit_error: float = field(default=0.0, metadata=_help("share of edits that end in editError (rolled back)"))
    rate_delete_error: float = field(default=0.0, metadata=_help("share of deletes that end in deleteError"))
    rate_prerequisite_failure: float = field(
        default=0.0,
        metadata=_help("share of POST /integrations answered 422 (prerequisite validation failed)"),
    )
    max_faults: int | None = field(
        default=None, metadata=_help("stop injecting request faults (429/5xx/drops) after this many")
    )
    seed: int = field(default=0, metadata=_help("seed of the fault RNG, for reproducible runs"))

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name.startswith("rate_") and not 0.0 <= value <= 1.0:
                raise ValueError(f"{f.name} must be between 0 and 1, not {value}")
        if self.latency_seconds < 0 or self.retry_after_seconds < 0:
            raise ValueError("latency_seconds and retry_after_seconds must not be negative")
        if self.performed_then_status not in PROXY_STATUSES:
            raise ValueError(f"performed_then_status must be 502, 503 or 504, not {self.performed_then_status}")
        if self.max_faults is not None and self.max_faults < 0:
            raise ValueError("max_faults must not be negative")

    @classmethod
    def options(cls) -> dict[str, str]:
        """Field name → help text: what a CLI needs to offer one flag per fault."""
        return {f.name: str(f.metadata.get("help", "")) for f in dataclasses.fields(cls)}

    @classmethod
    def from_assignments(cls, assignments: Iterable[str]) -> Faults:
        """`["rate_429=0.1", "latency_seconds=0.2"]` → Faults; ValueError names a bad one."""
        kinds = {f.name: f.type for f in dataclasses.fields(cls)}
        values: dict[str, float | int | None] = {}
        for assignment in assignments:
            name, sep, text = assignment.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or name not in kinds:
                raise ValueError(f"unknown fault {assignment!r}; known: {', '.join(kinds)}")
            try:
                kind = str(kinds[name])
                values[name] = float(text) if kind == "float" else (None if text == "none" else int(text))
            except ValueError:
                raise ValueError(f"{name}: {text!r} is not a number") from None
        return cls(**values)  # type: ignore[arg-type]

    @property
    def active(self) -> bool:
        return self != Faults(seed=self.seed)


class FaultInjector:
    """Draws the faults of each request from the seeded RNG; thread-safe."""

    def __init__(self, faults: Faults) -> None:
        self._lock = threading.Lock()
        self.reset(faults)

    def reset(self, faults: Faults) -> None:
        with self._lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)
            self.injected = 0  # request faults injected so far (429/5xx/drops)

    def _draw(self, rate: float) -> bool:
        return rate > 0.0 and self._rng.random() < rate

    def _budget_left(self) -> bool:
        cap = self.faults.max_faults
        return cap is None or self.injected < cap

    def before_request(self) -> Literal["drop"] | Rejected | None:
        """Before anything is done: drop the connection, answer 429/500/503, or nothing."""
        with self._lock:
            f = self.faults
            if not self._budget_left():
                return None
            retry = {"retry-after": str(f.retry_after_seconds)}
            outcome: Literal["drop"] | Rejected | None = None
            if self._draw(f.rate_drop):
                outcome = "drop"
            elif self._draw(f.rate_429):
                outcome = Rejected(429, "Rate limit exceeded, retry later.", retry)
            elif self._draw(f.rate_500):
                outcome = Rejected(500, "An internal server error occurred")
            elif self._draw(f.rate_503):
                outcome = Rejected(503, "Service temporarily unavailable, retry later.", retry)
            if outcome is not None:
                self.injected += 1
            return outcome

    def after_write(self, create: bool, what: str) -> SandboxResponse | None:
        """After a write was performed (and committed): lose a create's answer (raises ConnectionDropped), or
        answer as a proxy in front of Immuta does when its upstream is slow, or None: the real answer goes."""
        with self._lock:
            if not self._budget_left():
                return None
            if create and self._draw(self.faults.rate_lost_post_response):
                self.injected += 1
                raise ConnectionDropped(f"{what}: performed, answer lost")
            if not self._draw(self.faults.rate_performed_then_5xx):
                return None
            self.injected += 1
            return proxy_page(self.faults.performed_then_status)

    def transition_fails(self, kind: Transition) -> bool:
        rate = {
            "create": self.faults.rate_create_error,
            "edit": self.faults.rate_edit_error,
            "delete": self.faults.rate_delete_error,
        }[kind]
        with self._lock:
            return self._draw(rate)

    def prerequisite_fails(self) -> bool:
        with self._lock:
            return self._draw(self.faults.rate_prerequisite_failure)


def proxy_page(status: int) -> SandboxResponse:
    """What nginx answers for an upstream it gave up on: HTML, not Immuta's JSON."""
    title = f"{status} {reason(status)}"
    page = f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
    return SandboxResponse(
        status, {"content-type": "text/html"}, f"{page}<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n".encode()
    )
