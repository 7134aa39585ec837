"""The command line: options in, small settings out, one place that prints and picks exit codes."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from reconciler import __version__
from reconciler import schema as schema_module
from reconciler.desired import SecretMode, build_desired
from reconciler.errors import EXIT_ERROR, EXIT_OK, EXIT_USAGE, InputError, Problem, ReconcilerError
from reconciler.loader import load_paths
from reconciler.render import problems as problem_report
from reconciler.secrets import Lookup
from reconciler.validate import ValidationOptions, check_documents

DEFAULT_PATH = "integrations.d"
F = TypeVar("F", bound=Callable[..., Any])


def _in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _paths(paths: tuple[str, ...]) -> list[str]:
    return list(paths) or [DEFAULT_PATH]


def echo_err(text: str) -> None:
    click.echo(text, err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="reconciler")
def cli() -> None:
    """GitOps for Immuta integrations: validate, plan and apply desired-state YAML files.

    Exit codes: 0 success / no changes, 1 error, 2 changes or drift present, 3 refused by a safety gate
    or a stale plan, 64 command-line usage error.
    """


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--strict", is_flag=True, help="Unknown config fields are errors, not warnings.")
@click.option("--resolve-secrets", is_flag=True, help="Also read every ${env:…}/${file:…} reference now.")
@click.option(
    "--allow-literal-secrets", is_flag=True, help="Accept secrets written in files (local experiments only)."
)
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def validate(
    paths: tuple[str, ...],
    strict: bool,
    resolve_secrets: bool,
    allow_literal_secrets: bool,
    output_format: str,
) -> int:
    """Check desired-state files against the schemas; report every problem in every file at once."""
    schemas = schema_module.load()
    documents, problems = load_paths(_paths(paths))
    problems.extend(check_documents(documents, schemas, ValidationOptions(strict, allow_literal_secrets)))
    if resolve_secrets and not any(p.severity == "error" for p in problems):
        try:
            build_desired(documents, schemas, mode=SecretMode.REQUIRE, lookup=Lookup(os.environ))
        except InputError as exc:
            problems.extend(exc.problems)
    ordered = InputError(problems).problems
    files = len({d.file for d in documents})
    if output_format == "json":
        click.echo(problem_report.as_json(ordered, len(documents), files), nl=False)
    else:
        click.echo(problem_report.as_text(ordered), nl=False)
        echo_err(problem_report.summary(ordered, len(documents), files))
    if _in_github_actions():
        click.echo(problem_report.github_annotations(ordered), nl=False)
    return EXIT_ERROR if any(p.severity == "error" for p in ordered) else EXIT_OK


@cli.command(name="schema")
@click.argument("type_name", required=False)
@click.option("--list", "list_types", is_flag=True, help="List the integration types.")
def schema_command(type_name: str | None, list_types: bool) -> int:
    """Print the entry schema, or the schema of one integration type."""
    schemas = schema_module.load()
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


def _report(exc: ReconcilerError) -> None:
    if isinstance(exc, InputError):
        echo_err(problem_report.as_text(exc.problems).rstrip("\n"))
        if _in_github_actions():
            click.echo(problem_report.github_annotations(exc.problems), nl=False)
        errors = [p for p in exc.problems if p.severity == "error"]
        echo_err(f"error: {len(errors)} problem(s) in the desired-state files; nothing was changed")
        return
    echo_err(f"error: {exc}")


def main(argv: list[str] | None = None) -> None:
    try:
        code = cli.main(args=argv, prog_name="reconciler", standalone_mode=False)
    except click.UsageError as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.Abort:
        echo_err("aborted")
        sys.exit(EXIT_ERROR)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_ERROR)
    except ReconcilerError as exc:
        _report(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        echo_err("interrupted")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def print_problems(problems: list[Problem]) -> None:
    echo_err(problem_report.as_text(problems).rstrip("\n"))
