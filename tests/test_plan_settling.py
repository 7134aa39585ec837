"""A plan settles: after one apply, nothing but a real out-of-band edit shows a change — not fields a newer
Immuta returns, not secrets (never returned), not 443.0 for 443, not the order of keys, not ignored fields."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox.api import Sandbox

REPO = Path(__file__).resolve().parent.parent
STATE = "state.json"
RunCli = Callable[..., Any]  # tests/conftest.py's `run_cli`
PLAN = ("plan", "--sandbox", "--sandbox-state", STATE, "--detailed-exitcode")


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli) -> Sandbox:
    """The shipped examples applied to a fresh sandbox; tmp_path is the working directory."""
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    applied = run_cli("apply", "--sandbox", "--sandbox-state", STATE, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    return Sandbox(state_file=str(tmp_path / STATE))


def ids(tenant: Sandbox) -> dict[str, str]:
    return {record["type"]: str(record["id"]) for record in tenant.list_integrations()}


def line_of(start: str, file: str = "snowflake-prod.yaml") -> int:
    """The line of the shipped file that starts with `start` (the examples are edited now and then)."""
    lines = (REPO / "integrations.d" / file).read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if line.startswith(start))


def settled(run_cli: RunCli) -> str:
    result = run_cli(*PLAN)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Plan: 0 to create, 0 to update, 0 to replace, 0 to delete, 7 unchanged." in result.stdout
    return str(result.stdout)


def test_one_apply_settles(tenant: Sandbox, run_cli: RunCli) -> None:
    settled(run_cli)


def test_fields_a_newer_immuta_returns_never_show(tenant: Sandbox, run_cli: RunCli) -> None:
    for integration_id in ids(tenant).values():  # Trino too: it then reports a config it never had
        tenant.oob_edit(integration_id, "config.someNewField", {"introduced": "in a later release"})
    tenant.oob_edit(ids(tenant)["Snowflake"], "config.audit.retentionDays", 30)
    settled(run_cli)


def test_secrets_never_show_whether_set_or_not(
    tenant: Sandbox, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    settled(run_cli)
    monkeypatch.setenv("SNOWFLAKE_ADMIN_PASSWORD", "rotated-since-the-apply")
    monkeypatch.setenv("REDSHIFT_BOOTSTRAP_PASSWORD", "another-one")
    text = settled(run_cli)
    assert "Secret values are write-only in Immuta and are not compared" in text


def test_floats_for_ints_do_not_show(tenant: Sandbox, run_cli: RunCli) -> None:
    tenant.oob_edit(ids(tenant)["Snowflake"], "config.port", 443.0)
    tenant.oob_edit(ids(tenant)["Redshift"], "config.port", 5439.0)
    settled(run_cli)


def test_key_order_does_not_show(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    state_file = tmp_path / STATE
    document = json.loads(state_file.read_text(encoding="utf-8"))

    def reversed_keys(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: reversed_keys(value[k]) for k in reversed(list(value))}
        return value

    document["integrations"] = {key: reversed_keys(record) for key, record in document["integrations"].items()}
    state_file.write_text(json.dumps(document), encoding="utf-8")
    settled(run_cli)


def test_ignored_fields_do_not_show_and_are_counted(tenant: Sandbox, run_cli: RunCli) -> None:
    tenant.oob_edit(ids(tenant)["Snowflake"], "config.lineage.enabled", True)  # ignoreChanges: [config.lineage]
    text = settled(run_cli)
    assert "(1 difference(s) ignored by lifecycle.ignoreChanges)" in text


def test_a_field_edited_out_of_band_shows(tenant: Sandbox, run_cli: RunCli) -> None:
    snowflake = ids(tenant)["Snowflake"]
    tenant.oob_edit(snowflake, "config.warehouse", "SOMEONE_ELSES_WH")
    tenant.oob_edit(snowflake, "config.audit.enabled", False)
    result = run_cli(*PLAN)
    assert result.exit_code == 2
    warehouse, enabled = line_of("  warehouse: IMMUTA_WH"), line_of("    enabled: true")
    shipped = "integrations.d/snowflake-prod.yaml"
    assert f'~ config.warehouse: "SOMEONE_ELSES_WH" → "IMMUTA_WH"  [{shipped}:{warehouse}]' in result.stdout
    assert f"~ config.audit.enabled: false → true  [{shipped}:{enabled}]" in result.stdout
    assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete, 6 unchanged." in result.stdout
    reapplied = run_cli("apply", "--sandbox", "--sandbox-state", STATE, "--auto-approve")
    assert reapplied.exit_code == 0, reapplied.stdout
    settled(run_cli)


def test_a_default_changed_out_of_band_shows_against_the_schema_default(tenant: Sandbox, run_cli: RunCli) -> None:
    tenant.oob_edit(ids(tenant)["Snowflake"], "config.port", 8443)  # the file leaves port out
    result = run_cli(*PLAN)
    assert result.exit_code == 2
    assert "~ config.port: 8443 → 443  [schema default]" in result.stdout


def test_removed_out_of_band_is_created_again(tenant: Sandbox, run_cli: RunCli) -> None:
    tenant.oob_remove(ids(tenant)["Databricks"])
    result = run_cli(*PLAN)
    assert result.exit_code == 2
    assert "Plan: 1 to create, 0 to update, 0 to replace, 0 to delete, 6 unchanged." in result.stdout


def test_an_update_keeps_what_ignore_changes_leaves_to_others(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    snowflake = ids(tenant)["Snowflake"]
    tenant.oob_edit(snowflake, "config.lineage", {"enabled": True, "lineageConfig": {"ingestBatchSize": 500}})
    path = tmp_path / "integrations.d" / "snowflake-prod.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("warehouse: IMMUTA_WH", "warehouse: OTHER_WH"))
    assert run_cli("apply", "--sandbox", "--sandbox-state", STATE, "--auto-approve").exit_code == 0
    lineage = tenant.payload(snowflake)["config"]["lineage"]
    assert lineage == {"enabled": True, "lineageConfig": {"ingestBatchSize": 500}}
