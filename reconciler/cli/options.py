"""Shared options, each turned into a small settings value before the command body sees it."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

# Imported where used, not here: `reconciler --version` and `--help` import this module and need none of them.
if TYPE_CHECKING:
    from reconciler.loading.environments import Environment
    from reconciler.target import Target

DEFAULT_PATH = "integrations.d"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Where:
    """The command-line choice of target: --sandbox [--sandbox-state FILE] and/or --env NAME."""

    sandbox: bool
    sandbox_state: str | None
    environment: Environment | None

    def target(self, base: str | None = None) -> Target:
        """The tenant; with `--base REV` (or in a pull request's CI), only the base revision's (target.py)."""
        from reconciler.target import resolve_target

        return resolve_target(self.sandbox, self.sandbox_state, environment=self.environment, base=base)

    def paths(self, given: Sequence[str]) -> list[str]:
        return list(given) or list(self.environment.paths if self.environment else ()) or [DEFAULT_PATH]

    @property
    def variables(self) -> Mapping[str, Any] | None:
        return self.environment.values if self.environment else None

    @property
    def file_roots(self) -> tuple[str, ...]:
        return self.environment.file_roots if self.environment else ()


def env_option(function: F) -> F:
    return click.option(
        "--env",
        "env_name",
        metavar="NAME",
        help="Environment: tenant URL, key variable, paths and ${var:…} values from environments/NAME.yaml.",
    )(function)


def target_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """--sandbox, its state file and --env: every command that talks to Immuta takes them, as `where`."""

    from reconciler.target import DEFAULT_SANDBOX_STATE

    @functools.wraps(function)
    def wrapper(*args: Any, sandbox: bool, sandbox_state: str | None, env_name: str | None, **kwargs: Any) -> Any:
        from reconciler.loading.environments import load_environment

        environment = load_environment(env_name) if env_name else None
        return function(*args, where=Where(sandbox, sandbox_state, environment), **kwargs)

    wrapper = env_option(wrapper)
    wrapper = click.option(
        "--sandbox-state",
        type=click.Path(dir_okay=False),
        default=None,
        help=f"State file of the embedded sandbox [default: {DEFAULT_SANDBOX_STATE}].",
    )(wrapper)
    return click.option(
        "--sandbox",
        is_flag=True,
        help="Use the embedded Immuta simulator instead of IMMUTA_URL (no server, no key).",
    )(wrapper)


def input_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """--strict and --allow-literal-secrets, passed to the command as `validation`."""

    @functools.wraps(function)
    def wrapper(*args: Any, strict: bool, allow_literal_secrets: bool, **kwargs: Any) -> Any:
        from reconciler.validation.validate import ValidationOptions

        return function(*args, validation=ValidationOptions(strict, allow_literal_secrets), **kwargs)

    wrapper = click.option("--strict", is_flag=True, help="Unknown config fields are errors.")(wrapper)
    return click.option(
        "--allow-literal-secrets", is_flag=True, help="Accept secrets written in files (local experiments only)."
    )(wrapper)


@dataclass(frozen=True, slots=True)
class Output:
    format: str
    color: bool


def output_options(formats: Sequence[str] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--verbose (HTTP log, secrets redacted), --no-color and, given `formats`, --format: passed as `output`.

    `formats` are a renderer registry's keys (reconciler.render.registry), so a new format needs no edit here."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, verbose: bool, no_color: bool, output_format: str = "text", **kwargs: Any) -> Any:
            from reconciler.cli.verbose import setup_logging  # logging is not loaded for --version / --help

            setup_logging(verbose)
            color = not no_color and not os.environ.get("NO_COLOR") and sys.stdout.isatty()  # no-color.org
            return function(*args, output=Output(output_format, color), **kwargs)

        wrapper = click.option("--verbose", "-v", is_flag=True, help="Log HTTP calls (secrets redacted) to stderr.")(
            wrapper
        )
        wrapper = click.option("--no-color", is_flag=True, help="No colour, even on a terminal (NO_COLOR honoured).")(
            wrapper
        )
        if formats:
            wrapper = click.option(
                "--format",
                "output_format",
                type=click.Choice(list(formats)),
                default="text",
                show_default=True,
            )(wrapper)
        return wrapper

    return decorate


def selectors(values: Sequence[str]) -> frozenset[str]:
    """--rotate values: file paths normalised (./a.yaml is a.yaml); keys as written."""
    from reconciler.loading.loader import is_yaml_name

    return frozenset(os.path.normpath(v) if is_yaml_name(v) and "[" not in v else v for v in values)


def check_out_file(option: str, out_file: str, paths: Sequence[str]) -> None:
    """Before any planning (nothing printed, nothing asked of Immuta): refuse a file the run could not write,
    or one that would then be read as desired state."""
    from reconciler.errors import ReconcilerError
    from reconciler.loading.loader import is_yaml_name

    if is_yaml_name(out_file) or any(os.path.realpath(out_file) == os.path.realpath(p) for p in paths):
        raise click.BadParameter(
            f"{out_file} would be read as a desired-state file; save the plan as JSON, e.g. plan.json",
            param_hint=option,
        )
    if os.path.isdir(out_file) and not os.path.islink(out_file):
        raise ReconcilerError(f"{option} {out_file}: is a folder; name the file to write")

    folder = os.path.dirname(os.path.abspath(out_file))
    while not os.path.lexists(folder):  # save() creates the missing folders: the nearest existing one counts
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise ReconcilerError(f"{option} {out_file}: cannot be written: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ReconcilerError(f"{option} {out_file}: cannot be written: no permission to write in {folder}")
    from reconciler import files

    files.check_writable(out_file, "saved plan" if option == "--out" else "apply report")


def echo_err(text: str) -> None:
    click.echo(text, err=True)


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def step_summary(markdown: str) -> None:
    """Under GitHub Actions: append to the job's summary page."""
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        from reconciler import files

        files.append_text(summary_file, markdown + "\n", what="GitHub step summary")


def run_url() -> str | None:
    """The Actions run's page, linked from drift issues."""
    if not in_github_actions() or not os.environ.get("GITHUB_RUN_ID"):
        return None
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
    return f"{server}/{os.environ.get('GITHUB_REPOSITORY', '')}/actions/runs/{os.environ['GITHUB_RUN_ID']}"
