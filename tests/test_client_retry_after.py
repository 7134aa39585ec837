"""Retry-After from the wire: plain seconds are honoured, anything else (an HTTP date, `nan`, `inf`, a sign, an
exponent) falls back to the backoff, and a wait longer than the deadline gives up at once. No value from an
answer ever reaches sleep() unchecked: time.sleep(nan) raises ValueError, and time.sleep(inf) OverflowError."""

from __future__ import annotations

import math
import random
import time

import httpx
import pytest

from reconciler.client.immuta import Auth, ImmutaClient, RetryPolicy
from reconciler.errors import TransientError


class CheckedSleep:
    """Stands in for time.sleep: records each wait and refuses what time.sleep would refuse."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert math.isfinite(seconds) and seconds >= 0, f"sleep({seconds!r})"
        self.sleeps.append(seconds)
        self.now += seconds


def throttled_then_ok(retry_after: str, status: int = 429) -> tuple[ImmutaClient, CheckedSleep, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if len(seen) == 1:
            return httpx.Response(status, json={"message": "slow down"}, headers={"Retry-After": retry_after.encode()})
        return httpx.Response(200, json=[])

    clock = CheckedSleep()
    client = ImmutaClient(
        "https://acme.immuta.com",
        Auth.api_key("k"),
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=4.0, deadline=60.0),
        sleep=clock.sleep,
        clock=clock.clock,
        rng=random.Random(0),
    )
    return client, clock, seen


@pytest.mark.parametrize(
    ("header", "slept"),
    [("7", 7.0), (" 7 ", 7.0), ("0", 0.0), ("2.5", 2.5), ("007", 7.0), ("59", 59.0)],
)
@pytest.mark.parametrize("status", [429, 503])
def test_plain_seconds_are_honoured(header: str, slept: float, status: int) -> None:
    client, clock, seen = throttled_then_ok(header, status)
    assert client.list_integrations() == []
    assert clock.sleeps == [slept] and seen == ["GET", "GET"]


UNUSABLE = [
    "nan",
    "NaN",
    "-nan",
    "inf",
    "-inf",
    "Infinity",
    "1e400",
    "1e3",
    "-5",
    "+5",
    "1_0",
    "0x10",
    "7 seconds",
    "7;8",
    "",
    "soon",
    "Wed, 21 Oct 2015 07:28:00 GMT",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "\u0663",  # an Arabic-Indic digit three: float() would take it
]


@pytest.mark.parametrize("header", UNUSABLE)
@pytest.mark.parametrize("status", [429, 503])
def test_an_unusable_retry_after_falls_back_to_the_backoff(header: str, status: int) -> None:
    client, clock, seen = throttled_then_ok(header, status)
    assert client.list_integrations() == []
    assert seen == ["GET", "GET"]
    assert len(clock.sleeps) == 1 and 0.25 <= clock.sleeps[0] <= 0.5  # the first backoff: half to all of 0.5s


@pytest.mark.parametrize("header", ["61", "86400", "86401", "9" * 16, "9" * 400])
def test_a_wait_past_the_deadline_gives_up_at_once_saying_so(header: str) -> None:
    client, clock, seen = throttled_then_ok(header)
    with pytest.raises(TransientError) as caught:
        client.list_integrations()
    assert seen == ["GET"] and clock.sleeps == []
    wait = "61.0" if header == "61" else "86400.0"  # longer than a day is read as a day
    assert caught.value.message.endswith(
        f"429 Too Many Requests; waiting {wait}s (Retry-After) would pass the 60s deadline"
    )


def test_a_poller_read_hands_back_the_bounded_wait() -> None:
    """A poller honours the server's Retry-After between its reads: what it is handed is finite and bounded."""
    for header, expected in (("nan", None), ("inf", None), ("-1", None), ("4", 4.0), ("9" * 400, 86400.0)):
        client, clock, _ = throttled_then_ok(header, 503)
        with pytest.raises(TransientError) as caught:
            client.status("9", attempts=1)
        assert clock.sleeps == []
        assert getattr(caught.value, "retry_after", "missing") == expected, header


def test_the_real_sleep_is_never_handed_nan() -> None:
    """With the real time.sleep (which raises ValueError on nan): the call succeeds after one short backoff."""
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(1)
        if len(seen) == 1:
            return httpx.Response(429, json={}, headers={"Retry-After": "nan"})
        return httpx.Response(200, json=[])

    client = ImmutaClient(
        "https://acme.immuta.com",
        Auth.api_key("k"),
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(max_attempts=2, base_delay=0.02, max_delay=0.02, deadline=10.0),
        sleep=time.sleep,
    )
    assert client.list_integrations() == [] and len(seen) == 2


class EdgeRandom(random.Random):
    """Every jitter draw at one end of its range."""

    def __init__(self, end: str) -> None:
        super().__init__(0)
        self.end = end

    def uniform(self, a: float, b: float) -> float:
        return b if self.end == "high" else a


@pytest.mark.parametrize(
    ("end", "waits", "elapsed"),
    [("low", [0.5, 1.0, 2.0, 4.0, 4.0], "11.5"), ("high", [1.0, 2.0, 4.0, 8.0, 8.0], "23.0")],
)
def test_the_backoff_doubles_up_to_the_cap_with_equal_jitter(end: str, waits: list[float], elapsed: str) -> None:
    """Without a usable Retry-After: attempt n waits between half and all of min(max_delay, base * 2^(n-1))."""
    clock = CheckedSleep()
    client = ImmutaClient(
        "https://acme.immuta.com",
        Auth.api_key("k"),
        transport=httpx.MockTransport(lambda _: httpx.Response(503, json={})),
        retry=RetryPolicy(max_attempts=6, base_delay=1.0, max_delay=8.0, deadline=600.0),
        sleep=clock.sleep,
        clock=clock.clock,
        rng=EdgeRandom(end),
    )
    with pytest.raises(TransientError) as caught:
        client.list_integrations()
    assert caught.value.message == f"gave up after 6 attempt(s) in {elapsed}s: 503 Service Unavailable x6"
    assert clock.sleeps == waits
