"""What `plan` and `apply` plan: the request built from the flags or a saved plan, and the usage errors a
request can only find once the files are read (an unknown --target, --prune over part of the state)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from reconciler.cli.options import Where, selectors
from reconciler.desired import SecretMode
from reconciler.loading.loader import is_yaml_name
from reconciler.validation import schema as schema_module
from reconciler.validation.validate import ValidationOptions

if TYPE_CHECKING:
    from reconciler.planning import engine, savedplan

F = TypeVar("F", bound=Callable[..., Any])

ROTATE_HELP = "Send this integration's payload again, secrets included (a rotated secret never shows as a change)."
TARGET_HELP = "Plan only this integration (repeatable); the others are left out, not shown as orphans."
BASE_HELP = (
    "Git revision whose files' protection and keys still count (renames, preventDestroy), and whose "
    "environment file names the tenant [default: origin/$GITHUB_BASE_REF when set]."
)


def selection_options(function: F) -> F:
    """--rotate, --target and --base: what plan and apply select, passed as `rotate`, `targets`, `base`."""
    function = click.option("--base", "base", metavar="REV", help=BASE_HELP)(function)
    function = click.option("--target", "targets", multiple=True, metavar="FILE|KEY", help=TARGET_HELP)(function)
    return click.option("--rotate", "rotate", multiple=True, metavar="FILE|KEY", help=ROTATE_HELP)(function)


def refuse_what_a_saved_plan_fixes(
    saved: savedplan.SavedPlan, prune: bool, rotate: tuple[str, ...], targets: tuple[str, ...], base: str | None
) -> None:
    """A reviewed plan is applied as reviewed: flags that would change what it does are usage errors."""
    if rotate and selectors(rotate) != saved.rotate:
        raise click.UsageError(f"{saved.file} fixes what is rotated; apply it as it was reviewed, or plan again")
    if targets and selectors(targets) != saved.targets:
        raise click.UsageError(f"{saved.file} fixes what is targeted; apply it as it was reviewed, or plan again")
    if base:
        raise click.UsageError(f"{saved.file} fixes the base revision it was reviewed against; apply it as it is")
    if prune != saved.prune:
        raise click.UsageError(
            f"{saved.file} was planned {'with' if saved.prune else 'without'} --prune; "
            "apply it as it was reviewed, or plan again"
        )


def plan_request(
    where: Where,
    paths: Sequence[str],
    saved: savedplan.SavedPlan | None,
    prune: bool,
    rotate: tuple[str, ...],
    targets: tuple[str, ...],
    validation: ValidationOptions,
    mode: SecretMode,
    base: str | None,
) -> engine.PlanRequest:
    """What plan and apply plan: a saved plan's paths (unless given), prune, rotation, targets and base
    revision's view, else the flags'. --prune with only part of the desired state is a usage error."""
    from reconciler.planning import baserevision, engine, gate, protection

    chosen = where.paths(paths or (saved.paths if saved else []))
    pruning = saved.prune if saved else prune
    out_of_scope = gate.prune_scope(chosen, where.paths(())) if pruning else None
    if out_of_scope:
        raise click.UsageError(out_of_scope)
    if saved is not None:  # what the review saw, even where the base revision cannot be read (main, after merge)
        view = protection.BaseView.from_json(saved.document.get("base"), schema_module.load())
    else:
        revision = baserevision.base_revision(base, os.environ)
        named = where.environment.name if where.environment else None
        view = baserevision.read_base(revision, named, chosen, schema_module.load())
    return engine.PlanRequest(
        chosen,
        prune=pruning,
        validation=validation,
        mode=mode,
        variables=where.variables,
        rotate=saved.rotate if saved else selectors(rotate),
        targets=saved.targets if saved else selectors(targets),
        file_roots=where.file_roots,
        base=view,
    )


def refuse_prune_with_targets(prune: bool, targets: tuple[str, ...]) -> None:
    if prune and targets:
        # Pruning deletes what no file declares; limited to some files, everything else would look undeclared.
        raise click.UsageError("--target cannot be combined with --prune: plan every file to prune")


@contextmanager
def usage_errors() -> Iterator[None]:
    """A --target the files do not declare is found only once they are read: reported as click's own."""
    from reconciler.planning.engine import TargetError

    try:
        yield
    except TargetError as exc:
        raise click.UsageError(str(exc)) from None


def saved_plan_argument(args: tuple[str, ...]) -> savedplan.SavedPlan | None:
    from reconciler.planning import savedplan

    if len(args) == 1 and os.path.isfile(args[0]) and not is_yaml_name(args[0]):
        return savedplan.load(args[0])
    return None
