"""The data path from files and one list call to a Plan, shared by plan, apply, drift and scripts."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler import __version__, ownership, ownership_report
from reconciler.actual import ActualState
from reconciler.client.immuta import ImmutaClient
from reconciler.desired import DesiredState, SecretMode, load_desired
from reconciler.errors import EXIT_USAGE, InputError, Problem, ReconcilerError
from reconciler.planning.declared import Declared, declared
from reconciler.planning.plan import Action, Plan, PlanOptions, make_plan, unmatched_rotations
from reconciler.planning.protection import BaseView, renames
from reconciler.secrets import Lookup, file_roots
from reconciler.target import Target
from reconciler.validation.schema import SchemaSet
from reconciler.validation.validate import ValidationOptions


@dataclass(frozen=True, slots=True)
class PlanRequest:
    paths: Sequence[str]
    prune: bool = False
    validation: ValidationOptions = ValidationOptions()  # noqa: RUF009 - frozen value object
    mode: SecretMode = SecretMode.DEFER
    variables: Mapping[str, Any] | None = None  # the environment's ${var:…} values; None: no --env
    rotate: frozenset[str] = frozenset()  # --rotate: file paths or keys (normalised)
    file_roots: tuple[str, ...] = ()  # folders ${file:} may read besides `paths` (an environment's fileRoots)
    targets: frozenset[str] = frozenset()  # --target: plan only these (file paths or keys); empty: all
    base: BaseView = BaseView()  # noqa: RUF009 - what the Git base revision declared (planning/protection.py)


class TargetError(ReconcilerError):
    """--target used in a way that cannot mean what was asked: a usage error (exit 64), never an empty plan."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True, slots=True)
class Planned:
    desired: DesiredState
    actual: ActualState
    plan: Plan


def secret_mode(target: Target, wanted: SecretMode) -> SecretMode:
    """Under --sandbox, references that are not set get a placeholder (the simulator checks no credential)."""
    return SecretMode.PLACEHOLDER if target.is_sandbox else wanted


def load(request: PlanRequest, schemas: SchemaSet, target: Target) -> DesiredState:
    return load_desired(
        list(request.paths),
        schemas,
        options=request.validation,
        mode=secret_mode(target, request.mode),
        lookup=Lookup(os.environ, roots=file_roots(request.paths, request.file_roots)),
        variables=request.variables,
    )


def observe(client: ImmutaClient, schemas: SchemaSet) -> ActualState:
    """One GET /integrations, and the connections (the ownership gate); raises on any failure of the list —
    never "nothing exists"."""
    return ownership.observe(client, schemas)


def plan_for(
    desired: DesiredState,
    actual: ActualState,
    schemas: SchemaSet,
    target: Target,
    prune: bool,
    rotate: frozenset[str] = frozenset(),
    base: BaseView = BaseView(),  # noqa: B008 - frozen value object
) -> Plan:
    plan = make_plan(
        desired,
        actual,
        target=target.url,
        options=PlanOptions(prune=prune, rotate=rotate, base=base),
        schema_version=schemas.version,
        tool_version=__version__,
    )
    held = ownership_report.notes(actual)  # the connection-managed integrations, shown read-only
    return dataclasses.replace(plan, notes=plan.notes + held) if held else plan


def targeted(
    desired: DesiredState,
    actual: ActualState,
    targets: frozenset[str],
    base: BaseView = BaseView(),  # noqa: B008 - frozen value object
) -> tuple[DesiredState, ActualState]:
    """--target: only the integrations the files declare under those names (paths or keys, as --rotate
    takes them), and what Immuta holds under their keys or the keys they were renamed from — compared
    loosely, so that the plan's safety net still pairs a key written differently, and a rename stays a
    rename (the delete gate judges it) instead of a create beside the original. Nothing else is planned,
    so nothing else shows as an orphan (nor as an unknown type), and the notes name only the chosen files'
    references."""
    if not targets:
        return desired, actual
    chosen = tuple(d for d in desired.integrations if str(d.key) in targets or os.path.normpath(d.file) in targets)
    loose = {d.key.loosely() for d in chosen}
    chosen_state = dataclasses.replace(desired, integrations=chosen)
    loose |= {rename.old.loosely() for rename in renames(chosen_state, base).values()}
    held = tuple(a for a in actual.integrations if a.key.loosely() in loose)
    texts = {text for d in chosen for _, text in d.references}
    narrowed = dataclasses.replace(
        desired,
        integrations=chosen,
        placeholders=tuple(t for t in desired.placeholders if t in texts),
    )
    return narrowed, ActualState(held, ownership=actual.ownership)


def check_targets(request: PlanRequest, desired: DesiredState) -> None:
    """Raises TargetError for a --target that names nothing, with --prune, or leaving out a --rotate."""
    if not request.targets:
        return
    if request.prune:
        # Pruning deletes what no file declares; limited to some files, everything else would look undeclared.
        raise TargetError("--target cannot be combined with --prune: plan every file to prune")
    unknown = unmatched_rotations(desired, request.targets)  # the same names as --rotate accepts
    if unknown:
        raise TargetError("; ".join(f"--target {name}: no file or integration key of that name" for name in unknown))
    chosen, _ = targeted(desired, ActualState(()), request.targets)
    left_out = unmatched_rotations(chosen, request.rotate)
    if left_out:
        raise TargetError("; ".join(f"--rotate {name}: not among the --target integrations" for name in left_out))


def build(request: PlanRequest, schemas: SchemaSet, target: Target, client: ImmutaClient) -> Planned:
    desired = load(request, schemas, target)  # files first: a typo fails before any API call
    unknown = unmatched_rotations(desired, request.rotate)
    if unknown:
        raise InputError(
            [Problem(None, "", f"--rotate {name}: no file or integration key of that name") for name in unknown]
        )
    check_targets(request, desired)
    actual = observe(client, schemas)
    desired, actual = targeted(desired, actual, request.targets, request.base)
    desired, actual = ownership.restrict(desired, actual, target.url)  # before any write: refuses, or fails closed
    plan = plan_for(desired, actual, schemas, target, request.prune, request.rotate, request.base)
    return Planned(desired, actual, plan)


def what_is_declared(plan: Plan, schemas: SchemaSet) -> Declared:
    """What the repository declares, read only when the plan prunes or renames something away (the delete
    gate's input: planning/declared.py)."""
    renaming = any(c.actual is not None and c.actual.key != c.key for c in plan.changes)
    pruning = plan.prune and any(c.action is Action.DELETE and c.desired is None for c in plan.changes)
    return declared(schemas) if renaming or pruning else Declared()
