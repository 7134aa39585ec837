"""`show`: a saved plan rendered as `plan` printed it, from the file alone — no tenant, no key, no network."""

from __future__ import annotations

import os
import sys

import click

from reconciler.errors import EXIT_OK
from reconciler.render import registry


@click.command(name="show")
@click.argument("plan_file", metavar="PLANFILE", type=click.Path(dir_okay=False, exists=True))
@click.option("--format", "output_format", type=click.Choice(list(registry.PLAN)), default="text", show_default=True)
@click.option("--no-color", is_flag=True, help="No colour, even on a terminal (NO_COLOR honoured).")
def show(plan_file: str, output_format: str, no_color: bool) -> int:
    """Show a saved plan (`plan --out FILE`) in any plan format, without contacting Immuta."""
    from reconciler.errors import InputError
    from reconciler.planning import recorded, savedplan

    try:
        saved = savedplan.load(plan_file)
        plan = recorded.recorded_plan(saved)  # also for JSON: a damaged plan is never shown as if whole
    except InputError as exc:
        # Not a problem in the desired-state files: the one message, without the files' closing line.
        raise click.ClickException("; ".join(p.message for p in exc.problems)) from None
    except savedplan.SavedPlanError as exc:
        raise click.ClickException(str(exc)) from None
    if output_format == "json":
        # The saved plan holds the JSON document itself, payloads before and after included.
        click.echo(recorded.render_json(saved), nl=False)
        return EXIT_OK
    color = not no_color and not os.environ.get("NO_COLOR") and sys.stdout.isatty()  # no-color.org
    before = {c["key"]: c["before"] for c in saved.document["changes"] if c.get("before") is not None}
    context = registry.Context(color=color, commit=os.environ.get("GITHUB_SHA"), before=before)
    click.echo(registry.PLAN[output_format](plan, context), nl=False)
    return EXIT_OK
