"""The HTTP trace: logger `reconciler.http`. DEBUG shows every request and response with bodies already
redacted by the caller; INFO shows retries and how ambiguous failures were resolved.

Headers are never logged (the Authorization header carries the key or token). Library code only logs; the
CLI attaches a handler for `--verbose`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from reconciler.secrets import mask_all

logger = logging.getLogger("reconciler.http")

_BODY_LIMIT = 4000


def enabled() -> bool:
    return logger.isEnabledFor(logging.DEBUG)


def render(view: Any) -> str:
    """A redacted body view as one line of JSON, shortened for the log."""
    text = json.dumps(mask_all(view), ensure_ascii=False, default=str, separators=(",", ":"))
    return text if len(text) <= _BODY_LIMIT else f"{text[:_BODY_LIMIT]}… ({len(text)} characters)"


def request(method: str, path: str, attempt: int, body: str | None) -> None:
    if body is None:
        logger.debug("→ %s %s (attempt %d)", method, path, attempt)
    else:
        logger.debug("→ %s %s (attempt %d) body=%s", method, path, attempt, body)


def response(method: str, path: str, attempt: int, status: int, *, seconds: float, body: str | None) -> None:
    if body is None:
        logger.debug("← %s %s → %d in %.3fs (attempt %d)", method, path, status, seconds, attempt)
    else:
        logger.debug("← %s %s → %d in %.3fs (attempt %d) body=%s", method, path, status, seconds, attempt, body)


def failure(method: str, path: str, attempt: int, seconds: float, what: str) -> None:
    logger.debug("✗ %s %s: %s after %.3fs (attempt %d)", method, path, what, seconds, attempt)


def retrying(method: str, path: str, attempt: int, delay: float, why: str) -> None:
    logger.info("%s %s: %s on attempt %d; retrying in %.2fs", method, path, why, attempt, delay)


def note(method: str, path: str, text: str) -> None:
    logger.info("%s %s: %s", method, path, text)
