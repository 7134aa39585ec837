"""Fixtures shared by the test modules. Keep it small: a module's own helpers live in that module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from reconciler.cli import main


@dataclass(frozen=True, slots=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


RunCli = Callable[..., CliResult]


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """Runs `reconciler ARGS…` in-process through `cli.main` (which always exits), outside GitHub Actions
    unless the test sets GITHUB_ACTIONS itself, and with no pull request's base branch (GITHUB_BASE_REF)."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_BASE_REF", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")

    def run(*args: str) -> CliResult:
        capsys.readouterr()  # drop anything printed before
        with pytest.raises(SystemExit) as stopped:
            main(list(args))
        captured = capsys.readouterr()
        code = stopped.value.code
        return CliResult(code if isinstance(code, int) else 1, captured.out, captured.err)

    return run
