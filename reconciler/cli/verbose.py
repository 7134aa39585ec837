"""--verbose: the HTTP log (secrets redacted by the client) written to standard error."""

from __future__ import annotations

import logging
import sys


class _VerboseHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a record is logged (one handler, however many runs)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))

    def format(self, record: logging.LogRecord) -> str:
        from reconciler.render.escape import terminal

        return terminal(super().format(record))  # one line a record: whatever Immuta's answer held

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def setup_logging(verbose: bool) -> None:
    logger = logging.getLogger("reconciler")
    for handler in [h for h in logger.handlers if isinstance(h, _VerboseHandler)]:
        logger.removeHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.NOTSET)
    if verbose:
        logger.addHandler(_VerboseHandler())
