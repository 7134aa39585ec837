"""The command line: options in, small settings out, one place that prints and picks exit codes."""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from reconciler import __version__
from reconciler.desired import DesiredState, SecretMode, build_desired, read_documents
from reconciler.errors import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    InputError,
    Problem,
    ReconcilerError,
    RefusedError,
)
from reconciler.loading.environments import Environment, load_environment, without_shadowed
from reconciler.loading.loader import YAML_SUFFIXES
from reconciler.render import problems as problem_report
from reconciler.secrets import Lookup
from reconciler.target import DEFAULT_SANDBOX_STATE, Target, open_client, resolve_target
from reconciler.validation import schema as schema_module
from reconciler.validation.validate import ValidationOptions, check_documents

if TYPE_CHECKING:
    from reconciler.planning import engine, savedplan
    from reconciler.planning.plan import Change, Plan

# Commands that talk to Immuta import the engine (httpx, deepdiff, the simulator) when they run, so that
# `validate` — run on every commit by pre-commit — starts fast.

DEFAULT_PATH = "integrations.d"
F = TypeVar("F", bound=Callable[..., Any])


def _in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def echo_err(text: str) -> None:
    click.echo(text, err=True)


@dataclass(frozen=True, slots=True)
class Where:
    """The command-line choice of target: --sandbox [--sandbox-state FILE] and/or --env NAME."""

    sandbox: bool
    sandbox_state: str | None
    environment: Environment | None

    def target(self) -> Target:
        return resolve_target(self.sandbox, self.sandbox_state, environment=self.environment)

    def paths(self, given: Sequence[str]) -> list[str]:
        return list(given) or list(self.environment.paths if self.environment else ()) or [DEFAULT_PATH]

    @property
    def variables(self) -> Mapping[str, Any] | None:
        return self.environment.values if self.environment else None


def env_option(function: F) -> F:
    return click.option(
        "--env",
        "env_name",
        metavar="NAME",
        help="Environment: tenant URL, key variable, paths and ${var:…} values from environments/NAME.yaml.",
    )(function)


def target_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """--sandbox, its state file and --env: every command that talks to Immuta takes them, as `where`."""

    @functools.wraps(function)
    def wrapper(*args: Any, sandbox: bool, sandbox_state: str | None, env_name: str | None, **kwargs: Any) -> Any:
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
        return function(*args, validation=ValidationOptions(strict, allow_literal_secrets), **kwargs)

    wrapper = click.option("--strict", is_flag=True, help="Unknown config fields are errors.")(wrapper)
    return click.option(
        "--allow-literal-secrets", is_flag=True, help="Accept secrets written in files (local experiments only)."
    )(wrapper)


@dataclass(frozen=True, slots=True)
class Output:
    format: str
    color: bool


def output_options(*, formats: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--verbose (HTTP log, secrets redacted), --no-color and --format, passed to the command as `output`."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, verbose: bool, no_color: bool, output_format: str = "text", **kwargs: Any) -> Any:
            _setup_logging(verbose)
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
                type=click.Choice(["text", "json", "markdown"]),
                default="text",
                show_default=True,
            )(wrapper)
        return wrapper

    return decorate


class _VerboseHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a record is logged (one handler, however many runs)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _setup_logging(verbose: bool) -> None:
    logger = logging.getLogger("reconciler")
    for handler in [h for h in logger.handlers if isinstance(h, _VerboseHandler)]:
        logger.removeHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.NOTSET)
    if verbose:
        logger.addHandler(_VerboseHandler())


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="reconciler")
def cli() -> None:
    """GitOps for Immuta integrations: validate, plan and apply desired-state YAML files.

    Exit codes: 0 success / no changes, 1 error, 2 changes or drift present, 3 refused by a safety gate
    or a stale plan, 64 command-line usage error.
    """


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--resolve-secrets", is_flag=True, help="Also read every ${env:…}/${file:…} reference now.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@env_option
@input_options
def validate(
    paths: tuple[str, ...],
    resolve_secrets: bool,
    output_format: str,
    env_name: str | None,
    validation: ValidationOptions,
) -> int:
    """Check desired-state files against the schemas; report every problem in every file at once."""
    schemas = schema_module.load()
    where = Where(False, None, load_environment(env_name) if env_name else None)
    documents, problems = read_documents(where.paths(paths), schemas, where.variables)
    problems.extend(check_documents(documents, schemas, validation))
    problems = without_shadowed(problems)
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
        click.echo(problem_report.github_annotations(ordered), nl=False, err=True)
    return EXIT_ERROR if any(p.severity == "error" for p in ordered) else EXIT_OK


def render_plan(plan: Plan, output_format: str, color: bool) -> str:
    from reconciler.render import plan_json, plan_markdown, plan_text

    if output_format == "json":
        return plan_json.render(plan)
    if output_format == "markdown":
        return plan_markdown.render(plan, commit=os.environ.get("GITHUB_SHA"))
    return plan_text.render(plan, color=color)


def _step_summary(markdown: str) -> None:
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")


def _warn(desired: DesiredState) -> None:
    for warning in desired.warnings:
        echo_err(str(warning))


@cli.command()
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
@click.option(
    "--rotate",
    "rotate",
    multiple=True,
    metavar="FILE|KEY",
    help="Send this integration's payload again, secrets included (a rotated secret never shows as a change).",
)
@target_options
@input_options
@output_options()
def plan(
    paths: tuple[str, ...],
    prune: bool,
    out_file: str | None,
    check_file: str | None,
    detailed_exitcode: bool,
    rotate: tuple[str, ...],
    where: Where,
    validation: ValidationOptions,
    output: Output,
) -> int:
    """Show what apply would change: create, update, replace, delete — field by field."""
    from reconciler.planning import engine, savedplan
    from reconciler.render import plan_markdown

    schemas = schema_module.load()
    target = where.target()
    saved = savedplan.load(check_file) if check_file else None
    request = _plan_request(where, paths, saved, prune, rotate, validation, SecretMode.DEFER)
    with open_client(target) as client:
        planned = engine.build(request, schemas, target, client)
    _warn(planned.desired)
    if saved is not None:
        _refuse_if_stale(saved, planned.plan, advice="")
        click.echo(f"The saved plan {check_file} still matches (checksum {saved.checksum[:12]}).")
        return EXIT_OK
    click.echo(render_plan(planned.plan, output.format, output.color), nl=False)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        _step_summary(plan_markdown.render(planned.plan, commit=os.environ.get("GITHUB_SHA")))
    if out_file:
        savedplan.save(planned.plan, out_file, paths=list(request.paths), rotate=request.rotate)
        echo_err(f"Saved the plan to {out_file} (checksum {planned.plan.checksum[:12]}).")
    return EXIT_CHANGES if detailed_exitcode and planned.plan.has_changes else EXIT_OK


def _plan_request(
    where: Where,
    paths: Sequence[str],
    saved: savedplan.SavedPlan | None,
    prune: bool,
    rotate: tuple[str, ...],
    validation: ValidationOptions,
    mode: SecretMode,
) -> engine.PlanRequest:
    """What plan and apply plan: a saved plan's paths (unless given), prune and rotation, else the flags'."""
    from reconciler.planning import engine

    return engine.PlanRequest(
        where.paths(paths or (saved.paths if saved else [])),
        prune=saved.prune if saved else prune,
        validation=validation,
        mode=mode,
        variables=where.variables,
        rotate=saved.rotate if saved else _selectors(rotate),
    )


def _refuse_if_stale(saved: savedplan.SavedPlan, fresh: Plan, *, advice: str) -> None:
    from reconciler.planning import savedplan

    reasons = savedplan.stale_reasons(saved, fresh)
    if reasons:
        raise RefusedError([f"the saved plan {saved.file} is stale{advice}:", *(f"  {r}" for r in reasons)])


def _selectors(values: tuple[str, ...]) -> frozenset[str]:
    """--rotate values: file paths normalised (./a.yaml is a.yaml); keys as written."""
    return frozenset(os.path.normpath(v) if v.endswith(YAML_SUFFIXES) and "[" not in v else v for v in values)


def _saved_plan_argument(args: tuple[str, ...]) -> savedplan.SavedPlan | None:
    from reconciler.planning import savedplan

    if len(args) == 1 and os.path.isfile(args[0]) and not args[0].endswith(YAML_SUFFIXES):
        return savedplan.load(args[0])
    return None


@cli.command()
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
@click.option(
    "--rotate",
    "rotate",
    multiple=True,
    metavar="FILE|KEY",
    help="Send this integration's payload again, secrets included (a rotated secret never shows as a change).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=600.0,
    show_default=True,
    help="Seconds to wait for each integration's status to settle.",
)
@target_options
@input_options
@output_options(formats=False)
def apply(
    paths_or_plan: tuple[str, ...],
    prune: bool,
    auto_approve: bool,
    force: bool,
    max_destroy_share: float,
    parallelism: int,
    timeout: float,
    rotate: tuple[str, ...],
    where: Where,
    validation: ValidationOptions,
    output: Output,
) -> int:
    """Apply the plan for PATH..., or a saved plan FILE (refused if anything it was based on changed)."""
    from reconciler.applying.apply import ApplyOptions, Interrupted, apply_plan
    from reconciler.applying.verify import Verification, verify
    from reconciler.planning import engine, gate
    from reconciler.planning.gate import GateOptions
    from reconciler.render import apply_report

    schemas = schema_module.load()
    target = where.target()
    saved = _saved_plan_argument(paths_or_plan)
    if saved is not None and rotate and _selectors(rotate) != saved.rotate:
        raise click.UsageError(f"{saved.file} fixes what is rotated; apply it as it was reviewed, or plan again")
    if saved is not None and prune != saved.prune:
        # A reviewed plan is applied as reviewed: flags that would change what it does are refused.
        raise click.UsageError(
            f"{saved.file} was planned {'with' if saved.prune else 'without'} --prune; "
            "apply it as it was reviewed, or plan again"
        )
    request = _plan_request(where, () if saved else paths_or_plan, saved, prune, rotate, validation, SecretMode.REQUIRE)
    color = output.color
    with open_client(target) as client:
        planned = engine.build(request, schemas, target, client)
        _warn(planned.desired)
        plan_value = planned.plan
        if saved is not None:
            _refuse_if_stale(saved, plan_value, advice="; plan again and review")
        refusals = gate.refusals(plan_value, GateOptions(force=force, max_destroy_share=max_destroy_share))
        if refusals:
            raise RefusedError(
                ["the plan was refused by a safety gate; nothing was changed:", *(f"  {r}" for r in refusals)]
            )
        click.echo(render_plan(plan_value, "text", color), nl=False)
        if not plan_value.has_changes:
            click.echo("No changes. Immuta already matches the files.")
            return EXIT_OK
        if saved is None and not auto_approve:
            if not sys.stdin.isatty():
                raise RefusedError(
                    [
                        "no terminal to ask for approval: pass --auto-approve, or apply a saved plan "
                        "(reconciler plan --out FILE; reconciler apply FILE)"
                    ]
                )
            if not click.confirm("Apply these changes?", default=False):
                echo_err("Not applied.")
                return EXIT_ERROR
        expected = {k: c.get("actual_fingerprint") for k, c in saved.changes_by_key().items()} if saved else None
        options = ApplyOptions(parallelism=parallelism, timeout=timeout, expected=expected)
        live = sys.stdout.isatty() and os.environ.get("CI") != "true"
        progress = _live_lines(plan_value.writes) if live else _progress_printer()
        try:
            results = apply_plan(plan_value, client, options, progress=progress)
        except Interrupted as stopped:
            click.echo(apply_report.render(stopped.results, Verification(read_error="interrupted before verifying")))
            raise
        verification = verify(planned, results, client, schemas, target)
    click.echo(apply_report.render(results, verification))
    return apply_report.exit_code(results, verification)


def _live_lines(changes: tuple[Change, ...]) -> Callable[[Change, str], None]:
    """On a terminal: one line per integration, redrawn in place as its status changes."""
    from reconciler.render import plan_text

    lock = threading.Lock()
    rows = {str(c.key): f"{plan_text.MARKERS[c.action]} {c.key}: waiting" for c in changes}
    drawn = 0

    def show(change: Change, text: str) -> None:
        nonlocal drawn
        with lock:
            rows[str(change.key)] = f"{plan_text.MARKERS[change.action]} {change.key}: {text}"
            up = f"\x1b[{drawn}F" if drawn else ""
            click.echo(up + "".join(f"\x1b[2K{row}\n" for row in rows.values()), nl=False)
            drawn = len(rows)

    return show


def _progress_printer() -> Callable[[Change, str], None]:
    """In CI and logs: plain timestamped lines, one per event."""
    from reconciler.render import plan_text

    lock = threading.Lock()

    def show(change: Change, text: str) -> None:
        with lock:
            stamp = time.strftime("%H:%M:%S")
            click.echo(f"{stamp} {plan_text.MARKERS[change.action]} {change.key}: {text}")

    return show


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


@cli.command(name="scripts")
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
@target_options
def scripts_command(paths: tuple[str, ...], out_dir: str, prune: bool, where: Where) -> int:
    """Write the platform scripts a DBA must run for planned changes of autoBootstrap: false integrations."""
    from reconciler import scripts as manual_scripts
    from reconciler.planning import engine

    schemas = schema_module.load()
    target = where.target()
    request = engine.PlanRequest(where.paths(paths), prune=prune, mode=SecretMode.REQUIRE, variables=where.variables)
    with open_client(target) as client:
        planned = engine.build(request, schemas, target, client)
        _warn(planned.desired)
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


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@target_options
@input_options
@output_options()
def drift(
    paths: tuple[str, ...],
    where: Where,
    validation: ValidationOptions,
    output: Output,
) -> int:
    """Report what differs between Git and Immuta: changed, deleted or created outside Git, and unhealthy.

    Exit 0 when there is no drift, 2 when there is, 1 on any error (a failed read is never "all deleted").
    """
    from reconciler import drift as drift_module
    from reconciler.planning import engine
    from reconciler.render import drift_json, drift_markdown, drift_text

    schemas = schema_module.load()
    target = where.target()
    request = engine.PlanRequest(
        where.paths(paths),
        validation=validation,
        mode=SecretMode.DEFER,
        variables=where.variables,
    )
    with open_client(target) as client:
        planned = engine.build(request, schemas, target, client)
    _warn(planned.desired)
    report = drift_module.detect(planned.plan)
    run_url = None
    if _in_github_actions() and os.environ.get("GITHUB_RUN_ID"):
        server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
        run_url = f"{server}/{os.environ.get('GITHUB_REPOSITORY', '')}/actions/runs/{os.environ['GITHUB_RUN_ID']}"
    if output.format == "json":
        click.echo(drift_json.render(report), nl=False)
    elif output.format == "markdown":
        click.echo(drift_markdown.render(report, run_url=run_url), nl=False)
    else:
        click.echo(drift_text.render(report), nl=False)
    if _in_github_actions():
        _step_summary(drift_markdown.render(report, run_url=run_url))
    return EXIT_CHANGES if report.has_drift else EXIT_OK


@cli.command(name="export")
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
@output_options(formats=False)
def export_command(out_dir: str, with_defaults: bool, force: bool, where: Where, output: Output) -> int:
    """Write one desired-state file per integration in Immuta, secrets as ${env:NAME} placeholders.

    Files are named <type>-<natural key>.yaml; each secret is ${env:<TYPE>_<KEY>_<FIELD>} in upper snake
    case (FIELD is the path under config). Existing files are never overwritten without --force.
    """
    from reconciler import export as export_module
    from reconciler.planning import engine

    schemas = schema_module.load()
    target = where.target()
    with open_client(target) as client:
        actual = engine.observe(client, schemas)
    files = export_module.export_state(actual, schemas, target=target.url, with_defaults=with_defaults)
    written = export_module.write(files, out_dir, force=force)
    for exported, path in zip(files, written, strict=True):
        needs = f"  (set {', '.join(exported.env_names)})" if exported.env_names else ""
        click.echo(f"{path}  ← {exported.integration.key} (id {exported.integration.id}){needs}")
    for duplicate in actual.duplicates:
        echo_err(f"warning: not exported: {duplicate.key} id {duplicate.id} has the same natural key as another")
    for integration_id, integration_type in actual.unknown_types:
        echo_err(f"warning: not exported: id {integration_id} has type {integration_type!r}, unknown to this version")
    click.echo(f"Exported {len(written)} integration(s) to {out_dir}.")
    return EXIT_OK


@cli.group()
def sandbox() -> None:
    """The Immuta Integrations API simulator (contract: shared/immuta-integrations-api.md)."""


@sandbox.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0 picks a free port.")
@click.option("--api-key", envvar="SANDBOX_API_KEY", help="Key clients must send; unset accepts any key.")
@click.option("--state", "state_file", type=click.Path(dir_okay=False), help="Persist the tenant in this JSON file.")
@click.option(
    "--provisioning-seconds",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="How long creating/editing/deleting take to settle.",
)
@click.option("--require-manual-setup", is_flag=True, help="autoBootstrap: false creates need the setup run first.")
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="NAME=VALUE",
    help="A fault, e.g. rate_503=0.2, latency_seconds=0.1, seed=7 (repeatable).",
)
@click.option(
    "--dialect",
    "dialects",
    multiple=True,
    metavar="NAME=VALUE",
    help="How the server answers where the docs are silent, e.g. ids=number, profile=sparse (repeatable).",
)
def serve(
    host: str,
    port: int,
    api_key: str | None,
    state_file: str | None,
    provisioning_seconds: float,
    require_manual_setup: bool,
    faults: tuple[str, ...],
    dialects: tuple[str, ...],
) -> int:
    """Serve the simulator over HTTP until interrupted; prints its URL on start."""
    from reconciler.sandbox.api import Sandbox
    from reconciler.sandbox.dialects import Dialect
    from reconciler.sandbox.faults import Faults
    from reconciler.sandbox.server import start_server

    try:
        chosen = Faults.from_assignments(faults)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--fault") from None
    try:
        dialect = Dialect.from_assignments(dialects) if dialects else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--dialect") from None
    simulator = Sandbox(
        api_key=api_key,
        state_file=state_file,
        provisioning_seconds=provisioning_seconds,
        require_manual_setup=require_manual_setup,
        faults=chosen,
        dialect=dialect,
    )
    with start_server(simulator, host=host, port=port) as server:
        click.echo(server.url, nl=True)
        sys.stdout.flush()
        try:
            server.wait()
        except KeyboardInterrupt:
            echo_err("stopped")
    return EXIT_OK


@sandbox.command(name="configure")
@click.option(
    "--require-manual-setup/--no-require-manual-setup",
    default=None,
    help="Whether autoBootstrap: false creates need `sandbox mark-setup-run` first (kept in the state file).",
)
@click.option(
    "--dialect",
    "dialects",
    multiple=True,
    metavar="NAME=VALUE",
    help="How the embedded sandbox answers, e.g. put=merge, profile=rich (repeatable; replaces the kept one).",
)
@target_options
def configure(require_manual_setup: bool | None, dialects: tuple[str, ...], where: Where) -> int:
    """Change settings kept in the sandbox's state file, seen by --sandbox runs and `sandbox serve --state`."""
    from reconciler.sandbox.api import Sandbox
    from reconciler.sandbox.dialects import Dialect
    from reconciler.sandbox.tenant import SandboxStateError

    try:
        dialect = Dialect.from_assignments(dialects) if dialects else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--dialect") from None
    target = resolve_target(True, where.sandbox_state, environment=where.environment)
    simulator = Sandbox(state_file=target.sandbox_state)
    try:
        if require_manual_setup is not None:
            simulator.require_manual_setup(require_manual_setup)
            click.echo(f"require manual setup: {'on' if require_manual_setup else 'off'} ({target.sandbox_state})")
        if dialect is not None:
            simulator.configure_dialect(dialect)
            click.echo(f"dialect: {dialect.describe()} ({target.sandbox_state})")
    except SandboxStateError as exc:
        raise ReconcilerError(str(exc)) from None
    return EXIT_OK


@sandbox.command(name="mark-setup-run")
@click.argument("paths", nargs=-1, type=click.Path())
@target_options
def mark_setup_run(paths: tuple[str, ...], where: Where) -> int:
    """Record in the sandbox's state that the setup scripts of PATHS' integrations were run by a DBA."""
    from reconciler.planning import engine
    from reconciler.sandbox.api import Sandbox
    from reconciler.sandbox.tenant import SandboxStateError

    schemas = schema_module.load()
    target = resolve_target(True, where.sandbox_state, environment=where.environment)
    request = engine.PlanRequest(where.paths(paths), variables=where.variables)
    desired = engine.load(request, schemas, target)
    simulator = Sandbox(state_file=target.sandbox_state)
    try:
        simulator.hold()
    except SandboxStateError as exc:  # not a ReconcilerError: the sandbox imports nothing of ours
        raise ReconcilerError(str(exc)) from None
    try:
        for integration in desired.integrations:
            if integration.present and integration.payload.get("autoBootstrap") is False:
                simulator.mark_setup_run(integration.type_schema.name, integration.payload)
                click.echo(f"setup marked as run: {integration.key}")
    finally:
        simulator.release()
    return EXIT_OK


def _report(exc: ReconcilerError) -> None:
    if isinstance(exc, InputError):
        echo_err(problem_report.as_text(exc.problems).rstrip("\n"))
        if _in_github_actions():
            click.echo(problem_report.github_annotations(exc.problems), nl=False, err=True)
        errors = [p for p in exc.problems if p.severity == "error"]
        echo_err(f"error: {len(errors)} problem(s) in the desired-state files; nothing was changed")
        return
    if isinstance(exc, RefusedError):
        echo_err(f"refused: {exc}")
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
    except Exception as exc:  # a bug of ours: no traceback (it could quote a value), unless asked for
        if os.environ.get("RECONCILER_DEBUG") == "1":
            raise
        echo_err(f"internal error ({type(exc).__name__}); set RECONCILER_DEBUG=1 for the traceback and report it")
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def print_problems(problems: list[Problem]) -> None:
    echo_err(problem_report.as_text(problems).rstrip("\n"))
