"""`reconciler doctor`: the first command a team runs against a new tenant. Read-only: one list call."""

from __future__ import annotations

from typing import Any

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
    from reconciler import ownership_report
    from reconciler.doctor import diagnose

    schemas = schema_module.load()
    target = where.target()
    bearer = target.settings is not None and target.settings.auth.scheme == "bearer"
    listed: list[Any] = []
    with connect.open_client(target) as client:

        def listing() -> list[Any]:
            listed[:] = client.list_integrations(ids_as_sent=True)
            return listed

        report = diagnose(target.url, listing, schemas, auth_kind="bearer token" if bearer else "API key")
        if report.ok:  # reached and allowed: which integrations belong to connections (read-only)
            report = ownership_report.doctor_report(report, client, listed, schemas)
    click.echo(registry.DOCTOR[output.format](report, registry.Context(color=output.color)), nl=False)
    return EXIT_OK if report.ok else EXIT_ERROR
