"""A saved plan is input: `show` of one whose key holds a newline, a workflow command or a terminal escape
says it is damaged without letting that text start a line of its own (issue 19: the escaper where saved plans
and error messages meet)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
RunCli = Callable[..., Any]  # tests/conftest.py's `run_cli`


def test_a_forged_key_in_a_saved_plan_cannot_forge_a_workflow_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    (tmp_path / "integrations.d").mkdir()
    shutil.copy(REPO / "integrations.d" / "trino.yaml", tmp_path / "integrations.d" / "trino.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert run_cli("plan", "--sandbox", "--out", "p.json").exit_code == 0
    document = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    document["tool_version"] = "0.0.1"  # another version's plan: shown, not checksummed
    document["changes"][0]["key"] = "Trino\x1b[31m\n::error title=Approved::forged"
    (tmp_path / "p.json").write_text(json.dumps(document), encoding="utf-8")

    result = run_cli("show", "p.json")

    assert result.stderr == (
        "Error: p.json: the saved plan is damaged "
        "(Trino\\x1b[31m\n\\x3a:error title=Approved::forged does not match its natural key)\n"
    )
    assert (result.exit_code, result.stdout) == (1, "")
