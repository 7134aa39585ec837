"""Commands that read Immuta and write files or reports: `scripts`, `drift` and `export`."""

from __future__ import annotations

import os
from collections.abc import Iterable

import click

from reconciler.cli import connect
from reconciler.cli.options import (
    DEFAULT_PATH,
    Output,
    Where,
    echo_err,
    in_github_actions,
    input_options,
    output_options,
    run_url,
    step_summary,
    target_options,
)
from reconciler.cli.plan_request import BASE_HELP, plan_request
from reconciler.desired import SecretMode
from reconciler.errors import EXIT_CHANGES, EXIT_OK, Problem, RefusedError
from reconciler.render import registry
from reconciler.validation import schema as schema_module
from reconciler.validation.validate import ValidationOptions

DRIFT_BASE_HELP = (
    "Git revision whose environment file names the tenant, key variables and CA bundle (a pull request's "
    "base) [default: origin/$GITHUB_BASE_REF when set]."
)


def warn(warnings: Iterable[Problem]) -> None:
    for warning in warnings:
        echo_err(str(warning))


@click.command(name="scripts")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="scripts",
    show_default=True,
    help="Folder for the scripts (created owner-only).",
)
@click.option("--prune", is_flag=True, help="Include deletes of integrations that no file declares.")
@click.option("--force", is_flag=True, help="As apply's: a plan over apply's --max-destroy-share is not refused.")
@click.option("--base", "base", metavar="REV", help=BASE_HELP)
@target_options
def scripts_command(
    paths: tuple[str, ...], out_dir: str, prune: bool, force: bool, base: str | None, where: Where
) -> int:
    """Write the platform scripts a DBA must run for planned changes of autoBootstrap: false integrations."""
    from reconciler import scripts as manual_scripts
    from reconciler.planning import engine, gate

    schemas = schema_module.load()
    target = where.target(base)
    # The plan apply would make (the prune scope and base revision checked as plan's), and apply's delete gate:
    # no script is written for a plan apply refuses, least of all the delete script of a protected integration.
    request = plan_request(where, paths, None, prune, (), (), ValidationOptions(), SecretMode.REQUIRE, base)
    with connect.open_client(target) as client:
        planned = engine.build(request, schemas, target, client)
        warn(planned.desired.warnings)
        refused = gate.refusals(planned.plan, gate.GateOptions(force), engine.what_is_declared(planned.plan, schemas))
        if refused:
            raise RefusedError(
                ["a safety gate refuses this plan; no script was written:", *(f"  {r}" for r in refused)]
            )
        found = manual_scripts.fetch(planned.plan, client)
    if not found:
        click.echo("No planned change needs a setup script.")
        return EXIT_OK
    written = manual_scripts.write(found, out_dir)
    for script, path in zip(found, written, strict=True):
        click.echo(f"{path}  ({script.change.key}: {script.stage}, run {script.when})")
    click.echo(
        f"Wrote {len(written)} script(s) and {os.path.join(out_dir, 'README.md')}: run them in order, then apply."
    )
    return EXIT_OK


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--base", "base", metavar="REV", help=DRIFT_BASE_HELP)
@target_options
@input_options
@output_options(formats=tuple(registry.DRIFT))
def drift(
    paths: tuple[str, ...],
    base: str | None,
    where: Where,
    validation: ValidationOptions,
    output: Output,
) -> int:
    """Report what differs between Git and Immuta: changed, deleted or created outside Git, and unhealthy.

    Exit 0 when there is no drift, 2 when there is, 1 on any error (a failed read is never "all deleted").
    """
    from reconciler import drift as drift_module
    from reconciler.planning import engine

    schemas = schema_module.load()
    target = where.target(base)
    request = engine.PlanRequest(
        where.paths(paths),
        validation=validation,
        mode=SecretMode.DEFER,
        variables=where.variables,
        file_roots=where.file_roots,
    )
    with connect.open_client(target) as client:
        planned = engine.build(request, schemas, target, client)
    warn(planned.desired.warnings)
    report = drift_module.detect(planned.plan)
    shown = registry.Context(run_url=run_url())
    click.echo(registry.DRIFT[output.format](report, shown), nl=False)
    if in_github_actions():
        step_summary(registry.DRIFT["markdown"](report, shown))
    return EXIT_CHANGES if report.has_drift else EXIT_OK


@click.command(name="export")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=DEFAULT_PATH,
    show_default=True,
    help="Folder for the files (one per integration).",
)
@click.option("--with-defaults", is_flag=True, help="Also write values that equal a schema default.")
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@target_options
@output_options()
def export_command(out_dir: str, with_defaults: bool, force: bool, where: Where, output: Output) -> int:
    """Write one desired-state file per integration in Immuta, secrets as ${env:NAME} placeholders.

    Files are named <type>-<natural key>.yaml; each secret is ${env:<TYPE>_<KEY>_<FIELD>} in upper snake
    case (FIELD is the path under config). Existing files are never overwritten without --force.
    """
    from reconciler import export as export_module
    from reconciler import ownership_report
    from reconciler.planning import engine

    schemas = schema_module.load()
    target = where.target()
    with connect.open_client(target) as client:
        actual = engine.observe(client, schemas)
    files = export_module.export_state(actual, schemas, target=target.url, with_defaults=with_defaults)
    written = export_module.write(files, out_dir, force=force)
    for exported, path in zip(files, written, strict=True):
        needs = f"  (set {', '.join(exported.env_names)})" if exported.env_names else ""
        click.echo(f"{path}  ← {exported.integration.key} (id {exported.integration.id}){needs}")
    for integration_id, integration_type in actual.unknown_types:
        echo_err(f"warning: not exported: id {integration_id} has type {integration_type!r}, unknown to this version")
    for line in ownership_report.export_notes(actual):
        echo_err(line)
    click.echo(f"Exported {len(written)} integration(s) to {out_dir}.")
    return EXIT_OK
