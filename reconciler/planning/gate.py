"""The delete gate: every delete or replace passes here before anything is written, whatever asked for it
(`--prune`, a rename read from `lifecycle.previously` or the base revision, `--target`, a tombstone, a saved
plan), and `plan` runs the same check so that a pull request's check fails before merge. Each refusal names
the integration, its file and what would allow it.

- Protection: `lifecycle.preventDestroy` in the file, or in the base revision's file (planning/protection.py).
- Declared anywhere, never pruned: an integration any file of the repository's declared roots declares
  (planning/declared.py) is not deleted as undeclared, nor renamed away.
- Only `--prune` deletes an orphan: a `lifecycle.previously` naming what no file declared renames it only
  under `--prune`.
- `--prune` runs over the whole declared desired state only (`prune_scope`).
- Immuta's DELETE credentials, and the blast radius (lifted by `--force`, on plan as on apply).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.planning.declared import Declared
from reconciler.planning.plan import Action, Change, Plan

DESTRUCTIVE = (Action.DELETE, Action.REPLACE)


@dataclass(frozen=True, slots=True)
class GateOptions:
    force: bool = False  # allow more destruction than the blast-radius threshold
    max_destroy_share: float = 0.30
    min_managed_for_share: int = 5


def refusals(plan: Plan, options: GateOptions, declared: Declared = Declared()) -> list[str]:  # noqa: B008
    """Everything apply refuses in this plan (and `plan` reports, exit 3): each destroy, then the blast radius."""
    reasons = _destroy_refusals(plan, declared)
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


def _destroy_refusals(plan: Plan, declared: Declared = Declared()) -> list[str]:  # noqa: B008 - frozen value
    """The refusals no flag of apply lifts (all of them but the blast radius)."""
    reasons: list[str] = []
    for change in plan.changes:
        if change.action in DESTRUCTIVE:
            reasons.extend(_destroy(change, plan.prune, declared))
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
    if plan.prune and declared.unreadable:
        reasons.append(
            "--prune cannot tell what every file of the desired state declares, so it deletes nothing: "
            + "; ".join(declared.unreadable)
        )
    return reasons


def _destroy(change: Change, prune: bool, declared: Declared) -> list[str]:
    where = f" ({change.file}:{change.line})" if change.file else ""
    if change.desired is not None and change.desired.lifecycle.prevent_destroy:
        return [
            f"{change.key}{where}: lifecycle.preventDestroy forbids {change.action.value}{_why(change)}; "
            "remove preventDestroy from the file first"
        ]
    if change.protected_by is not None:
        # The base revision's protection holds until a reviewed change has lifted it and been applied:
        # deleting the file or dropping the flag in the change that destroys must not be enough.
        return [
            f"{change.key}: lifecycle.preventDestroy in {change.protected_by} forbids {change.action.value}"
            f"{_why(change)}; lift the protection in a reviewed change of its own first"
        ]
    destroyed = change.actual.key if change.actual is not None else change.key
    owner = declared.file_of(destroyed)
    if owner is not None and (change.desired is None or change.desired.key != destroyed):
        return [
            f"{destroyed}: {owner} declares it, so it is never deleted as undeclared{_why(change)}; remove it "
            "from that file in a reviewed change first"
        ]
    if change.orphan_rename is not None and not prune:
        return [
            f"{change.key}{where}: {change.orphan_rename} names {destroyed}, which no file on the base revision "
            "declared: replacing it would delete an integration no file declares, which only --prune does; "
            "re-run with --prune if that is intended"
        ]
    return []


def prune_scope(given: Sequence[str], roots: Sequence[str]) -> str | None:
    """Why `--prune` cannot run over `given` (None: it can). It deletes what no file declares, so it needs
    the whole declared desired state (`roots`: the default folder or the environment's `paths`), however
    the paths are named (links resolved), and never a folder no root declares."""
    held = [os.path.realpath(p) for p in given]
    wanted = [os.path.realpath(r) for r in roots]
    # A path holding a root as well as other files is fine: more declared files only prune less.
    outside = [g for g, h in zip(given, held, strict=True) if not any(_inside(h, r) or _inside(r, h) for r in wanted)]
    if outside:
        return (
            f"--prune deletes what no file declares, so it runs only over the declared desired state "
            f"({', '.join(roots)}); {', '.join(outside)} is not declared: declare it in an environment file's "
            "`paths` (environments/NAME.yaml, then --env NAME), or drop --prune"
        )
    missing = [root for root, r in zip(roots, wanted, strict=True) if not any(_inside(r, h) for h in held)]
    if missing:
        return (
            f"--prune deletes what no file declares, so it needs the whole desired state ({', '.join(roots)}), "
            f"not part of it ({', '.join(given)}): drop --prune, or give {' '.join(missing)}"
        )
    return None


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _failed_creation(change: Change) -> bool:
    """Re-creating an integration whose creation failed destroys nothing that worked: it does not count
    towards the blast radius (preventDestroy still holds)."""
    return change.action is Action.REPLACE and change.actual_status == "createError"


def _why(change: Change) -> str:
    return f" ({change.reason})" if change.reason else ""
