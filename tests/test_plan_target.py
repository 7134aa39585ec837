"""`plan --target` and `apply --target`: only the named integrations are planned and applied, the rest are
neither shown nor touched (not even as orphans); what cannot mean what was asked is a usage error (64)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
STATE = "state.json"
SANDBOX = ("--sandbox", "--sandbox-state", STATE)
SNOWFLAKE_FILE = "integrations.d/snowflake-prod.yaml"
SNOWFLAKE = "Snowflake[host=acme.us-east-1.snowflakecomputing.com]"
DATABRICKS_FILE = "integrations.d/databricks-analytics.yaml"
DATABRICKS = "Databricks[workspaceUrl=dbc-a1b2c3d4-e5f6.cloud.databricks.com]"
USAGE = "Usage: reconciler {command} [OPTIONS] "
RunCli = Callable[..., Any]  # tests/conftest.py's `run_cli`


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli) -> Path:
    """The shipped examples applied; then Snowflake and Databricks edited (two updates) and the Trino file
    removed (an orphan)."""
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    applied = run_cli("apply", *SANDBOX, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    edit(tmp_path / SNOWFLAKE_FILE, "warehouse: IMMUTA_WH", "warehouse: IMMUTA_WH_XL")
    edit(tmp_path / DATABRICKS_FILE, "deny: immuta_exempt", "deny: immuta_exempt_all")
    (tmp_path / "integrations.d" / "trino.yaml").unlink()
    return tmp_path


def plan_json(run_cli: RunCli, *args: str) -> dict[str, Any]:
    result = run_cli("plan", *SANDBOX, "--format", "json", *args)
    assert result.exit_code == 0, result.stdout + result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def actions(document: dict[str, Any]) -> dict[str, str]:
    return {c["key"]: c["action"] for c in document["changes"]}


def test_without_target_every_change_and_the_orphan_are_planned(tenant: Path, run_cli: RunCli) -> None:
    planned = plan_json(run_cli)
    assert planned["summary"] == {"create": 0, "update": 2, "replace": 0, "delete": 0, "unchanged": 4, "orphan": 1}


@pytest.mark.parametrize("named", [SNOWFLAKE_FILE, f"./{SNOWFLAKE_FILE}", SNOWFLAKE])
def test_a_target_file_or_key_plans_only_that_integration(tenant: Path, run_cli: RunCli, named: str) -> None:
    planned = plan_json(run_cli, "--target", named)
    assert actions(planned) == {SNOWFLAKE: "update"}
    assert planned["summary"] == {"create": 0, "update": 1, "replace": 0, "delete": 0, "unchanged": 0, "orphan": 0}


def test_targets_repeat(tenant: Path, run_cli: RunCli) -> None:
    planned = plan_json(
        run_cli, "--target", SNOWFLAKE, "--target", DATABRICKS_FILE, "--target", "integrations.d/s3-datalake.yaml"
    )
    assert actions(planned) == {SNOWFLAKE: "update", DATABRICKS: "update", "Native S3[name=datalake-prod]": "no-op"}


def test_the_text_plan_mentions_no_orphan(tenant: Path, run_cli: RunCli) -> None:
    result = run_cli("plan", *SANDBOX, "--target", SNOWFLAKE_FILE)
    assert result.exit_code == 0, result.stderr
    assert "no file" not in result.stdout and "--prune" not in result.stdout
    assert result.stdout.endswith("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete, 0 unchanged.\n")


def test_an_unknown_target_is_a_usage_error_naming_it(tenant: Path, run_cli: RunCli) -> None:
    result = run_cli("plan", *SANDBOX, "--target", "Snowflake[host=nowhere]", "--target", "integrations.d/typo.yaml")
    assert (result.exit_code, result.stdout) == (64, "")
    assert result.stderr.startswith(USAGE.format(command="plan"))
    assert result.stderr.endswith(
        "Error: --target Snowflake[host=nowhere]: no file or integration key of that name; "
        "--target integrations.d/typo.yaml: no file or integration key of that name\n"
    )


def test_an_orphan_cannot_be_targeted(tenant: Path, run_cli: RunCli) -> None:
    result = run_cli("plan", *SANDBOX, "--target", "integrations.d/trino.yaml")
    assert result.exit_code == 64
    assert result.stderr.endswith(
        "Error: --target integrations.d/trino.yaml: no file or integration key of that name\n"
    )


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_target_with_prune_is_refused(tenant: Path, run_cli: RunCli, command: str) -> None:
    result = run_cli(command, *SANDBOX, "--prune", "--target", SNOWFLAKE_FILE)
    assert (result.exit_code, result.stdout) == (64, "")
    assert result.stderr.endswith("Error: --target cannot be combined with --prune: plan every file to prune\n")


def test_a_rotation_outside_the_targets_is_a_usage_error(tenant: Path, run_cli: RunCli) -> None:
    result = run_cli("plan", *SANDBOX, "--target", SNOWFLAKE_FILE, "--rotate", DATABRICKS_FILE)
    assert result.exit_code == 64
    assert result.stderr.endswith(f"Error: --rotate {DATABRICKS_FILE}: not among the --target integrations\n")
    rotated = plan_json(run_cli, "--target", DATABRICKS_FILE, "--rotate", DATABRICKS)
    assert actions(rotated) == {DATABRICKS: "update"}


def test_apply_target_changes_only_that_integration(tenant: Path, run_cli: RunCli) -> None:
    applied = run_cli("apply", *SANDBOX, "--auto-approve", "--target", SNOWFLAKE)
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert "Apply: 1 succeeded, 0 failed, 0 refused." in applied.stdout
    left = plan_json(run_cli)
    assert left["summary"] == {"create": 0, "update": 1, "replace": 0, "delete": 0, "unchanged": 5, "orphan": 1}
    assert actions(left)[DATABRICKS] == "update"


def test_a_saved_targeted_plan_records_and_applies_only_its_targets(tenant: Path, run_cli: RunCli) -> None:
    saved = run_cli("plan", *SANDBOX, "--target", f"./{DATABRICKS_FILE}", "--out", "reviewed.plan")
    assert saved.exit_code == 0, saved.stderr
    document = json.loads((tenant / "reviewed.plan").read_text(encoding="utf-8"))
    assert document["targets"] == [DATABRICKS_FILE]
    assert actions(document) == {DATABRICKS: "update"}
    checked = run_cli("plan", *SANDBOX, "--check", "reviewed.plan")
    assert checked.exit_code == 0, checked.stdout + checked.stderr

    other = run_cli("apply", *SANDBOX, "reviewed.plan", "--target", SNOWFLAKE)
    assert other.exit_code == 64
    assert other.stderr.endswith(
        "Error: reviewed.plan fixes what is targeted; apply it as it was reviewed, or plan again\n"
    )

    applied = run_cli("apply", *SANDBOX, "reviewed.plan")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert f"\nApply: 1 succeeded, 0 failed, 0 refused.\n  ok      update {DATABRICKS} (id " in applied.stdout
    assert actions(plan_json(run_cli))[SNOWFLAKE] == "update"  # untouched
    assert actions(plan_json(run_cli))[DATABRICKS] == "no-op"


def test_an_untargeted_saved_plan_records_no_target(tenant: Path, run_cli: RunCli) -> None:
    assert run_cli("plan", *SANDBOX, "--out", "all.plan").exit_code == 0
    assert json.loads((tenant / "all.plan").read_text(encoding="utf-8"))["targets"] == []
