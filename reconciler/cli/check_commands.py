"""Commands that read only the files and the schemas, never Immuta: `validate` and `schema`."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import click

from reconciler.cli import messages
from reconciler.cli.options import Where, echo_err, env_option, in_github_actions, input_options
from reconciler.errors import EXIT_ERROR, EXIT_OK
from reconciler.loading.environments import load_environment
from reconciler.render import problems as problem_report
from reconciler.secrets import Lookup, file_roots
from reconciler.validation import schema as schema_module
from reconciler.validation.report import check_paths
from reconciler.validation.validate import ValidationOptions


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--resolve-secrets", is_flag=True, help="Also read every ${env:…}/${file:…} reference now.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--all-environments",
    is_flag=True,
    help="Check every environments/NAME.yaml with its own paths and ${var:…} values (the pre-commit hook).",
)
@env_option
@input_options
def validate(
    paths: tuple[str, ...],
    resolve_secrets: bool,
    output_format: str,
    all_environments: bool,
    env_name: str | None,
    validation: ValidationOptions,
) -> int:
    """Check desired-state files against the schemas; report every problem in every file at once."""
    if all_environments:
        conflicting = [
            name
            for name, given in (
                ("--env", env_name is not None),
                ("PATH", bool(paths)),
                ("--resolve-secrets", resolve_secrets),
                ("--format json", output_format == "json"),
            )
            if given
        ]
        if conflicting:
            # Each environment names its own paths, values and tenant: a single one given here would be ambiguous.
            raise click.UsageError(f"--all-environments cannot be combined with {', '.join(conflicting)}")
        return _validate_every_environment(validation)
    where = Where(False, None, load_environment(env_name) if env_name else None)
    chosen = where.paths(paths)
    secrets = Lookup(os.environ, roots=file_roots(chosen, where.file_roots)) if resolve_secrets else None
    schemas = schema_module.load()
    report = check_paths(chosen, schemas, validation, variables=where.variables, secrets=secrets)
    forgotten = None if env_name else messages.forgotten_environment(report.problems, ["validate"])
    if forgotten and output_format != "json":
        echo_err(forgotten)
        return EXIT_ERROR
    if not paths:  # files named on the command line are all the user asked about
        strays = messages.stray_entries(chosen, schemas.type_names)
        report = replace(report, problems=(*report.problems, *strays))
    if output_format == "json":
        click.echo(problem_report.as_json(report.problems, report.integrations, report.files), nl=False)
    else:
        click.echo(problem_report.as_text(report.problems), nl=False)
        echo_err(problem_report.summary(report.problems, report.integrations, report.files))
    if in_github_actions():
        click.echo(problem_report.github_annotations(report.problems), nl=False, err=True)
    return EXIT_OK if report.valid else EXIT_ERROR


def _validate_every_environment(validation: ValidationOptions) -> int:
    from reconciler.loading.every_environment import check_every_environment

    checks = check_every_environment(schema_module.load(), validation)
    for check in checks:
        if check.name is not None:
            click.echo(f"environment {check.name}:")
        click.echo(problem_report.as_text(check.problems), nl=False)
        label = f"environment {check.name}: " if check.name is not None else ""
        echo_err(label + problem_report.summary(check.problems, check.documents, check.files))
        if in_github_actions():
            click.echo(problem_report.github_annotations(check.problems), nl=False, err=True)
    strays = messages.stray_entries(_declared_paths(), schema_module.load().type_names)
    click.echo(problem_report.as_text(strays), nl=False)
    if in_github_actions():
        click.echo(problem_report.github_annotations(strays), nl=False, err=True)
    return EXIT_OK if all(check.valid for check in checks) else EXIT_ERROR


def _declared_paths() -> list[str]:
    """Every folder some environment reads (the default one when an environment names none, or none exists)."""
    from reconciler.errors import InputError
    from reconciler.loading.every_environment import DEFAULT_PATHS, environment_names

    declared: list[str] = [*DEFAULT_PATHS]
    for name in environment_names():
        try:
            declared.extend(load_environment(name).paths)
        except InputError:
            continue
    return list(dict.fromkeys(declared))


@click.command(name="schema")
@click.argument("type_name", required=False)
@click.option("--list", "list_types", is_flag=True, help="List the integration types.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Write every schema into this folder, self-contained and accepting references, for editors.",
)
def schema_command(type_name: str | None, list_types: bool, out_dir: str | None) -> int:
    """Print the entry schema, or the schema of one integration type; or write them all with --out."""
    schemas = schema_module.load()
    if out_dir is not None:
        if type_name is not None or list_types:
            raise click.UsageError("--out writes every schema; it takes no TYPE and no --list")
        from reconciler.validation.schema_export import write_schemas

        for path in write_schemas(out_dir, schemas):
            click.echo(f"Wrote {path}")
        return EXIT_OK
    if list_types:
        for name in schemas.type_names:
            click.echo(name)
        return EXIT_OK
    if type_name is None:
        document = schemas.documents[schema_module.ENTRY_ID]
    elif type_name in schemas.types:
        document = schemas.types[type_name].root
    else:
        raise click.BadParameter(f"unknown type {type_name!r}; one of: {', '.join(schemas.type_names)}")
    click.echo(json.dumps(document, indent=2))
    return EXIT_OK
