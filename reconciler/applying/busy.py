"""A write that meets Immuta busy with the integration: waited out, then sent again, within `--timeout`.

Another admin's edit, a create still provisioning or a background migration makes Immuta refuse a PUT or a
DELETE: 409 `Unable to edit integration with ID <id> in current state editing.` (docs/immuta-api.md §9.5, confirming
A15), or — on a tenant that answers it so (§8) — 422 with the same text. Either way nothing was written: the
integration's status is waited on until it settles (the one poller) and the write is sent again. A 409 whose
text names no status is busy only if a status read says so (a uniqueness 409 is not: waiting would not mend
it). When `--timeout` passes first, the failure says so, in words that fit: wait, then apply again.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from reconciler.applying import sending
from reconciler.applying.poller import Poller, Record
from reconciler.client.immuta import ImmutaClient
from reconciler.errors import ApiError, ConflictError, ReconcilerError, ValidationFailed
from reconciler.planning.plan import Change
from reconciler.statuses import Health, health

T = TypeVar("T")
Report = Callable[[Change, str], None]
# "… in current state editing", "… while its status is editing", "status: 'deleting'"
_NAMED_STATUS = re.compile(r"\b(?:state|status)\b(?:\s+is)?[\s:]+['\"]?([A-Za-z]+)")
BUSY_RETRIES = 20  # bound on writes sent again, besides the deadline: a tenant that never stops refusing


class StillBusy(ReconcilerError):
    """Immuta was still busy with the integration when `--timeout` ran out: nothing was written."""


class GoneWhileBusy(ReconcilerError):
    """The integration was deleted while the write waited for Immuta to finish with it."""


def named_status(exc: ApiError) -> str | None:
    """The transitional status an answer's text names (`… in current state editing`), if any."""
    for found in _NAMED_STATUS.finditer(exc.message):
        if health(found.group(1)) is Health.TRANSITIONAL:
            return found.group(1)
    return None


class Waits(Protocol):
    """What a wait needs of apply's options: the run's poller and `--timeout`."""

    @property
    def poller(self) -> Poller: ...

    @property
    def timeout(self) -> float: ...


def updated(client: ImmutaClient, change: Change, body: dict[str, Any], options: Waits, report: Report) -> None:
    """The PUT of `change`, sent again once Immuta is no longer busy with it, and without any schema default
    Immuta refuses as unknown (applying/sending.py)."""
    assert change.actual_id is not None
    put = functools.partial(client.update, change.actual_id)
    written(functools.partial(sending.sent, put, change, body, report), client, change, "update", options, report)


def written(
    write: Callable[[], T], client: ImmutaClient, change: Change, verb: str, options: Waits, report: Report
) -> T:
    """`write()`'s answer (the `verb` of `change`'s integration); while Immuta answers that it is busy with
    it, wait for its status to settle and write again. Raises StillBusy at the deadline, GoneWhileBusy if it
    disappeared meanwhile."""
    poller, timeout = options.poller, options.timeout
    assert change.actual_id is not None
    integration_id, label = change.actual_id, str(change.key)
    started = poller.now()
    retries = 0
    while True:
        try:
            return write()
        except (ConflictError, ValidationFailed) as exc:
            status = _busy(exc, client, integration_id)
            if status is None:
                raise
            remaining = started + timeout - poller.now()
            if remaining <= 0 or retries >= BUSY_RETRIES:
                raise StillBusy(_still_busy(verb, status, timeout, exc)) from None
            report(
                change, f"Immuta is busy with it ('{status}'): waiting for it to settle, then sending the {verb} again"
            )
            try:
                record = poller.wait(client, integration_id, timeout=remaining, label=label, gone_ok=True).record
            except ApiError:
                raise StillBusy(_still_busy(verb, status, timeout, exc)) from None
            if record is None:
                raise GoneWhileBusy(f"deleted in Immuta while the {verb} waited for it to settle") from None
            retries += 1


def _busy(exc: ApiError, client: ImmutaClient, integration_id: str) -> str | None:
    named = named_status(exc)
    if named is not None or not isinstance(exc, ConflictError):
        return named
    try:
        record: Record = client.status(integration_id, attempts=1)
    except ApiError:
        return None
    status = str(record.get("status", ""))
    return status if health(status) in (Health.TRANSITIONAL, Health.UNKNOWN) else None


def _still_busy(verb: str, status: str, timeout: float, exc: ApiError) -> str:
    return (
        f"Immuta was still busy with it ('{status}': {exc.method} answered {exc.status} {exc.message!r}) after "
        f"--timeout {timeout:g}s, so the {verb} was not carried out: wait until its status settles (plan shows "
        "it), then apply again"
    )
