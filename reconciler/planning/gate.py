"""Safety gates: the rules a plan must pass before apply writes anything. Each refusal names the
integration, its file and the flag (if any) that would allow it."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.planning.plan import Action, Change, Plan

DESTRUCTIVE = (Action.DELETE, Action.REPLACE)


@dataclass(frozen=True, slots=True)
class GateOptions:
    force: bool = False  # allow more destruction than the blast-radius threshold
    max_destroy_share: float = 0.30
    min_managed_for_share: int = 5


def refusals(plan: Plan, options: GateOptions) -> list[str]:
    reasons: list[str] = []
    for change in plan.changes:
        if change.action in DESTRUCTIVE and change.desired is not None and change.desired.lifecycle.prevent_destroy:
            reasons.append(
                f"{change.key} ({change.file}:{change.line}): lifecycle.preventDestroy forbids "
                f"{change.action.value}{_why(change)}; remove preventDestroy from the file first"
            )
        elif change.action in DESTRUCTIVE and change.protected_by is not None:
            # The base revision's protection holds until a reviewed change has lifted it and been applied:
            # deleting the file or dropping the flag in the change that destroys must not be enough.
            reasons.append(
                f"{change.key}: lifecycle.preventDestroy in {change.protected_by} forbids {change.action.value}"
                f"{_why(change)}; lift the protection in a reviewed change of its own first"
            )
        missing = change.missing_credentials
        if missing:
            reasons.append(
                f"{change.key}: Immuta needs the privileged credentials ({', '.join(missing)}) to "
                f"{change.action.value} an integration bootstrapped automatically; "
                + (
                    f"add them to {change.file} as references"
                    if change.file
                    else "write a tombstone file (ensure: absent) that carries them as references"
                )
            )
    destructive = [c for c in plan.changes if c.action in DESTRUCTIVE and not _failed_creation(c)]
    managed = sum(1 for c in plan.changes if c.actual_id is not None and (c.file is not None or plan.prune))
    if (
        not options.force
        and managed >= options.min_managed_for_share
        and len(destructive) > options.max_destroy_share * managed
    ):
        reasons.append(
            f"the plan deletes or replaces {len(destructive)} of {managed} managed integrations, more than "
            f"{options.max_destroy_share:.0%}; re-run with --force if that is intended"
        )
    return reasons


def _failed_creation(change: Change) -> bool:
    """Re-creating an integration whose creation failed destroys nothing that worked: it does not count
    towards the blast radius (preventDestroy still holds)."""
    return change.action is Action.REPLACE and change.actual_status == "createError"


def _why(change: Change) -> str:
    return f" ({change.reason})" if change.reason else ""
