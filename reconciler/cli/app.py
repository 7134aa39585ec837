"""The `reconciler` group, and `main`: the one place that maps errors to messages and exit codes."""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType

import click

from reconciler import __version__
from reconciler.cli.check_commands import schema_command, validate
from reconciler.cli.doctor_command import doctor
from reconciler.cli.options import echo_err, in_github_actions
from reconciler.cli.plan_commands import apply, plan
from reconciler.cli.sandbox_commands import sandbox
from reconciler.cli.show_commands import show
from reconciler.cli.state_commands import drift, export_command, scripts_command
from reconciler.errors import EXIT_ERROR, EXIT_OK, EXIT_USAGE, InputError, ReconcilerError, RefusedError
from reconciler.render import problems as problem_report

EXIT_INTERRUPTED = 130  # as a shell reports a program stopped by Ctrl-C (128 + SIGINT)
EXIT_TERMINATED = 143  # 128 + SIGTERM, what CI sends on cancel


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="reconciler")
def cli() -> None:
    """GitOps for Immuta integrations: validate, plan and apply desired-state YAML files.

    Exit codes: 0 success / no changes, 1 error, 2 changes or drift present, 3 refused by a safety gate
    or a stale plan, 64 command-line usage error.
    """


for command in (validate, plan, apply, show, doctor, schema_command, scripts_command, drift, export_command, sandbox):
    cli.add_command(command)


def _report(exc: ReconcilerError) -> None:
    if isinstance(exc, InputError):
        echo_err(problem_report.as_text(exc.problems).rstrip("\n"))
        if in_github_actions():
            click.echo(problem_report.github_annotations(exc.problems), nl=False, err=True)
        errors = [p for p in exc.problems if p.severity == "error"]
        echo_err(f"error: {len(errors)} problem(s) in the desired-state files; nothing was changed")
        return
    if isinstance(exc, RefusedError):
        echo_err(f"refused: {exc}")
        return
    echo_err(f"error: {exc}")


def _terminated(signal_number: int, frame: FrameType | None) -> None:
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


def _run(argv: list[str] | None) -> None:
    from reconciler.applying.stopping import exit_code_of, name_of, signal_of

    try:
        code = cli.main(args=argv, prog_name="reconciler", standalone_mode=False)
    except click.UsageError as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):  # click turns Ctrl-C (and Terminated) into Abort
            echo_err(name_of(signal_of(exc.__context__)))
            sys.exit(exit_code_of(signal_of(exc.__context__)))
        echo_err("aborted")
        sys.exit(EXIT_ERROR)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_ERROR)
    except ReconcilerError as exc:
        _report(exc)
        _exit(exc.exit_code)
    except OSError as exc:  # a file the run had to write or read: named, as the OS said it
        where = f"{exc.filename}: " if exc.filename else ""
        echo_err(f"error: {where}{exc.strerror or exc}")
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM outside apply's writes: nothing was under way
        echo_err(name_of(signal_of(exc)))
        sys.exit(exit_code_of(signal_of(exc)))
    except Exception as exc:  # a bug of ours: no traceback (it could quote a value), unless asked for
        if os.environ.get("RECONCILER_DEBUG") == "1":
            raise
        echo_err(f"internal error ({type(exc).__name__}); set RECONCILER_DEBUG=1 for the traceback and report it")
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
