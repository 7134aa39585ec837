"""What apply shows while it runs, through a writer it is handed: on a terminal a live block that fits the
terminal (an n/N counter and the writes under way) above which each finished write leaves one line; in CI and
logs plain timestamped lines, one per event. Also times each integration's write."""

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


Size = Callable[[], tuple[int, int]]  # the terminal's (columns, lines), asked again at every redraw
_FINAL = ("done", "failed", "refused")


def _cut(text: str, columns: int) -> str:
    """At most columns - 1 characters: a line as wide as the terminal would wrap on some of them."""
    room = max(columns - 1, 1)
    return text if len(text) <= room else text[: room - 1] + "…"


def live_lines(changes: Sequence[Change], write: Write, size: Size = lambda: (80, 24)) -> Progress:
    """A live block redrawn in place: an n/N counter, then the integrations under way (the most recently
    changed first when they do not all fit). A finished integration's last line is printed once above the
    block, so the scrollback holds one line per write. Every line is cut to the terminal's width and the block
    is never taller than the terminal."""
    lock = threading.Lock()
    total = len(changes)
    active: dict[str, str] = {}  # under way, least recently changed first
    counts = {"done": 0, "failed": 0, "started": 0}
    drawn = 0

    def show(change: Change, text: str) -> None:
        nonlocal drawn
        with lock:
            columns, lines = size()
            key = str(change.key)
            if key not in active:
                counts["started"] += 1
            active.pop(key, None)
            out = [f"\x1b[{drawn}F\x1b[J" if drawn else ""]
            if text.startswith(_FINAL):
                counts["done" if text.startswith("done") else "failed"] += 1
                out.append(_cut(_line(change, text), columns) + "\n")
            else:
                active[key] = _line(change, text)
            finished = counts["done"] + counts["failed"]
            failed = f", {counts['failed']} failed" if counts["failed"] else ""
            header = f"apply: {finished}/{total} finished{failed} · {len(active)} under way"
            header += f" · {total - counts['started']} waiting"
            room = max(lines - 2, 1)  # the header, and the line the cursor rests on
            shown = list(active.values())[::-1]
            if len(shown) > room:
                shown = [*shown[: room - 1], f"… and {len(shown) - room + 1} more under way"]
            block = [_cut(header, columns), *(_cut(row, columns) for row in shown)]
            out.append("".join(f"{row}\n" for row in block))
            write("".join(out))
            drawn = len(block)

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
