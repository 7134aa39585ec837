"""The `reconciler` group, and `main`: the one place that maps errors to messages and exit codes."""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

import click

from reconciler import __version__

if TYPE_CHECKING:
    from reconciler.errors import ReconcilerError

# The exit codes of reconciler.errors, which is imported only once a command runs (not for --version / --help).
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 64


# name → (module, attribute, the first paragraph of the command's help). A command's module is imported only
# when that command runs (or its own --help is asked for): `--version` and `--help` load none of them, and
# `validate` loads neither httpx nor the plan engine. tests/test_cli_startup.py checks the summaries against
# the commands' own help.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": (
        "reconciler.cli.check_commands",
        "validate",
        "Check desired-state files against the schemas; report every problem in every file at once.",
    ),
    "plan": (
        "reconciler.cli.plan_commands",
        "plan",
        "Show what apply would change: create, update, replace, delete — field by field.",
    ),
    "apply": (
        "reconciler.cli.plan_commands",
        "apply",
        "Apply the plan for PATH..., or a saved plan FILE (refused if anything it was based on changed).",
    ),
    "doctor": (
        "reconciler.cli.doctor_command",
        "doctor",
        "Check a tenant before planning against it, read-only: reached, authorised, and the dialect it speaks.",
    ),
    "show": (
        "reconciler.cli.show_commands",
        "show",
        "Show a saved plan (`plan --out FILE`) in any plan format, without contacting Immuta.",
    ),
    "schema": (
        "reconciler.cli.check_commands",
        "schema_command",
        "Print the entry schema, or the schema of one integration type; or write them all with --out.",
    ),
    "scripts": (
        "reconciler.cli.state_commands",
        "scripts_command",
        "Write the platform scripts a DBA must run for planned changes of autoBootstrap: false integrations.",
    ),
    "drift": (
        "reconciler.cli.state_commands",
        "drift",
        "Report what differs between Git and Immuta: changed, deleted or created outside Git, and unhealthy.",
    ),
    "export": (
        "reconciler.cli.state_commands",
        "export_command",
        "Write one desired-state file per integration in Immuta, secrets as ${env:NAME} placeholders.",
    ),
    "sandbox": (
        "reconciler.cli.sandbox_commands",
        "sandbox",
        "The Immuta Integrations API simulator (contract: docs/immuta-api.md).",
    ),
}


class _LazyGroup(click.Group):
    """A group whose commands are imported on first use; the command list in --help comes from COMMANDS."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute, _ = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            # A stand-in holding the summary: click shortens it exactly as it would the command's own help.
            command = self.commands.get(name) or click.Command(name, help=COMMANDS[name][2])
            rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="reconciler")
def cli() -> None:
    """GitOps for Immuta integrations: validate, plan and apply desired-state YAML files.

    Exit codes: 0 success / no changes, 1 error, 2 changes or drift present, 3 refused by a safety gate
    or a stale plan, 64 command-line usage error.
    """


def echo_err(text: str) -> None:
    click.echo(text, err=True)


def _report(exc: ReconcilerError, argv: list[str]) -> None:
    from reconciler.cli import messages
    from reconciler.cli.options import in_github_actions
    from reconciler.errors import InputError, RefusedError
    from reconciler.render.escape import terminal_lines

    if isinstance(exc, InputError):
        from reconciler.render import problems as problem_report

        forgotten = messages.forgotten_environment(exc.problems, argv)
        if forgotten:
            echo_err(forgotten)
            return
        echo_err(problem_report.as_text(exc.problems).rstrip("\n"))
        if in_github_actions():
            click.echo(problem_report.github_annotations(exc.problems), nl=False, err=True)
        echo_err(terminal_lines("\n".join(messages.report(exc.problems))))
        return
    if isinstance(exc, RefusedError):
        echo_err(f"refused: {terminal_lines(str(exc))}")
        return
    echo_err(f"error: {terminal_lines(messages.with_environment_names(str(exc), argv))}")


def _escaped(exc: click.ClickException) -> click.ClickException:
    """Its message may quote a file's or a saved plan's text: no line of it may forge ours (render/escape.py)."""
    from reconciler.render.escape import terminal_lines

    message = terminal_lines(exc.format_message())
    if isinstance(exc, click.UsageError):
        return click.UsageError(message, exc.ctx)
    return click.ClickException(message)


def _terminated(_signal_number: int, _frame: FrameType | None) -> None:
    from reconciler.applying.stopping import Terminated

    raise Terminated


def _exit(code: int) -> None:
    """Exit; at once if apply's workers are still under way after a signal (a request that has not
    answered yet): the summary is printed, and joining them could outlast what CI waits before SIGKILL."""
    if any(t.name.startswith("apply") and t.is_alive() for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    # SIGTERM (CI's cancel) is handled like Ctrl-C: raised in the main thread, wherever it is.
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if in_main else None
    try:
        _run(argv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupted(exc: BaseException) -> None:
    from reconciler.applying.stopping import exit_code_of, name_of, signal_of

    echo_err(name_of(signal_of(exc)))
    sys.exit(exit_code_of(signal_of(exc)))


def _run(argv: list[str] | None) -> None:
    try:
        code = cli.main(args=argv, prog_name="reconciler", standalone_mode=False)
    except click.UsageError as exc:
        _escaped(exc).show()
        sys.exit(EXIT_USAGE)
    except click.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):  # click turns Ctrl-C (and Terminated) into Abort
            _interrupted(exc.__context__)
        echo_err("aborted")
        sys.exit(EXIT_ERROR)
    except click.ClickException as exc:
        _escaped(exc).show()
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM outside apply's writes: nothing was under way
        _interrupted(exc)
    except OSError as exc:  # a file the run had to write or read: named, as the OS said it
        where = f"{exc.filename}: " if exc.filename else ""
        echo_err(f"error: {where}{exc.strerror or exc}")
        sys.exit(EXIT_ERROR)
    except Exception as exc:
        from reconciler.errors import ReconcilerError

        if isinstance(exc, ReconcilerError):
            _report(exc, sys.argv[1:] if argv is None else argv)
            _exit(exc.exit_code)
        # A bug of ours: no traceback (it could quote a value), unless asked for.
        if os.environ.get("RECONCILER_DEBUG") == "1":
            raise
        echo_err(f"internal error ({type(exc).__name__}); set RECONCILER_DEBUG=1 for the traceback and report it")
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
