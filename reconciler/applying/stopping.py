"""Stopping an apply on a signal: Ctrl-C (SIGINT) or SIGTERM, which CI sends on cancel, alike.

The first signal starts no new write; the writes under way may finish within a grace period, then the
summary of what finished is printed. A second signal — or the end of the grace period — stops the wait at
once: no further request is sent, and what is still under way is named as unknown. The command line turns
SIGTERM into `Terminated` in the main thread, as Python turns SIGINT into KeyboardInterrupt; this module
only reads them, it never installs a handler.
"""

from __future__ import annotations

import signal
import threading

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


class Abandoned(ReconcilerError):
    """The grace period ended, or a second signal came: this worker sends no further request."""


class Stop:
    """Shared by apply's main thread, which sets it, and its workers, which look at it between requests."""

    def __init__(self) -> None:
        self.requested = threading.Event()  # first signal: no new write starts
        self.abandoned = threading.Event()  # grace over or second signal: no further request at all

    def sleep(self, seconds: float) -> None:
        """A poller's wait between two status reads, cut short (raising Abandoned) once abandoned."""
        if self.abandoned.wait(max(0.0, seconds)):
            raise Abandoned("stopped waiting: apply was interrupted")

    def check(self) -> None:
        """Before each write request."""
        if self.abandoned.is_set():
            raise Abandoned("not sent: apply was interrupted")
