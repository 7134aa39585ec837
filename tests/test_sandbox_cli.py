"""The sandbox's own commands: the manual-bootstrap switch kept in the state file, for --sandbox runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "integrations.d"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out + err


def test_manual_setup_flow_under_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)

    assert run(capsys, "sandbox", "configure", "--require-manual-setup")[0] == 0
    code, output = run(capsys, "apply", "--sandbox", "--auto-approve")
    assert code == 1
    assert "FAILED  create Native S3[name=datalake-prod]: Validation of prerequisite setup failed." in output
    assert "run `reconciler scripts integrations.d/s3-datalake.yaml --out scripts/`" in output

    code, output = run(capsys, "sandbox", "mark-setup-run")
    assert code == 0
    assert "setup marked as run: Native S3[name=datalake-prod]" in output
    assert run(capsys, "apply", "--sandbox", "--auto-approve")[0] == 0
    assert run(capsys, "plan", "--sandbox", "--detailed-exitcode")[0] == 0


def test_without_the_switch_manual_creates_need_no_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)

    assert run(capsys, "sandbox", "configure", "--no-require-manual-setup")[0] == 0
    assert run(capsys, "apply", "--sandbox", "--auto-approve")[0] == 0


def test_a_saved_plan_is_applied_as_reviewed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "plan", "--sandbox", "--out", "plan.json")[0] == 0

    code, output = run(capsys, "apply", "plan.json", "--sandbox", "--prune")

    assert code == 64
    assert "plan.json was planned without --prune; apply it as it was reviewed, or plan again" in output
    assert run(capsys, "apply", "plan.json", "--sandbox")[0] == 0
