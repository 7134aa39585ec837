"""Stopping an apply on a signal: Ctrl-C (SIGINT) or SIGTERM, which CI sends on cancel, alike.

The first signal starts no new write; the writes under way may finish within a grace period, then the
summary of what finished is printed. A second signal — or the end of the grace period — stops the wait at
once: no further request is sent, and what is still under way is named as unknown. The command line turns
SIGTERM into `Terminated` in the main thread, as Python turns SIGINT into KeyboardInterrupt; this module
only reads them, it never installs a handler.

"No new write" holds from the moment the signal reaches the process, not from the moment the main thread
gets round to its handler: that thread may be asleep waiting on a write (when the kernel handed the signal
to a worker) or waiting for the interpreter lock, while a worker that just finished a write picks up the
next. So while writes run, the signal's number is also written to a socket by the C-level handler
(`signal.set_wakeup_fd`), and each write's first request looks there; the workers block both signals,
so the kernel hands them to the main thread, whose wait they interrupt.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Iterator

from reconciler.errors import ReconcilerError

DEFAULT_GRACE = 10.0  # seconds: within the ~7.5 s GitHub Actions leaves between SIGINT and SIGTERM, plus slack


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt so every path handles both."""

    signal_number = signal.SIGTERM


def signal_of(stopped: BaseException) -> int:
    """The signal that raised `stopped`: SIGTERM for `Terminated`, else SIGINT (Ctrl-C)."""
    return int(getattr(stopped, "signal_number", signal.SIGINT))


def exit_code_of(signal_number: int) -> int:
    """128 + the signal, as a shell reports a program a signal stopped: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + signal_number


def name_of(signal_number: int) -> str:
    return "terminated (SIGTERM)" if signal_number == signal.SIGTERM else "interrupted"


STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


class Abandoned(ReconcilerError):
    """The grace period ended, or a second signal came: this worker sends no further request."""


class NotStarted(Exception):
    """A signal came before this write's first request: it is not started, and not counted as done."""


def block_stop_signals() -> None:
    """A worker thread's initializer: SIGINT and SIGTERM go to the main thread, interrupting its wait."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


class Stop:
    """Shared by apply's main thread, which sets it, and its workers, which look at it between requests."""

    def __init__(self) -> None:
        self.requested = threading.Event()  # first signal: no new write starts
        self.abandoned = threading.Event()  # grace over or second signal: no further request at all
        self._lock = threading.Lock()
        self._heard: socket.socket | None = None  # while watching: where the C-level handler writes
        self._written = threading.local()  # per worker: has the current write sent a request yet?

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """While the writes run: see a signal as soon as it is delivered (main thread only; elsewhere the
        signal module is out of reach, and `requested` alone is looked at)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        with self._lock:
            self._heard = reader
        try:
            yield
        finally:
            signal.set_wakeup_fd(previous)
            with self._lock:
                self._heard = None
                reader.close()
                writer.close()

    def stop_requested(self) -> bool:
        """A first signal came: set by the main thread's handler, or already seen on the wakeup socket."""
        if not self.requested.is_set():
            with self._lock, contextlib.suppress(BlockingIOError):
                while self._heard is not None and not self.requested.is_set():
                    if STOP_SIGNALS.intersection(self._heard.recv(64)):
                        self.requested.set()
        return self.requested.is_set()

    def begin(self) -> None:
        """A worker takes up a write: nothing sent for it yet."""
        self._written.sent = False

    def sleep(self, seconds: float) -> None:
        """A poller's wait between two status reads, cut short (raising Abandoned) once abandoned."""
        if self.abandoned.wait(max(0.0, seconds)):
            raise Abandoned("stopped waiting: apply was interrupted")

    def check(self) -> None:
        """Before each write request: the first of a write is not sent once a stop was requested (NotStarted);
        the later ones of a write under way (a replace's create) are, until the wait is abandoned."""
        if self.abandoned.is_set():
            raise Abandoned("not sent: apply was interrupted")
        if not getattr(self._written, "sent", True) and self.stop_requested():
            raise NotStarted
        self._written.sent = True
