"""One renderer table per kind of value (reconciler.render.registry), and the command line offers exactly
its keys as --format, so that a format is added in one place."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from reconciler.render import registry

RunCli = Callable[..., Any]  # tests/conftest.py's `run_cli`


def test_each_table_holds_the_documented_formats() -> None:
    assert list(registry.PLAN) == ["text", "json", "markdown"]
    assert list(registry.DRIFT) == ["text", "json", "markdown"]
    assert list(registry.APPLY) == ["text", "json"]


@pytest.mark.parametrize(
    ("command", "choices"),
    [("plan", "'text', 'json', 'markdown'"), ("drift", "'text', 'json', 'markdown'"), ("apply", "'text', 'json'")],
)
def test_the_command_line_offers_the_tables_keys(run_cli: RunCli, command: str, choices: str) -> None:
    result = run_cli(command, "--sandbox", "--format", "html")

    assert result.exit_code == 64
    assert f"Invalid value for '--format': 'html' is not one of {choices}." in result.stderr


def test_help_loads_no_renderer_nor_client() -> None:
    code = (
        "import sys; from reconciler.cli import main\n"
        "try: main(['--help'])\n"
        "except SystemExit: pass\n"
        "heavy = ('httpx', 'reconciler.render.plan_text', 'reconciler.applying.apply')\n"
        "print([m for m in heavy if m in sys.modules], file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert done.stderr == "[]\n"
