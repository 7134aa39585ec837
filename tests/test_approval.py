"""Whether apply may write without asking, and the prompt when it asks — in the library and at the
command line (a terminal simulated on standard input)."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.applying.approval import NO_TERMINAL, QUESTION, Approval, approved
from reconciler.errors import RefusedError

RunCli = Callable[..., Any]  # tests/conftest.py's `run_cli`
EXAMPLE = Path(__file__).resolve().parent.parent / "integrations.d" / "trino.yaml"


def never(question: str) -> bool:
    raise AssertionError("asked, and should not have been")


def test_a_reviewed_plan_or_auto_approve_needs_no_answer() -> None:
    assert approved(Approval(False, False, never), reviewed=True)
    assert approved(Approval(True, False, never), reviewed=False)


def test_the_person_at_the_terminal_is_asked_once_and_their_answer_stands() -> None:
    asked: list[str] = []

    def say(answer: bool) -> Approval:
        return Approval(False, True, lambda question: asked.append(question) or answer)

    assert approved(say(True), reviewed=False) is True
    assert approved(say(False), reviewed=False) is False
    assert asked == ["Apply these changes?", "Apply these changes?"] == [QUESTION, QUESTION]


def test_nobody_to_ask_is_a_refusal_that_names_both_ways_out() -> None:
    with pytest.raises(RefusedError) as refused:
        approved(Approval(False, False, never), reviewed=False)

    assert str(refused.value) == (
        "no terminal to ask for approval: pass --auto-approve, or apply a saved plan "
        "(reconciler plan --out FILE; reconciler apply FILE)"
    )
    assert refused.value.reasons == (NO_TERMINAL,)
    assert refused.value.exit_code == 3


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "integrations.d").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(("typed", "code"), [("n\n", 1), ("\n", 1), ("y\n", 0)])
def test_the_prompt_at_the_command_line(
    files: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, typed: str, code: int
) -> None:

    monkeypatch.setattr("sys.stdin", Terminal(typed))

    result = run_cli("apply", "--sandbox")

    assert result.exit_code == code
    assert "Apply these changes? [y/N]: " in result.stdout
    if code == 1:  # no, or just Enter: the default is no
        assert result.stderr == "Not applied.\n"
        assert "Apply:" not in result.stdout
        assert run_cli("plan", "--sandbox", "--detailed-exitcode").exit_code == 2  # still to do
    else:
        assert "Apply: 1 succeeded, 0 failed, 0 refused." in result.stdout
        assert run_cli("plan", "--sandbox", "--detailed-exitcode").exit_code == 0


def test_without_a_terminal_the_command_line_refuses_with_exit_3(files: Path, run_cli: RunCli) -> None:
    result = run_cli("apply", "--sandbox")

    assert result.exit_code == 3
    assert result.stderr == f"refused: {NO_TERMINAL}\n"
