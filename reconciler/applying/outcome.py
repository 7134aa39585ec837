"""What a write's answer means: the status Immuta settled it in, and Immuta's error messages in words a
user can act on. Statuses are read through `reconciler.statuses` only; secrets are scrubbed from anything
Immuta says back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.assumptions import A13_NON_EDITABLE_TEXT
from reconciler.client.answers import failed_validations as validation_guidance
from reconciler.client.redaction import scrub
from reconciler.errors import ApiError, ReconcilerError, ValidationFailed
from reconciler.planning import credentials
from reconciler.planning.plan import Change
from reconciler.secrets import secret_values
from reconciler.statuses import Health, describe, health

PREREQUISITE_FAILED = "Validation of prerequisite setup failed"
VALIDATION_TEXT_LIMIT = 300

Record = Mapping[str, Any]


def settled(change: Change, record: Record | None, *, gone: bool) -> None:
    """Whether a write Immuta accepted succeeded, read from the status it settled in: only `enabled` after a
    create or update, only gone after a delete. A failed status says what failed, in Immuta's words; a
    status this version does not know is reported as such, never taken as success."""
    if record is None:
        if gone:
            return
        raise ReconcilerError("disappeared from Immuta while being written")
    status = str(record.get("status", ""))
    kind = health(status)
    if (kind is Health.GONE and gone) or (kind is Health.HEALTHY and not gone):
        return
    if kind is Health.FAILED or kind is Health.UNKNOWN:
        raise ReconcilerError(f"{describe(status)}{failed_validations(change, record)}")
    if gone:
        raise ReconcilerError(f"still present with status {status!r} after delete")
    raise ReconcilerError(f"status {status!r} when apply stopped waiting: check it in Immuta, then plan again")


def failed_validations(change: Change, record: Record) -> str:
    """Immuta's own guidance, ` (test: message; …)` for each failed validation test, secrets scrubbed."""
    text = validation_guidance(record)
    if not text:
        return ""
    text = scrub(text, secret_values(change.desired.body if change.desired else None))
    if len(text) > VALIDATION_TEXT_LIMIT:
        text = text[:VALIDATION_TEXT_LIMIT] + "…"
    return f" ({text})"


def explain(change: Change, exc: ApiError) -> str:
    """An API failure of one write, with Immuta's message and the next step where one is known."""
    next_step = _next_step(change, exc)
    if next_step and _prerequisites_failed(exc):
        return f"{exc.message} — {next_step}"
    code = f" → {exc.status}" if exc.status is not None else ""
    # A 409 that reaches here is not Immuta being busy (applying/busy.py waited that out): no hint saying so.
    hint = f" ({exc.hint})" if exc.hint and exc.status != 409 else ""
    then = f" — {next_step}" if next_step else ""
    return f"{exc.method} {exc.path}{code}: {exc.message}{hint}{then}"


def _prerequisites_failed(exc: ApiError) -> bool:
    # Immuta's texts differ in letter case between releases and pages (§7): compare them case-insensitively.
    return (
        isinstance(exc, ValidationFailed)
        and exc.status == 422
        and PREREQUISITE_FAILED.casefold() in exc.message.casefold()
    )


def _next_step(change: Change, exc: ApiError) -> str:
    if _prerequisites_failed(exc):
        if change.auto_bootstrap is False:
            return (
                f"{change.key} has autoBootstrap: false, so the platform must be set up first: run "
                f"`reconciler scripts {change.file or 'PATH'} --out scripts/`, have the DBA run the script(s), "
                "then apply again"
            )
        return (
            "Immuta could not set the platform up with the privileged credentials given: check that they "
            "(and the role) are right and may create what Immuta needs, then apply again"
        )
    if exc.method == "PUT" and A13_NON_EDITABLE_TEXT in exc.message.casefold():
        return (
            "Immuta will not change a field of it by PUT: this change needs a replace (delete, then create), "
            "which this version plans only for the fields its schema marks immutable — replace it deliberately "
            "(a tombstone, apply, then the file again), and report the field"
        )
    if exc.method == "POST" and exc.status == 400 and "PUT /integrations/" in exc.message:
        return "Immuta holds it in createError: plan again, and the plan repairs it with PUT"
    if exc.method != "DELETE":
        return ""
    if exc.status == 400:
        return credentials.explain_refusal(exc.message) or ""
    if exc.status == 409:
        return "Immuta refused it as a conflict while the integration was not busy: its message says with what"
    if exc.status == 422:
        return "Immuta could not process the delete: fix what its message names in Immuta, then apply again"
    return ""
