"""What apply shows while it runs, through a writer it is handed: on a terminal one line per integration
redrawn in place; in CI and logs plain timestamped lines. Also times each integration's write."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from reconciler.applying.apply import Progress
from reconciler.planning.plan import Change
from reconciler.render.escape import terminal
from reconciler.render.plan_text import MARKERS

Write = Callable[[str], None]  # text as it should appear, newlines included


def _line(change: Change, text: str) -> str:
    return f"{MARKERS[change.action]} {terminal(str(change.key))}: {terminal(text)}"


def live_lines(changes: Sequence[Change], write: Write) -> Progress:
    """One line per integration ("waiting" until it starts); every event redraws the block in place."""
    lock = threading.Lock()
    rows = {str(c.key): _line(c, "waiting") for c in changes}
    drawn = 0

    def show(change: Change, text: str) -> None:
        nonlocal drawn
        with lock:
            rows[str(change.key)] = _line(change, text)
            up = f"\x1b[{drawn}F" if drawn else ""  # back to the block's first line
            write(up + "".join(f"\x1b[2K{row}\n" for row in rows.values()))
            drawn = len(rows)

    return show


def timestamped_lines(write: Write, stamp: Callable[[], str] = lambda: time.strftime("%H:%M:%S")) -> Progress:
    """One line per event, stamped: a CI log keeps every step, in order."""
    lock = threading.Lock()

    def show(change: Change, text: str) -> None:
        with lock:
            write(f"{stamp()} {_line(change, text)}\n")

    return show


class Timings:
    """A Progress that passes every event on and times each integration from its first event to its last
    (apply reports the outcome last), for the apply report's `duration_seconds`."""

    def __init__(self, inner: Progress, clock: Callable[[], float] = time.monotonic) -> None:
        self._inner = inner
        self._clock = clock
        self._lock = threading.Lock()
        self._first: dict[str, float] = {}
        self._last: dict[str, float] = {}

    def __call__(self, change: Change, text: str) -> None:
        now = self._clock()
        key = str(change.key)
        with self._lock:
            self._first.setdefault(key, now)
            self._last[key] = now
        self._inner(change, text)

    @property
    def durations(self) -> dict[str, float]:
        with self._lock:
            return {key: self._last[key] - start for key, start in self._first.items()}
