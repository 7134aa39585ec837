"""Removing a field that has no schema default (Databricks `groupPattern`) is a planned, shown change (issue
21, assumption A18): gone after apply on a replacing tenant; on a merging one apply says plainly that it is
still there and exits 1, never "Verified"."""

from __future__ import annotations

import json
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
DATABRICKS = "integrations.d/databricks-analytics.yaml"
KEY = "Databricks[workspaceUrl=dbc-a1b2c3d4-e5f6.cloud.databricks.com]"


def applied_then_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli, put: str) -> Sandbox:
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    sandbox = Sandbox(state_file=str(tmp_path / STATE))
    sandbox.configure_dialect(Dialect.of({"put": put}))
    first = run_cli("apply", *SANDBOX, "--auto-approve")
    assert first.exit_code == 0, first.stdout + first.stderr
    path = tmp_path / DATABRICKS
    text = path.read_text(encoding="utf-8")
    line = (
        "  groupPattern:\n    deny: immuta_exempt          # members of this group are exempt from Immuta's policies\n"
    )
    assert line in text
    path.write_text(text.replace(line, ""), encoding="utf-8")
    return sandbox


def _databricks(sandbox: Sandbox) -> dict[str, Any]:
    (record,) = [r for r in sandbox.list_integrations() if r["type"] == "Databricks"]
    return record


def test_the_removal_is_planned_and_shown_in_every_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    applied_then_removed(tmp_path, monkeypatch, run_cli, "replace")

    text = run_cli("plan", *SANDBOX, "--detailed-exitcode")
    assert text.exit_code == 2
    assert '- config.groupPattern.deny: "immuta_exempt" (removed from the file)' in text.stdout
    assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete, 6 unchanged." in text.stdout

    document = json.loads(run_cli("plan", *SANDBOX, "--format", "json").stdout)
    [update] = [c for c in document["changes"] if c["action"] == "update"]
    assert update["key"] == KEY
    assert [(f["path"], f["kind"], f["old"]) for f in update["fields"]] == [
        ("config.groupPattern.deny", "removed", "immuta_exempt")
    ]

    markdown = run_cli("plan", *SANDBOX, "--format", "markdown").stdout
    assert "config.groupPattern.deny" in markdown and "(removed)" in markdown


def test_a_replacing_tenant_drops_it_and_the_next_plan_is_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    sandbox = applied_then_removed(tmp_path, monkeypatch, run_cli, "replace")

    applied = run_cli("apply", *SANDBOX, "--auto-approve")

    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert "Verified: Immuta now matches the files for every integration written." in applied.stdout
    assert "groupPattern" not in _databricks(sandbox)["config"]
    assert run_cli("plan", *SANDBOX, "--detailed-exitcode").exit_code == 0


def test_a_merging_tenant_keeps_it_and_apply_says_so_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    sandbox = applied_then_removed(tmp_path, monkeypatch, run_cli, "merge")

    applied = run_cli("apply", *SANDBOX, "--auto-approve")

    assert applied.exit_code == 1
    assert "Verified" not in applied.stdout
    assert (
        f"Did not converge: after the writes Immuta still differs from the files:\n  {KEY}: config.groupPattern.deny\n"
        "    config.groupPattern.deny: removed from the file, still in Immuta: this tenant's PUT merges into the "
        "stored config and cannot remove a field; remove it in Immuta, then plan again"
    ) in applied.stdout
    assert _databricks(sandbox)["config"]["groupPattern"] == {"deny": "immuta_exempt"}
