"""`reconciler sandbox …`: serve the simulator, change its settings, record a DBA's setup run."""

from __future__ import annotations

import sys

import click

from reconciler.cli.options import Where, echo_err, target_options
from reconciler.errors import EXIT_OK, ReconcilerError
from reconciler.target import resolve_target
from reconciler.validation import schema as schema_module


@click.group()
def sandbox() -> None:
    """The Immuta Integrations API simulator (contract: docs/immuta-api.md)."""


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
    from reconciler.sandbox.tenant import SandboxStateError

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
    try:
        simulator.list_integrations()  # a broken state file is said now, not as a 500 to every request
    except SandboxStateError as exc:  # not a ReconcilerError: the sandbox imports nothing of ours
        raise ReconcilerError(str(exc)) from None
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
    request = engine.PlanRequest(where.paths(paths), variables=where.variables, file_roots=where.file_roots)
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
