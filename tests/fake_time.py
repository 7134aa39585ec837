"""A clock that moves only when someone sleeps: waits are instant and every delay is recorded.

Shared by the simulator (its provisioning runs on this clock), the client's retries and the poller, so a
test of waiting never waits in real time. Thread-safe: apply's workers sleep on it concurrently."""

from __future__ import annotations

import threading


class FakeTime:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds
