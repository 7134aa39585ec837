"""`reconciler doctor`: the first command a team runs against a new tenant. Read-only: one list call."""

from __future__ import annotations

import click

from reconciler.cli import connect
from reconciler.cli.options import Output, Where, output_options, target_options
from reconciler.errors import EXIT_ERROR, EXIT_OK
from reconciler.render import registry
from reconciler.validation import schema as schema_module


@click.command()
@target_options
@output_options(formats=tuple(registry.DOCTOR))
def doctor(where: Where, output: Output) -> int:
    """Check a tenant before planning against it, read-only: reached, authorised, and the dialect it speaks.

    One GET /integrations: the URL is reached, the credentials and APPLICATION_ADMIN are accepted, the
    integrations are listed, and which dialect the tenant speaks (ids, list order, echoed defaults, what it
    does with secrets, unknown fields and statuses). Exit 0 when reachable and authorised, 1 otherwise."""
    from reconciler.doctor import diagnose

    schemas = schema_module.load()
    target = where.target()
    bearer = target.settings is not None and target.settings.auth.scheme == "bearer"
    with connect.open_client(target) as client:
        report = diagnose(
            target.url,
            lambda: client.list_integrations(ids_as_sent=True),
            schemas,
            auth_kind="bearer token" if bearer else "API key",
        )
    click.echo(registry.DOCTOR[output.format](report, registry.Context(color=output.color)), nl=False)
    return EXIT_OK if report.ok else EXIT_ERROR
