"""Carries out a plan's writes: bounded concurrency, each write waited on until Immuta settles it.

Every write is safe to repeat: identity is the natural key, creates never duplicate (the client looks
before it retries a POST), and a crash part-way leaves a state that the next plan simply continues from.
A saved plan's integration is re-read just before its write and refused if it moved since the review.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from reconciler.actual import fingerprint
from reconciler.assumptions import A15_TRANSITIONAL_STATUSES, A16_DELETE_CREDENTIAL_FIELDS
from reconciler.client import ImmutaClient
from reconciler.errors import ApiError, ConflictError, NotFoundError, ReconcilerError, ValidationFailed
from reconciler.plan import Action, Change, Plan
from reconciler.schema import payload_of

Outcome = Literal["done", "failed", "refused"]
ERROR_STATUSES = {
    "createError": "creation failed in Immuta",
    "editError": "the edit failed in Immuta, which rolled the integration back to its previous state",
    "deleteError": "the delete failed in Immuta, which rolled the integration back to its previous state",
}
PREREQUISITE_FAILED = "Validation of prerequisite setup failed"


@dataclass(frozen=True, slots=True)
class ApplyOptions:
    parallelism: int = 8
    timeout: float = 600.0  # seconds to wait for one integration's status to settle
    poll_interval: float = 0.5
    expected: Mapping[str, str | None] | None = None  # saved plan: key → Immuta fingerprint it was based on


@dataclass(frozen=True, slots=True)
class Result:
    change: Change
    outcome: Outcome
    message: str = ""
    integration_id: str | None = None


Progress = Callable[[Change, str], None]


class Refused(ReconcilerError):
    pass


def apply_plan(
    plan: Plan, client: ImmutaClient, options: ApplyOptions, progress: Progress | None = None
) -> list[Result]:
    writes = list(plan.writes)
    report = progress or (lambda change, text: None)
    lock = threading.Lock()
    results: list[Result] = []

    def run(change: Change) -> None:
        result = _apply_one(change, client, options, report)
        with lock:
            results.append(result)

    with ThreadPoolExecutor(max_workers=max(1, options.parallelism), thread_name_prefix="apply") as pool:
        for future in [pool.submit(run, change) for change in writes]:
            future.result()
    order = {id(change): index for index, change in enumerate(writes)}
    return sorted(results, key=lambda r: order[id(r.change)])


def _apply_one(change: Change, client: ImmutaClient, options: ApplyOptions, report: Progress) -> Result:
    try:
        _check_unchanged(change, client, options)
        if change.actual_id is not None and change.actual_status in A15_TRANSITIONAL_STATUSES:
            report(change, f"waiting for Immuta to finish '{change.actual_status}'")
            gone = client.wait_until_settled(
                change.actual_id,
                deadline_seconds=options.timeout,
                poll_interval=options.poll_interval,
                gone_ok=True,
            )
            if gone is None and change.action is not Action.CREATE:
                return Result(change, "done", "already gone", change.actual_id)
        new_id = _write(change, client, options, report)
        report(change, "done")
        return Result(change, "done", "", new_id)
    except Refused as exc:
        report(change, f"refused: {exc}")
        return Result(change, "refused", str(exc), change.actual_id)
    except ApiError as exc:
        message = _explain(change, exc)
        report(change, f"failed: {message}")
        return Result(change, "failed", message, change.actual_id)
    except ReconcilerError as exc:
        report(change, f"failed: {exc}")
        return Result(change, "failed", str(exc), change.actual_id)


def _check_unchanged(change: Change, client: ImmutaClient, options: ApplyOptions) -> None:
    """For a saved plan: the integration must still be what the reviewer saw, just before we write."""
    if options.expected is None:
        return
    expected = options.expected.get(str(change.key))
    if change.actual_id is None:
        return  # a create: a POST that meets an existing key answers 409, reported as a refusal
    try:
        record = client.get(change.actual_id)
    except NotFoundError:
        raise Refused(f"deleted in Immuta since the plan (id {change.actual_id})") from None
    current = fingerprint({k: v for k, v in record.items() if k not in ("id", "status", "validationResults")})
    if current != expected:
        raise Refused(f"changed in Immuta since the plan (id {change.actual_id}); plan again and review")


def _write(change: Change, client: ImmutaClient, options: ApplyOptions, report: Progress) -> str | None:
    wait = {"deadline_seconds": options.timeout, "poll_interval": options.poll_interval}
    if change.action in (Action.DELETE, Action.REPLACE):
        assert change.actual_id is not None
        report(change, f"deleting id {change.actual_id}")
        try:
            client.delete(change.actual_id, delete_credentials(change))
        except NotFoundError:
            pass  # already gone: what we wanted
        else:
            _settled(change, client.wait_until_settled(change.actual_id, gone_ok=True, **wait), gone=True)
        if change.action is Action.DELETE:
            return change.actual_id
    body = _body(change)
    if change.action is Action.UPDATE:
        assert change.actual_id is not None
        report(change, f"updating id {change.actual_id}")
        client.update(change.actual_id, body)
        _settled(change, client.wait_until_settled(change.actual_id, gone_ok=False, **wait), gone=False)
        return change.actual_id
    report(change, "creating")
    try:
        created = client.create(body)
    except ConflictError as exc:
        raise Refused(f"already exists in Immuta, created since the plan: {exc.message}") from None
    new_id = str(created["id"])
    _settled(change, client.wait_until_settled(new_id, gone_ok=False, **wait), gone=False)
    return new_id


def _settled(change: Change, record: Mapping[str, Any] | None, *, gone: bool) -> None:
    if record is None:
        if gone:
            return
        raise ReconcilerError("disappeared from Immuta while being written")
    status = str(record.get("status", ""))
    if status in ERROR_STATUSES:
        raise ReconcilerError(f"{status}: {ERROR_STATUSES[status]}")
    if gone and status not in ("deleted", "disabled"):
        raise ReconcilerError(f"still present with status {status!r} after delete")


def _body(change: Change) -> dict[str, Any]:
    assert change.desired is not None
    return payload_of(change.desired.body)


def delete_credentials(change: Change) -> dict[str, Any] | None:
    """The DELETE body (A16): privileged credentials for an automatically bootstrapped integration, and
    nothing at all where Immuta rejects them (Databricks, manual bootstrap)."""
    fields = A16_DELETE_CREDENTIAL_FIELDS.get(change.type)
    if not fields or change.actual is None or change.actual.payload.get("autoBootstrap") is not True:
        return None
    config = change.desired.body.get("config") if change.desired is not None else None
    if not isinstance(config, dict):
        return None
    credentials = {name: config[name] for name in fields if name in config}
    return credentials or None


def _explain(change: Change, exc: ApiError) -> str:
    if isinstance(exc, ValidationFailed) and exc.status == 422 and PREREQUISITE_FAILED in exc.message:
        where = change.file or "PATH"
        return (
            f"{exc.message} — {change.key} has autoBootstrap: false, so the platform must be set up first: "
            f"run `reconciler scripts {where} --out scripts/`, have the DBA run the script(s), then apply again"
        )
    return f"{exc.method} {exc.path} → {exc.status}: {exc.message}"
