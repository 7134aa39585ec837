"""The retry policy: which answers and failures are retried, how long to wait (jittered exponential backoff,
or the server's Retry-After), and when to give up (attempts or the call's deadline, IMMUTA_TIMEOUT).

A request the server may have processed without our seeing the answer is *ambiguous*: a read or an
idempotent write is simply sent again, but a create is handed back (`Ambiguous`) so that recovery can look
before posting twice.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from reconciler.assumptions import A2_RETRYABLE_STATUSES
from reconciler.client import trace
from reconciler.client.settings import RetryPolicy
from reconciler.client.transport import Transport
from reconciler.client.wire import Answer, NoAnswer
from reconciler.errors import ApiError, TransientError

AnswerKind = Literal["record", "records", "script"]


@dataclass(slots=True)
class Call:
    """One API call, possibly several attempts."""

    method: str
    path: str
    content: bytes | None
    traced_body: str | None
    answer: AnswerKind
    retry_ambiguous: bool
    started: float
    max_attempts: int | None = None  # None: the policy's; 1 for a poller's read, which waits on its own
    attempts: int = 0
    outcomes: list[str] = field(default_factory=list)
    ambiguous: bool = False  # an earlier attempt may have been processed without us seeing the answer
    last_status: int | None = None


class Ambiguous(Exception):
    """Internal signal: the request may have been processed; never escapes the client."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class GaveUp(TransientError):
    """Retries spent. `retry_after` is what the last answer asked for (429/503), so that a caller polling on
    its own schedule can honour it."""

    def __init__(
        self, method: str, path: str, status: int | None, message: str, hint: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(method, path, status, message, hint)
        self.retry_after = retry_after


class Retrier:
    def __init__(
        self,
        transport: Transport,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        rng: random.Random,
        describe: Callable[[Call, Answer], str] | None = None,
    ) -> None:
        self._describe = describe  # the answer's body for the trace, secrets hidden
        self._transport = transport
        self._policy = policy
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._lock = threading.Lock()

    def exchange(self, call: Call) -> Answer:
        """Send until an answer not worth retrying. Raises GaveUp when the budget runs out, ApiError for a
        failure retrying cannot mend, and Ambiguous when the request may have been processed and the call
        must not simply be repeated."""
        accept = "text/plain, application/json" if call.answer == "script" else "application/json"
        headers = {"Accept": accept}
        if call.content is not None:
            headers["Content-Type"] = "application/json"
        while True:
            call.attempts += 1
            trace.request(call.method, call.path, call.attempts, call.traced_body)
            sent = self._clock()
            seconds = max(call.started + self._policy.deadline - sent, 0.001)
            try:
                answer = self._transport.send(
                    call.method, call.path, content=call.content, headers=headers, seconds=seconds
                )
            except NoAnswer as failure:
                trace.failure(call.method, call.path, call.attempts, self._clock() - sent, failure.what)
                if failure.permanent:
                    raise ApiError(call.method, call.path, None, failure.what, hint=failure.hint) from None
                call.outcomes.append(failure.what)
                if failure.reached:
                    call.ambiguous = True
                    if not call.retry_ambiguous:
                        raise Ambiguous(failure.what) from None
                self.pause(call, None, failure.what, failure.hint)
                continue
            call.last_status = answer.status
            body = self._describe(call, answer) if self._describe is not None and trace.enabled() else None
            trace.response(
                call.method, call.path, call.attempts, answer.status, seconds=self._clock() - sent, body=body
            )
            retryable = answer.status == 429 or (answer.status in A2_RETRYABLE_STATUSES and call.retry_ambiguous)
            if not retryable:
                return answer
            what = status_text(answer)
            call.outcomes.append(what)
            if answer.status != 429:
                call.ambiguous = True
            self.pause(call, retry_after(answer), what)

    def pause(self, call: Call, asked: float | None, why: str, hint: str = "") -> None:
        """Sleep before the next attempt, or raise GaveUp once attempts or the deadline are spent."""
        if call.attempts >= (call.max_attempts or self._policy.max_attempts):
            raise self._gave_up(call, "", hint, asked)
        delay = asked if asked is not None else self._backoff(call.attempts)
        remaining = call.started + self._policy.deadline - self._clock()
        if delay > remaining:
            told = " (Retry-After)" if asked is not None else ""
            detail = f"; waiting {delay:.1f}s{told} would pass the {self._policy.deadline:g}s deadline"
            raise self._gave_up(call, detail, hint, asked)
        trace.retrying(call.method, call.path, call.attempts, delay, why)
        self._sleep(delay)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._policy.max_delay, self._policy.base_delay * 2.0 ** (attempt - 1))
        with self._lock:
            jitter: float = self._rng.uniform(0, ceiling / 2)
        return ceiling / 2 + jitter

    def _gave_up(self, call: Call, detail: str, hint: str, asked: float | None) -> GaveUp:
        elapsed = self._clock() - call.started
        tried = f"gave up after {call.attempts} attempt(s) in {elapsed:.1f}s: {summary(call.outcomes)}{detail}"
        if call.ambiguous and call.method != "GET":
            hint = "An attempt may have reached Immuta unanswered: re-run plan to see the current state."
        elif not hint:
            hint = "Immuta is overloaded or unreachable; try again later."
        return GaveUp(call.method, call.path, call.last_status, tried, hint=hint, retry_after=asked)


def status_text(answer: Answer) -> str:
    return f"{answer.status} {answer.reason}".strip()


_DELAY_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")  # RFC 9110 delay-seconds (a decimal tolerated)
RETRY_AFTER_CEILING = 86_400.0  # a longer wait passes any deadline all the same; a day keeps the message short


def retry_after(answer: Answer) -> float | None:
    """Retry-After in seconds, at most a day. Anything but plain ASCII digits (an HTTP date, `nan`, `inf`, a
    sign, an exponent, `1_0`) falls back to the backoff: no value from the wire reaches sleep() unchecked."""
    value = answer.header("retry-after").strip()
    if _DELAY_SECONDS.fullmatch(value) is None:
        return None
    return min(float(value), RETRY_AFTER_CEILING)


def summary(outcomes: list[str]) -> str:
    """`503 Service Unavailable x3, connection dropped`: consecutive repeats counted."""
    parts: list[str] = []
    previous, count = "", 0
    for outcome in [*outcomes, ""]:
        if outcome == previous:
            count += 1
            continue
        if previous:
            parts.append(previous if count == 1 else f"{previous} x{count}")
        previous, count = outcome, 1
    return ", ".join(parts) or "no answer"
