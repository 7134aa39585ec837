"""`plan` and `apply`: options → a plan request → one library call → the registry's renderer → exit code."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from reconciler import files
from reconciler.cli import connect
from reconciler.cli.options import (
    Output,
    Where,
    check_out_file,
    echo_err,
    in_github_actions,
    input_options,
    output_options,
    run_url,
    step_summary,
    target_options,
)
from reconciler.cli.plan_request import (
    plan_request,
    refuse_prune_with_targets,
    refuse_what_a_saved_plan_fixes,
    saved_plan_argument,
    selection_options,
    usage_errors,
)
from reconciler.desired import SecretMode
from reconciler.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, EXIT_REFUSED
from reconciler.render import registry
from reconciler.render.escape import terminal
from reconciler.validation import schema as schema_module
from reconciler.validation.validate import ValidationOptions

if TYPE_CHECKING:
    from reconciler.applying import workflow
    from reconciler.applying.apply import Progress
    from reconciler.planning.plan import Change

# Commands that talk to Immuta import the engine (httpx, the simulator) when they run, so that `validate`
# — run on every commit by pre-commit — and `--help` start fast.


def context(
    output: Output, where: Where | None = None, reverts: frozenset[tuple[str, str]] = frozenset()
) -> registry.Context:
    environment = where.environment.name if where and where.environment else None
    commit = os.environ.get("GITHUB_SHA")
    return registry.Context(output.color, commit, run_url(), environment, reverts)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--prune", is_flag=True, help="Plan deletes of integrations that no file declares.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Save the plan for `apply FILE`.")
@click.option(
    "--check",
    "check_file",
    type=click.Path(dir_okay=False, exists=True),
    help="Exit 3 naming what changed if a saved plan no longer matches; 0 if it does.",
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when the plan has changes.")
@click.option("--force", is_flag=True, help="As apply's: a plan over --max-destroy-share is not refused.")
@click.option("--max-destroy-share", type=click.FloatRange(0, 1), default=0.30, show_default=True)
@selection_options
@target_options
@input_options
@output_options(formats=tuple(registry.PLAN))
def plan(
    paths: tuple[str, ...],
    prune: bool,
    out_file: str | None,
    check_file: str | None,
    detailed_exitcode: bool,
    force: bool,
    max_destroy_share: float,
    rotate: tuple[str, ...],
    targets: tuple[str, ...],
    base: str | None,
    where: Where,
    validation: ValidationOptions,
    output: Output,
) -> int:
    """Show what apply would change: create, update, replace, delete — field by field."""
    from reconciler.applying.workflow import refuse_if_stale
    from reconciler.planning import engine, gate, savedplan

    refuse_prune_with_targets(prune, targets)
    target = where.target(base)
    saved = savedplan.load(check_file) if check_file else None
    request = plan_request(where, paths, saved, prune, rotate, targets, validation, SecretMode.DEFER, base)
    if out_file:
        check_out_file("--out", out_file, request.paths)
    with connect.open_client(target) as client, usage_errors():
        planned = engine.build(request, schema_module.load(), target, client)
    for warning in planned.desired.warnings:
        echo_err(str(warning))
    # The delete gate apply runs, run here: a refused delete fails the pull request's check, not the merge.
    declared = engine.what_is_declared(planned.plan, schema_module.load())
    refused = gate.refusals(planned.plan, gate.GateOptions(force, max_destroy_share), declared)
    if saved is not None:  # a saved plan that still matches is still refused if apply would refuse it
        refuse_if_stale(saved, planned.plan)
        if not refused:
            click.echo(f"The saved plan {check_file} still matches (checksum {saved.checksum[:12]}).")
            return EXIT_OK
        echo_err(f"refused: the saved plan {check_file} still matches, but a safety gate refuses it:")
        for reason in refused:
            echo_err(f"  {terminal(reason)}")
        return EXIT_REFUSED
    shown = dataclasses.replace(planned.plan, refused=tuple(refused))
    from reconciler.cli import pr_review

    reverts = pr_review.reverts(planned.plan, base) if planned.plan.has_changes else frozenset()
    review = context(output, where, reverts)
    click.echo(registry.PLAN[output.format](shown, review), nl=False)
    if in_github_actions():
        step_summary(registry.PLAN["markdown"](shown, review))
    if out_file:
        savedplan.save(shown, out_file, paths=list(request.paths), rotate=request.rotate, targets=request.targets)
        echo_err(f"Saved the plan to {out_file} (checksum {planned.plan.checksum[:12]}).")
    if refused:
        echo_err("refused: a safety gate refuses this plan; apply would change nothing:")
        for reason in refused:
            echo_err(f"  {terminal(reason)}")
        return EXIT_REFUSED
    return EXIT_CHANGES if detailed_exitcode and planned.plan.has_changes else EXIT_OK


@click.command()
@click.argument("paths_or_plan", nargs=-1, type=click.Path())
@click.option("--prune", is_flag=True, help="Delete integrations that no file declares.")
@click.option(
    "--auto-approve", is_flag=True, help="Apply without asking (required without a TTY, unless a saved plan)."
)
@click.option(
    "--force", is_flag=True, help="Allow deleting/replacing more than --max-destroy-share of the managed set."
)
@click.option("--max-destroy-share", type=click.FloatRange(0, 1), default=0.30, show_default=True)
@click.option("--parallelism", type=click.IntRange(1, 64), default=8, show_default=True)
@selection_options
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=600.0,
    show_default=True,
    help="Seconds to wait for each integration's status to settle.",
)
@click.option(
    "--grace-period",
    "grace",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="On Ctrl-C or SIGTERM: seconds the writes under way may take to finish before the summary.",
)
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False),
    help="Also write the JSON result (as --format json prints it) to this file, e.g. for a CI artifact.",
)
@target_options
@input_options
@output_options(formats=tuple(registry.APPLY))
def apply(
    paths_or_plan: tuple[str, ...],
    prune: bool,
    auto_approve: bool,
    force: bool,
    max_destroy_share: float,
    parallelism: int,
    timeout: float,
    grace: float,
    rotate: tuple[str, ...],
    targets: tuple[str, ...],
    base: str | None,
    report_file: str | None,
    where: Where,
    validation: ValidationOptions,
    output: Output,
) -> int:
    """Apply the plan for PATH..., or a saved plan FILE (refused if anything it was based on changed)."""
    from reconciler import ownership_report
    from reconciler.applying import workflow
    from reconciler.planning.gate import GateOptions
    from reconciler.render import apply_report

    refuse_prune_with_targets(prune, targets)
    target = where.target(base)
    saved = saved_plan_argument(paths_or_plan)
    if saved is not None:
        refuse_what_a_saved_plan_fixes(saved, prune, rotate, targets, base)
    paths = () if saved else paths_or_plan
    planned = plan_request(where, paths, saved, prune, rotate, targets, validation, SecretMode.REQUIRE, base)
    if report_file:
        check_out_file("--report", report_file, planned.paths)
    request = workflow.ApplyRequest(
        planned,
        saved,
        GateOptions(force=force, max_destroy_share=max_destroy_share),
        parallelism,
        timeout,
        grace=grace,
    )
    hooks = _hooks(output, auto_approve)
    with connect.open_client(target) as client, usage_errors():
        outcome = workflow.run_apply(request, schema_module.load(), target, client, hooks)
    if outcome.status == "declined":
        echo_err("Not applied.")
        return EXIT_ERROR
    if outcome.interruption is not None:
        # Signalled already: a further Ctrl-C or SIGTERM must not cut the summary of what was done short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    click.echo(registry.APPLY[output.format](outcome, context(output)), nl=False)
    if report_file:
        files.write_text(report_file, registry.APPLY["json"](outcome, context(output)), what="apply report")
    if outcome.interruption is not None:
        raise outcome.interruption
    left_out = ownership_report.withheld(outcome.plan.notes)
    if left_out:  # the other types were applied; these wait until the connections can be read (fail closed)
        echo_err(
            f"error: {left_out} file(s) not applied: the tenant's connections could not be checked (see the notes)"
        )
        return EXIT_ERROR
    return apply_report.exit_code(outcome.results, outcome.verification)


def _hooks(output: Output, auto_approve: bool) -> workflow.Hooks:
    """How apply reaches the person: with --format json, standard output is the document alone, so the
    plan and the progress go to stderr; progress redraws in place only on a terminal outside CI."""
    from reconciler.applying import progress, workflow
    from reconciler.applying.approval import Approval

    err = output.format != "text"

    def write(text: str) -> None:
        click.echo(text, nl=False, err=err)

    def confirm(question: str) -> bool:
        return click.confirm(question, default=False)

    def show_progress(writes: Sequence[Change]) -> Progress:
        live = (sys.stderr if err else sys.stdout).isatty() and os.environ.get("CI") != "true"
        if not live:
            return progress.timestamped_lines(write)

        def size() -> tuple[int, int]:
            columns, lines = shutil.get_terminal_size((80, 24))
            return columns, lines

        return progress.live_lines(writes, write, size)

    return workflow.Hooks(
        warn=echo_err,
        show_plan=lambda shown: write(registry.PLAN["text"](shown, context(output))),
        approval=Approval(auto_approve, sys.stdin.isatty(), confirm),
        progress=show_progress,
    )
