"""Carries out a plan's writes: bounded concurrency, each write waited on until Immuta settles it.

Every write is safe to repeat: identity is the natural key, creates never duplicate (the client looks
before it retries a POST), and a crash part-way leaves a state that the next plan simply continues from.
A saved plan's integration is re-read just before its write and refused if it moved since the review.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from typing import Any, Literal

from reconciler.actual import record_fingerprint
from reconciler.applying import busy, sending, stopping
from reconciler.applying.outcome import explain, settled
from reconciler.applying.poller import Poller, Record
from reconciler.applying.stopping import DEFAULT_GRACE, Stop, exit_code_of, name_of, signal_of
from reconciler.client.immuta import ImmutaClient
from reconciler.errors import ApiError, ConflictError, NotFoundError, ReconcilerError, ValidationFailed
from reconciler.planning import credentials, reviewed
from reconciler.planning.plan import Action, Change, Plan
from reconciler.planning.request import request_body
from reconciler.statuses import Health, health

Outcome = Literal["done", "failed", "refused"]


@dataclass(frozen=True, slots=True)
class ApplyOptions:
    parallelism: int = 8
    timeout: float = 600.0  # seconds to wait for one integration's status to settle
    poller: Poller = field(default_factory=Poller, compare=False)  # one per run: it learns how long writes take
    expected: Mapping[str, str | None] | None = None  # saved plan: key → Immuta fingerprint it was based on
    grace: float = DEFAULT_GRACE  # seconds the writes under way may take to finish after a signal
    stop: Stop = field(default_factory=Stop, compare=False)  # one per run: set on a signal (stopping.py)


@dataclass(frozen=True, slots=True)
class Result:
    change: Change
    outcome: Outcome
    message: str = ""
    integration_id: str | None = None


Progress = Callable[[Change, str], None]


class Refused(ReconcilerError):
    pass


class Interrupted(ReconcilerError):
    """A signal during apply (Ctrl-C, SIGTERM): no further write was started, those under way finished
    within the grace period or are named as unknown; here is what was done."""

    def __init__(
        self,
        results: list[Result],
        planned: int,
        *,
        signal_number: int = signal.SIGINT,
        unfinished: Sequence[str] = (),
        grace: float = DEFAULT_GRACE,
    ) -> None:
        self.results = results
        self.signal_number = signal_number
        self.exit_code = exit_code_of(signal_number)
        self.unfinished = tuple(unfinished)
        still = ""
        if unfinished:
            still = (
                f", {len(unfinished)} still under way when apply stopped waiting (within the {grace:g}s grace "
                f"period), their outcome unknown until the next plan: {'; '.join(unfinished)}"
            )
        super().__init__(
            f"{name_of(signal_number)}: {len(results)} of {planned} write(s) finished{still}, "
            "the rest were not started; running apply again continues from here"
        )


def apply_plan(
    plan: Plan, client: ImmutaClient, options: ApplyOptions, progress: Progress | None = None
) -> list[Result]:
    """Every write of the plan, `options.parallelism` at a time; one Result per write, in plan order.

    Deletes go first, and are waited for: a create may need what a delete frees (a natural key such as
    Trino's, or a unique value such as an S3 location path)."""
    writes = list(plan.writes)
    report = progress or (lambda change, text: None)
    lock = threading.Lock()
    results: dict[int, Result] = {}
    stages: dict[int, str] = {}  # what each started write last did: named if it is still under way

    def run(index: int, change: Change) -> None:
        if options.stop.stop_requested():
            return  # picked up after the signal: never started

        def staged(shown: Change, text: str) -> None:
            with lock:
                stages[index] = text
            report(shown, text)

        result = _apply_one(change, client, options, staged)
        with lock:
            if result is None:  # not started: it sent nothing, so it is not under way either
                stages.pop(index, None)
            else:
                results[index] = result

    deletes = [(i, c) for i, c in enumerate(writes) if c.action is Action.DELETE]
    others = [(i, c) for i, c in enumerate(writes) if c.action is not Action.DELETE]
    pool = ThreadPoolExecutor(max(1, options.parallelism), "apply", initializer=stopping.block_stop_signals)
    futures: list[Future[None]] = []
    with options.stop.watching():  # the workers see a signal the moment it arrives
        try:
            for phase in (deletes, others):
                futures = [pool.submit(run, index, change) for index, change in phase]
                for future in futures:
                    future.result()
        except KeyboardInterrupt as signalled:  # SIGINT, or SIGTERM as stopping.Terminated
            options.stop.requested.set()
            pool.shutdown(wait=False, cancel_futures=True)
            started = [f for f in futures if not f.cancelled()]  # a cancelled one never counts as done in wait()
            with contextlib.suppress(KeyboardInterrupt):  # a second signal: stop waiting, report now
                wait_for(started, timeout=options.grace)
            options.stop.abandoned.set()
            with lock:
                finished = [results[index] for index in sorted(results)]
                unfinished = [f"{writes[i].key} ({stages[i]})" for i in sorted(stages) if i not in results]
            raise Interrupted(
                finished, len(writes), signal_number=signal_of(signalled), unfinished=unfinished, grace=options.grace
            ) from None
        finally:
            # Interrupted (or a bug): start no further write; those under way finish, so none is left halfway.
            pool.shutdown(wait=not options.stop.requested.is_set(), cancel_futures=True)
    return [results[index] for index in sorted(results)]


def _apply_one(change: Change, client: ImmutaClient, options: ApplyOptions, report: Progress) -> Result | None:
    """The write's Result; None when a signal came before its first write request (it was not started)."""
    options.stop.begin()
    try:
        if change.missing_credentials:  # the gate refuses the whole plan; this guards any other caller
            raise Refused(f"Immuta's DELETE needs {', '.join(change.missing_credentials)}, which the file lacks")
        _check_unchanged(change, client, options)
        if change.actual_id is not None and health(change.actual_status or "") is Health.TRANSITIONAL:
            report(change, f"waiting for Immuta to finish '{change.actual_status}'")
            record = _wait(change, client, change.actual_id, options, gone_ok=True)
            if record is None:
                return _already_gone(change, client, options, report)
            if change.action is Action.CREATE:  # planned while it was being deleted, and it was not
                raise ReconcilerError(
                    f"'{change.actual_status}' ended with status {record.get('status')!r} and the integration is "
                    f"still in Immuta (id {change.actual_id}): plan again"
                )
        new_id = _write(change, client, options, report)
        report(change, "done")
        return Result(change, "done", "", new_id)
    except stopping.NotStarted:
        return None
    except Refused as exc:
        report(change, f"refused: {exc}")
        return Result(change, "refused", str(exc), change.actual_id)
    except ApiError as exc:
        message = explain(change, exc)
        report(change, f"failed: {message}")
        return Result(change, "failed", message, change.actual_id)
    except ReconcilerError as exc:
        report(change, f"failed: {exc}")
        return Result(change, "failed", str(exc), change.actual_id)


def _already_gone(change: Change, client: ImmutaClient, options: ApplyOptions, report: Progress) -> Result:
    """The integration disappeared while we waited for it to settle."""
    if change.action is Action.DELETE:
        report(change, "done (already gone)")
        return Result(change, "done", "already gone", change.actual_id)
    if change.action is Action.UPDATE:
        raise ReconcilerError(f"deleted in Immuta while apply waited for it (id {change.actual_id}); plan again")
    new_id = _create(change, client, options, report)  # a create or a replace: only the create is left
    report(change, "done")
    return Result(change, "done", "", new_id)


def _check_unchanged(change: Change, client: ImmutaClient, options: ApplyOptions) -> None:
    """For a saved plan: the integration must still be what the reviewer saw, just before we write."""
    if options.expected is None:
        return
    expected = options.expected.get(reviewed.key_id(change.key.type, change.key.parts))
    if change.actual_id is None:
        return  # a create: a POST that meets an existing key answers 409, reported as a refusal
    declared = f"; declared in {change.file}" if change.file else ""
    try:
        record = client.get(change.actual_id)
    except NotFoundError:
        raise Refused(f"deleted in Immuta since the plan (id {change.actual_id}{declared})") from None
    current = record_fingerprint(record, change.actual.type_schema) if change.actual is not None else None
    if current != expected:
        raise Refused(f"changed in Immuta since the plan (id {change.actual_id}{declared}): plan again and review")


def _write(change: Change, client: ImmutaClient, options: ApplyOptions, report: Progress) -> str | None:
    if change.action in (Action.DELETE, Action.REPLACE):
        assert change.actual_id is not None
        options.stop.check()
        report(change, f"deleting id {change.actual_id}")
        try:
            busy.written(lambda: _delete(client, change), client, change, "delete", options, report)
        except (NotFoundError, busy.GoneWhileBusy):
            pass  # already gone: what we wanted
        else:
            waited = _wait(change, client, change.actual_id, options, gone_ok=True, after="deleting")
            settled(change, waited, gone=True)
        if change.action is Action.DELETE:
            return change.actual_id
        return _replacement(change, client, options, report)
    if change.action is Action.UPDATE:
        assert change.actual_id is not None
        options.stop.check()
        report(change, f"updating id {change.actual_id}")
        busy.updated(client, change, _body(change), options, report)
        settled(change, _wait(change, client, change.actual_id, options, gone_ok=False, after="editing"), gone=False)
        return change.actual_id
    return _create(change, client, options, report)


def _delete(client: ImmutaClient, change: Change) -> None:
    """DELETE with the privileged credentials at the top level [A16]; if Immuta still asks for them, once more
    with them under `config` — the other form a tenant may expect (§8). A DELETE is safe to repeat."""
    assert change.actual_id is not None
    body = credentials.delete_body(change.actual, change.desired)
    try:
        client.delete(change.actual_id, body)
    except ValidationFailed as exc:
        if body is None or not credentials.wants_them_nested(exc.status, exc.message, body):
            raise
        client.delete(change.actual_id, credentials.nested(body))


def _replacement(change: Change, client: ImmutaClient, options: ApplyOptions, report: Progress) -> str:
    """The create half of a replace, whose delete has succeeded: a failure now leaves the integration absent
    from Immuta, and the user must hear that loudly, with what to do."""
    try:
        return _create(change, client, options, report)
    except ReconcilerError as exc:
        reason = explain(change, exc) if isinstance(exc, ApiError) else str(exc)
        declared = f"{change.file} still declares it" if change.file else "the files still declare it"
        raise ReconcilerError(
            f"REPLACE HALF DONE: the original integration (id {change.actual_id}) was deleted, but creating its "
            f"replacement failed: {reason}. {change.key} is now absent from Immuta; {declared}: fix the cause, "
            "then run `reconciler apply` again to create it"
        ) from None


def _create(change: Change, client: ImmutaClient, options: ApplyOptions, report: Progress) -> str:
    options.stop.check()
    report(change, "creating")
    try:
        created = sending.sent(client.create, change, _body(change), report)
    except ConflictError as exc:
        raise Refused(f"{exc.message} It was created since the plan: plan again and review.") from None
    new_id = str(created["id"])
    settled(change, _wait(change, client, new_id, options, gone_ok=False, after="creating"), gone=False)
    return new_id


def _wait(
    change: Change,
    client: ImmutaClient,
    integration_id: str,
    options: ApplyOptions,
    *,
    gone_ok: bool,
    after: str | None = None,
) -> Record | None:
    """Wait until Immuta settles the integration; None when it is gone and `gone_ok`. `after` is the status
    our own write just started, so the poller can learn how long such a write takes."""
    kind = f"{change.type} {after}" if after is not None else None
    waited = options.poller.wait(
        client, integration_id, timeout=options.timeout, label=str(change.key), gone_ok=gone_ok, kind=kind
    )
    return waited.record


def _body(change: Change) -> dict[str, Any]:
    """What POST/PUT sends (planning/request.py); an update is built against what Immuta reported."""
    assert change.desired is not None
    reported = change.actual.payload if change.action is Action.UPDATE and change.actual is not None else None
    return request_body(change.desired, reported, change.carried)
