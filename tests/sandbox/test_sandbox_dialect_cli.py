"""`--dialect NAME=VALUE` on `sandbox serve` and `sandbox configure` (kept in the state for --sandbox runs)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reconciler.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "integrations.d"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out + err


@pytest.mark.parametrize("command", [["sandbox", "serve"], ["sandbox", "configure"]])
def test_an_unknown_dialect_is_a_usage_error_naming_the_choices(
    command: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = run(capsys, *command, "--dialect", "ids=uuid")
    assert code == 64
    assert "Invalid value for --dialect: dialect ids: 'uuid' is not one of string, number" in output
    assert not (tmp_path / ".reconciler").exists()


def test_configure_keeps_the_dialect_for_sandbox_runs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    code, output = run(capsys, "sandbox", "configure", "--dialect", "ids=number", "--dialect", "create_status=201")
    assert (code, output.split(" (")[0]) == (0, "dialect: create_status=201, ids=number")
    assert run(capsys, "apply", "--sandbox", "--auto-approve")[0] == 0
    state = json.loads((tmp_path / ".reconciler" / "sandbox.json").read_text())
    assert state["dialect"]["ids"] == "number"
    code, output = run(capsys, "export", "--sandbox", "--out", "exported")
    assert code == 0, output
    assert "(id 1)" in output  # a numeric id, compared as a string


def test_a_corrupt_state_file_is_a_clean_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".reconciler").mkdir()
    (tmp_path / ".reconciler" / "sandbox.json").write_text("{not json")
    state = tmp_path / ".reconciler" / "sandbox.json"
    for command in (
        ["plan", "--sandbox"],
        ["sandbox", "configure", "--dialect", "ids=number"],
        ["sandbox", "mark-setup-run"],
    ):
        if command[0] == "plan" or command[-1] == "mark-setup-run":
            shutil.copytree(EXAMPLES, tmp_path / "integrations.d", dirs_exist_ok=True)
        code, output = run(capsys, *command)
        assert (code, output.splitlines()[-1]) == (
            1,
            f"error: {state}: not a sandbox state file "
            "(Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
        ), command
