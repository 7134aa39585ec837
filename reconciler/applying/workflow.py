"""The apply sequence, as one library call: plan → refuse if stale → gate → show → approve → apply → verify.

It talks to the user only through the hooks it is handed (a warning writer, the plan display, the approval
and the progress display), so it can be driven by the command line, a test or another program alike."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from reconciler.applying import approval as approval_rules
from reconciler.applying.apply import ApplyOptions, Interrupted, Progress, Result, apply_plan
from reconciler.applying.poller import Poller, Schedule
from reconciler.applying.progress import Timings
from reconciler.applying.stopping import DEFAULT_GRACE, Stop, signal_of
from reconciler.applying.verify import Verification, verify
from reconciler.client.immuta import ImmutaClient
from reconciler.errors import RefusedError
from reconciler.planning import engine, gate, savedplan
from reconciler.planning.plan import Change, Plan
from reconciler.target import Target
from reconciler.validation.schema import SchemaSet

Status = Literal["no-changes", "declined", "applied", "interrupted"]


@dataclass(frozen=True, slots=True)
class ApplyRequest:
    plan: engine.PlanRequest
    saved: savedplan.SavedPlan | None = None  # apply exactly this reviewed plan, or refuse
    gate: gate.GateOptions = field(default_factory=gate.GateOptions)
    parallelism: int = 8
    timeout: float = 600.0
    schedule: Schedule = field(default_factory=Schedule)  # how status reads are spaced (poller.py)
    grace: float = DEFAULT_GRACE  # seconds the writes under way may take to finish after a signal


@dataclass(frozen=True, slots=True)
class Hooks:
    """How the sequence reaches the user; every one of them is the caller's."""

    warn: Callable[[str], None]
    show_plan: Callable[[Plan], None]
    approval: approval_rules.Approval
    progress: Callable[[Sequence[Change]], Progress]  # given the writes about to run
    clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True, slots=True)
class ApplyOutcome:
    plan: Plan
    status: Status
    results: tuple[Result, ...] = ()
    verification: Verification = field(default_factory=Verification)
    durations: Mapping[str, float] = field(default_factory=dict)  # key → seconds of its write
    interruption: Interrupted | None = None  # a signal: the caller reports the results, then raises it


def refuse_if_stale(saved: savedplan.SavedPlan, fresh: Plan, *, advice: str = "") -> None:
    reasons = savedplan.stale_reasons(saved, fresh)
    if reasons:
        raise RefusedError([f"the saved plan {saved.file} is stale{advice}:", *(f"  {r}" for r in reasons)])


def run_apply(
    request: ApplyRequest, schemas: SchemaSet, target: Target, client: ImmutaClient, hooks: Hooks
) -> ApplyOutcome:
    """Raises RefusedError (stale plan, gate, nobody to approve) before any write; never prints."""
    planned = engine.build(request.plan, schemas, target, client)
    for warning in planned.desired.warnings:
        hooks.warn(str(warning))
    plan = planned.plan
    saved = request.saved
    if saved is not None:
        refuse_if_stale(saved, plan, advice="; plan again and review")
    refusals = gate.refusals(plan, request.gate, engine.what_is_declared(plan, schemas))
    if refusals:
        raise RefusedError(
            ["the plan was refused by a safety gate; nothing was changed:", *(f"  {r}" for r in refusals)]
        )
    hooks.show_plan(plan)
    if not plan.has_changes:
        return ApplyOutcome(plan, "no-changes")
    if not approval_rules.approved(hooks.approval, reviewed=saved is not None):
        return ApplyOutcome(plan, "declined")
    expected = {k: c.get("actual_fingerprint") for k, c in saved.changes_by_key().items()} if saved else None
    stop = Stop()  # a signal cuts the pollers' waits short once the grace period is over
    poller = Poller(request.schedule, sleep=stop.sleep)
    options = ApplyOptions(request.parallelism, request.timeout, poller, expected, request.grace, stop)
    timings = Timings(hooks.progress(plan.writes), hooks.clock)
    unverified = Verification(read_error="interrupted before verifying")
    try:
        results = apply_plan(plan, client, options, progress=timings)
    except Interrupted as stopped:
        return ApplyOutcome(plan, "interrupted", tuple(stopped.results), unverified, timings.durations, stopped)
    try:
        verification = verify(planned, results, client, schemas, target)
    except KeyboardInterrupt as signalled:  # every write finished: only the check of them was cut short
        late = Interrupted(results, len(results), signal_number=signal_of(signalled))
        return ApplyOutcome(plan, "interrupted", tuple(results), unverified, timings.durations, late)
    return ApplyOutcome(plan, "applied", tuple(results), verification, timings.durations)
