"""After the writes: re-read Immuta once and re-diff what was touched. Converged, or name what did not
settle — a plan that does not settle after one apply is a bug somewhere, and the user must hear of it.
An integration written that Immuta now reports in a failed or unknown status (reconciler.statuses) has not
converged either, even when its fields match."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.applying.apply import Result
from reconciler.client.immuta import ImmutaClient
from reconciler.errors import ApiError
from reconciler.planning import engine
from reconciler.planning.plan import Change
from reconciler.statuses import Health, health
from reconciler.target import Target
from reconciler.validation.schema import SchemaSet


@dataclass(frozen=True, slots=True)
class Verification:
    unsettled: tuple[Change, ...] = ()
    read_error: str | None = None
    unhealthy: tuple[Change, ...] = ()  # written, fields settled, but in a failed or unknown status now

    @property
    def converged(self) -> bool:
        return not self.unsettled and not self.unhealthy and self.read_error is None


def verify(
    planned: engine.Planned,
    results: Sequence[Result],
    client: ImmutaClient,
    schemas: SchemaSet,
    target: Target,
) -> Verification:
    touched = {str(r.change.key) for r in results if r.outcome == "done"}
    if not touched:
        return Verification()
    try:
        actual = engine.observe(client, schemas)
    except ApiError as exc:
        return Verification(read_error=f"could not re-read Immuta to verify: {exc}")
    again = engine.plan_for(planned.desired, actual, schemas, target, planned.plan.prune)
    mine = [c for c in again.changes if str(c.key) in touched]
    return Verification(
        unsettled=tuple(c for c in mine if c.is_write),
        unhealthy=tuple(
            c
            for c in mine
            if not c.is_write and c.actual is not None and health(c.actual.status) in (Health.FAILED, Health.UNKNOWN)
        ),
    )
