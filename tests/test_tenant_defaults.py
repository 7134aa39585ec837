"""A tenant whose own defaults differ from the schema's (docs/immuta-api.md §8, `defaults=many`: Snowflake reports
`lineage.enabled: true` where no file mentions it and the schema says false) converges on the first apply:
every create and update sends the schema defaults of the fields the file does not write (issue 21)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox.api import Sandbox
from reconciler.sandbox.dialects import Dialect

REPO = Path(__file__).resolve().parent.parent
STATE = "state.json"
RunCli = Callable[..., Any]
SANDBOX = ("--sandbox", "--sandbox-state", STATE)
SNOWFLAKE = "integrations.d/snowflake-prod.yaml"


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    Sandbox(state_file=str(tmp_path / STATE)).configure_dialect(Dialect.of({"defaults": "many"}))
    return tmp_path


def _lineage_compared(files: Path) -> None:
    path = files / SNOWFLAKE
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("ignoreChanges: [config.lineage]", "ignoreChanges: []"), encoding="utf-8")


def _snowflake(files: Path) -> dict[str, Any]:
    sandbox = Sandbox(state_file=str(files / STATE))
    (record,) = [r for r in sandbox.list_integrations() if r["type"] == "Snowflake"]
    return record


def test_a_create_sends_the_schema_default_and_converges_at_once(files: Path, run_cli: RunCli) -> None:
    _lineage_compared(files)
    applied = run_cli("apply", *SANDBOX, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert "Did not converge" not in applied.stdout + applied.stderr
    assert _snowflake(files)["config"]["lineage"]["enabled"] is False  # the schema's default, not the tenant's
    again = run_cli("plan", *SANDBOX, "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout
    assert "Plan: 0 to create, 0 to update, 0 to replace, 0 to delete, 7 unchanged." in again.stdout


def test_a_create_leaves_what_ignore_changes_names_to_immuta(files: Path, run_cli: RunCli) -> None:
    applied = run_cli("apply", *SANDBOX, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert _snowflake(files)["config"]["lineage"]["enabled"] is True  # the tenant's own: the file leaves it


def test_an_update_never_sends_a_default_for_an_immutable_field_the_file_does_not_write(
    files: Path, run_cli: RunCli
) -> None:
    path = files / "integrations.d/synapse-finance.yaml"
    written = '  metadataDelimiters:\n    hashDelimiter: "|"\n    hashKeyDelimiter: ":"\n    arrayDelimiter: ","\n'
    text = path.read_text(encoding="utf-8")
    assert written in text
    path.write_text(text.replace(written, ""), encoding="utf-8")
    assert run_cli("apply", *SANDBOX, "--auto-approve").exit_code == 0
    sandbox = Sandbox(state_file=str(files / STATE))
    (synapse,) = [r for r in sandbox.list_integrations() if r["type"] == "Azure Synapse Analytics"]
    sandbox.oob_edit(synapse["id"], "config.metadataDelimiters.hashDelimiter", "#")  # as created by hand
    path.write_text(path.read_text(encoding="utf-8").replace("port: 1433", "port: 1434"), encoding="utf-8")
    applied = run_cli("apply", *SANDBOX, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert sandbox.payload(synapse["id"])["config"]["metadataDelimiters"]["hashDelimiter"] == "#"
    assert sandbox.payload(synapse["id"])["config"]["port"] == 1434
