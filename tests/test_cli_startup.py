"""Start-up loads only what a command needs: `--version` and `--help` import no command module, and the
command list in `--help` (written in cli/app.py so that it needs none) says what each command's help says."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import click
import pytest

from reconciler import errors
from reconciler.cli import app

RunCli = Callable[..., Any]  # the `run_cli` fixture of conftest.py
HEAVY = ("reconciler.cli.check_commands", "reconciler.loading", "reconciler.validation", "yaml", "jsonschema", "httpx")


def _modules_after(*argv: str) -> set[str]:
    """The modules a fresh interpreter holds after `reconciler ARGV` (as the console script runs it)."""
    script = (
        "import sys\nfrom reconciler.cli import main\n"
        f"try:\n    main({list(argv)!r})\nexcept SystemExit:\n    pass\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_load_no_command(flag: str) -> None:
    loaded = _modules_after(flag)

    assert sorted(m for m in loaded if m.startswith(HEAVY)) == []
    assert sorted(m for m in loaded if m.startswith("reconciler.cli.")) == ["reconciler.cli.app"]


def test_validate_loads_no_http_client() -> None:
    loaded = _modules_after("validate", "integrations.d")

    assert "reconciler.cli.check_commands" in loaded
    assert sorted(m for m in loaded if m.startswith(("httpx", "reconciler.client", "reconciler.planning"))) == []


@pytest.mark.parametrize("name", sorted(app.COMMANDS))
def test_the_listed_summary_is_the_commands_own(name: str) -> None:
    command = app.cli.get_command(click.Context(app.cli), name)

    assert command is not None
    assert command.help is not None
    assert app.COMMANDS[name][2] == " ".join(command.help.split("\n\n")[0].split())


def test_the_exit_codes_are_those_of_reconciler_errors() -> None:
    assert (app.EXIT_OK, app.EXIT_ERROR, app.EXIT_USAGE) == (errors.EXIT_OK, errors.EXIT_ERROR, errors.EXIT_USAGE)


def test_help_lists_every_command_with_its_summary(run_cli: RunCli) -> None:
    result = run_cli("--help")

    assert result.stdout.split("Commands:\n")[1].splitlines() == [
        "  apply     Apply the plan for PATH..., or a saved plan FILE (refused if...",
        "  doctor    Check a tenant before planning against it, read-only:...",
        "  drift     Report what differs between Git and Immuta: changed, deleted...",
        "  export    Write one desired-state file per integration in Immuta,...",
        "  plan      Show what apply would change: create, update, replace, delete...",
        "  sandbox   The Immuta Integrations API simulator (contract:...",
        "  schema    Print the entry schema, or the schema of one integration...",
        "  scripts   Write the platform scripts a DBA must run for planned changes...",
        "  show      Show a saved plan (`plan --out FILE`) in any plan format,...",
        "  validate  Check desired-state files against the schemas; report every...",
    ]
