"""The HTTP trace: logger `reconciler.http`. DEBUG shows every request and response with bodies already
redacted by the caller; INFO shows retries and how ambiguous failures were resolved.

Headers are never logged (the Authorization header carries the key or token). Library code only logs; the
CLI attaches a handler for `--verbose`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from reconciler.client.redaction import Redactor, scrub_free_text
from reconciler.client.wire import Answer
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


def answer_view(kind: str, answer: Answer, redactor: Callable[[], Redactor], sent: frozenset[str]) -> str:
    """An answer as the trace shows it: structured masking first, then the values sent scrubbed from free texts."""
    if not answer.body:
        return "(empty)"
    if kind == "script" and answer.is_success:
        return f"(script, {len(answer.text)} characters)"
    try:
        body = answer.json()
    except ValueError:
        return f"(not JSON: {answer.header('content-type') or 'no content type'}, {len(answer.body)} bytes)"
    view = redactor().records(body) if kind == "records" else redactor().payload(body)
    return render(scrub_free_text(view, sent))
