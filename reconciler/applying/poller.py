"""Waiting for Immuta to settle an integration: the one poller, for apply and anything else that waits.

Creates, edits and deletes are asynchronous (docs/immuta-api.md §4): the write answers at once and the status says
when Immuta is done (a status this version does not know counts as not done, §9.16). The first status read
comes soon after the write, then each interval grows by half up to a cap, so a quick change is seen quickly
and a slow one costs few reads; Retry-After on a 429/503 stretches the next wait; a deadline (`--timeout`)
ends it. Which statuses are still transitional is the status table's (reconciler/statuses.py), nowhere else.

The poller also learns, per kind of wait (say "Snowflake creating"), how long settling took: the first read
then aims at that time instead of asking early and often. The aim never exceeds the cap, so a wrong
estimate costs at most what the fixed schedule would. Clock and sleep are injectable: tests never wait.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from reconciler.client.retry import GaveUp
from reconciler.errors import ApiError, AuthError, ConflictError, NotFoundError, TransientError, ValidationFailed
from reconciler.statuses import Health, health

logger = logging.getLogger("reconciler.poll")

Record = Mapping[str, Any]
# Settled by the aimed read: it may have settled well before, so the next aim comes 3% earlier, until a read
# finds it unsettled; the following read then comes 2% of the aim later, and its midpoint is learned. Waiting
# beyond the settling time costs every integration; a missed aim costs one more read of its status.
SETTLED_AT_AIM_SHRINK = 0.97
AFTER_AIM = 0.02  # a read missing the aim was just early: the next one comes after this fraction of the aim
SHORTEST_INTERVAL = 0.005
# A status this version does not know is not settled until the deadline (docs/immuta-api.md §9.16): the documented set
# grew from 9 to 12, and a newer release's may be transitional too. Never an error by itself.
_NOT_SETTLED = frozenset({Health.TRANSITIONAL, Health.UNKNOWN})


class StatusReader(Protocol):
    def status(self, integration_id: str | int, *, attempts: int | None = None) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Schedule:
    first: float = 0.05  # seconds from the write's answer to the first status read
    growth: float = 1.5
    cap: float = 3.0  # the longest interval between two reads


@dataclass(frozen=True, slots=True)
class Waited:
    record: Record | None  # None: the integration is gone (404), which the caller accepted
    reads: int
    seconds: float


class Poller:
    """Thread-safe: one poller serves every worker of an apply, and what one wait learns helps the next."""

    def __init__(
        self,
        schedule: Schedule = Schedule(),
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.schedule = schedule
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._expected: dict[str, float] = {}

    def now(self) -> float:
        """The poller's clock (injectable): deadlines that span several waits are measured on it."""
        return self._clock()

    def wait(
        self,
        client: StatusReader,
        integration_id: str,
        *,
        timeout: float,
        label: str,
        gone_ok: bool = False,
        kind: str | None = None,
    ) -> Waited:
        """Read the status until it is no longer transitional. `kind` names what is awaited (e.g.
        "Snowflake creating") when the wait starts right after our own write, so its duration can be learned;
        None when joining a change already under way."""
        started = self._clock()
        aim = self._aim(kind)
        first, growth, cap = self.schedule.first, self.schedule.growth, self.schedule.cap
        delay = aim if aim is not None else first
        # After a read at the aim a near miss is likely: look again soon, then back off as usual.
        following = max(SHORTEST_INTERVAL, aim * AFTER_AIM) if aim is not None else min(cap, first * growth)
        reads = 0
        previous_read = 0.0
        while True:
            remaining = started + timeout - self._clock()
            self._sleep(max(0.0, min(delay, remaining)))
            reads += 1
            read_at = self._clock() - started
            asked: float | None = None
            try:
                record = client.status(integration_id, attempts=1)
            except NotFoundError:
                if gone_ok:
                    return self._done(label, integration_id, None, reads, read_at, kind, aim, previous_read)
                raise
            except ApiError as exc:
                if not _worth_polling_again(exc) or self._clock() >= started + timeout:
                    raise
                asked = exc.retry_after if isinstance(exc, GaveUp) else None
            else:
                status = str(record.get("status", ""))
                if health(status) not in _NOT_SETTLED:
                    return self._done(label, integration_id, record, reads, read_at, kind, aim, previous_read)
                if self._clock() >= started + timeout:
                    unknown = " (a status this version does not know)" if health(status) is Health.UNKNOWN else ""
                    raise TransientError(
                        "GET",
                        f"/integrations/{integration_id}/status",
                        None,
                        f"{label} (id {integration_id}) is still {status!r}{unknown} after {timeout:g}s",
                        hint="It may still settle: check it in Immuta, then re-run plan.",
                    )
            previous_read = read_at
            delay = following if asked is None else max(following, asked)
            following = min(cap, following * growth)

    def _aim(self, kind: str | None) -> float | None:
        if kind is None:
            return None
        with self._lock:
            expected = self._expected.get(kind)
        return None if expected is None else min(self.schedule.cap, max(self.schedule.first, expected))

    def _done(
        self,
        label: str,
        integration_id: str,
        record: Record | None,
        reads: int,
        read_at: float,
        kind: str | None,
        aim: float | None,
        previous_read: float,
    ) -> Waited:
        if kind is not None:
            # It settled between the last two reads, or by the first: an upper bound, so the next aim comes a
            # little earlier. Waits under way together all report: the soonest bound is kept. Only a missed
            # aim (it was still settling then) moves the estimate later, to the midpoint of its two reads.
            missed_aim = aim is not None and reads > 1
            learned = read_at * SETTLED_AT_AIM_SHRINK if reads == 1 else (previous_read + read_at) / 2
            with self._lock:
                known = self._expected.get(kind)
                self._expected[kind] = learned if known is None or missed_aim else min(known, learned)
        outcome = "gone" if record is None else repr(record.get("status"))
        aimed = f"; first read aimed at {aim:.2f}s" if aim is not None else ""
        logger.info(
            "%s (id %s): %s after %d status read(s) in %.2fs%s", label, integration_id, outcome, reads, read_at, aimed
        )
        return Waited(record, reads, read_at)


def _worth_polling_again(exc: ApiError) -> bool:
    """The write was accepted, so a status read that fails (5xx, a dropped connection, 429) is not a failed
    write: polling goes on until the deadline. Credentials, a rejected request or a conflict will not mend."""
    if isinstance(exc, AuthError | ValidationFailed | ConflictError):
        return False
    return isinstance(exc, TransientError) or exc.status is None or exc.status >= 500
