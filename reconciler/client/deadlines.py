"""Deadlines of the answers being read: one thread shuts a socket when its call's time is up.

httpx's timeouts are per read, so a server trickling its answer one byte at a time could keep a call alive
for ever; the transport (transport.py) watches each answer it reads with a `Watchdog`.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time


class Watchdog:
    """Shuts the answer's socket at the deadline: a blocked read then returns at once, so a server trickling
    its answer one byte at a time cannot keep a call past its deadline (httpx's timeouts are per read).
    One thread (`_DEADLINES`) watches every answer being read, rather than a timer thread per request."""

    __slots__ = ("_socket", "ends", "finished", "fired")

    def __init__(self, sock: socket.socket | None, ends: float) -> None:
        self._socket = sock  # None: no socket to shut (a test's or the in-process sandbox's transport)
        self.ends = ends
        self.fired = False
        self.finished = False

    def fire(self) -> None:
        self.fired = True
        if self._socket is not None:
            with contextlib.suppress(OSError):  # already closed: nothing left to interrupt
                self._socket.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Watchdog:
        if self._socket is not None:
            _DEADLINES.watch(self)
        return self

    def __exit__(self, *_: object) -> None:
        self.finished = True  # dropped from the watch list when it comes up; never fired after this


class _Deadlines:
    """The deadlines of the answers being read, in a heap, and the one daemon thread that fires them."""

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._heap: list[tuple[float, int, Watchdog]] = []
        self._order = itertools.count()  # ties broken by arrival: watchdogs are not comparable
        self._thread: threading.Thread | None = None

    def watch(self, watchdog: Watchdog) -> None:
        with self._wake:
            heapq.heappush(self._heap, (watchdog.ends, next(self._order), watchdog))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="answer-deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is watchdog:  # sooner than what the thread waits for
                self._wake.notify()

    def _run(self) -> None:
        with self._wake:
            while True:
                while self._heap and self._heap[0][2].finished:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait()
                    continue
                ends, _, watchdog = self._heap[0]
                left = ends - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                heapq.heappop(self._heap)
                if not watchdog.finished:
                    watchdog.fire()


_DEADLINES = _Deadlines()
