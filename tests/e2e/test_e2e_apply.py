"""plan → apply → plan against the simulator over real HTTP: create, update, replace and tombstone deletes,
each with the DELETE credentials Immuta requires (and none where it rejects them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_kit import SHIPPED, SHIPPED_SECRETS, RunCli, Tenant, edit, tombstone

pytestmark = pytest.mark.e2e


def apply(run_cli: RunCli, *args: str) -> None:
    result = run_cli("apply", "--auto-approve", *args)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Verified: Immuta now matches the files for every integration written." in result.stdout


def settled(run_cli: RunCli, path: Path | str) -> None:
    result = run_cli("plan", "--detailed-exitcode", str(path))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "0 to create, 0 to update, 0 to replace, 0 to delete" in result.stdout


def test_plan_apply_plan_on_the_shipped_files_converges(tenant: Tenant, run_cli: RunCli) -> None:
    before = run_cli("plan", "--detailed-exitcode", str(SHIPPED))
    assert before.exit_code == 2, before.stderr
    assert "Plan: 7 to create, 0 to update, 0 to replace, 0 to delete, 0 unchanged." in before.stdout

    result = run_cli("apply", "--auto-approve", str(SHIPPED))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Apply: 7 succeeded, 0 failed, 0 refused." in result.stdout
    assert "Verified: Immuta now matches the files for every integration written." in result.stdout
    posts = [e for e in tenant.sandbox.writes() if e.method == "POST"]
    assert len(posts) == 7 and all(e.status == 200 for e in posts)
    assert sorted(tenant.sandbox.by_type()) == [
        "Azure Synapse Analytics",
        "Databricks",
        "Google BigQuery",
        "Native S3",
        "Redshift",
        "Snowflake",
        "Trino",
    ]
    assert {r["status"] for r in tenant.sandbox.list_integrations()} == {"enabled"}
    settled(run_cli, SHIPPED)
    for value in SHIPPED_SECRETS.values():
        assert value not in result.stdout + result.stderr


def test_a_second_apply_writes_nothing(tenant: Tenant, run_cli: RunCli) -> None:
    apply(run_cli, str(SHIPPED))
    writes = len(tenant.sandbox.writes())

    again = run_cli("apply", "--auto-approve", str(SHIPPED))

    assert again.exit_code == 0, again.stderr
    assert "No changes. Immuta already matches the files." in again.stdout
    assert len(tenant.sandbox.writes()) == writes


def test_an_edited_field_is_updated_in_place(tenant: Tenant, run_cli: RunCli, files: Path) -> None:
    apply(run_cli, str(files))
    snowflake = tenant.sandbox.by_type()["Snowflake"]
    edit(files / "snowflake-prod.yaml", "warehouse: IMMUTA_WH", "warehouse: IMMUTA_WH_XL")
    tenant.sandbox.exchanges.clear()

    result = run_cli("apply", "--auto-approve", str(files))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete, 6 unchanged." in result.stdout
    assert [(e.method, e.path) for e in tenant.sandbox.writes()] == [("PUT", f"/integrations/{snowflake['id']}")]
    put = tenant.sandbox.writes()[0]
    assert put.body["config"]["warehouse"] == "IMMUTA_WH_XL"
    assert put.body["config"]["password"] == SHIPPED_SECRETS["SNOWFLAKE_ADMIN_PASSWORD"]  # sent on update
    after = tenant.sandbox.by_type()["Snowflake"]
    assert after["id"] == snowflake["id"] and after["config"]["warehouse"] == "IMMUTA_WH_XL"
    settled(run_cli, files)


def test_update_and_replaces_send_the_delete_credentials_immuta_requires(
    tenant: Tenant, run_cli: RunCli, files: Path
) -> None:
    apply(run_cli, str(files))
    before = tenant.sandbox.by_type()
    edit(files / "redshift-warehouse.yaml", "role: immuta_impersonation", "role: immuta_impersonation_v2")
    # Snowflake's database is immutable: a replace, which preventDestroy would refuse.
    edit(files / "snowflake-prod.yaml", "preventDestroy: true", "preventDestroy: false")
    edit(files / "snowflake-prod.yaml", "database: IMMUTA_PROD", "database: IMMUTA_PROD_V2")
    edit(files / "databricks-analytics.yaml", "catalog: immuta_analytics", "catalog: immuta_analytics_v2")
    edit(files / "synapse-finance.yaml", 'arrayDelimiter: ","', 'arrayDelimiter: ";"')
    tenant.sandbox.exchanges.clear()

    result = run_cli("apply", "--auto-approve", "--force", str(files))  # 3 of 7: past the blast radius

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Plan: 0 to create, 1 to update, 3 to replace, 0 to delete, 3 unchanged." in result.stdout
    writes = {(e.method, e.path): e for e in tenant.sandbox.writes()}
    assert writes[("PUT", f"/integrations/{before['Redshift']['id']}")].status == 200
    # Each DELETE was accepted (Immuta answers 400 to missing or unwanted credentials).
    delete_bodies = {
        name: writes[("DELETE", f"/integrations/{before[name]['id']}")]
        for name in ("Snowflake", "Databricks", "Azure Synapse Analytics")
    }
    assert {name: (e.body, e.status) for name, e in delete_bodies.items()} == {
        "Snowflake": (
            {"username": "IMMUTA_BOOTSTRAP", "password": "snowflake-e2e-secret", "role": "ACCOUNTADMIN"},
            200,
        ),
        "Databricks": (None, 200),  # Databricks: never any credentials
        "Azure Synapse Analytics": (None, 200),  # autoBootstrap: false
    }
    after = tenant.sandbox.by_type()
    assert after["Redshift"]["id"] == before["Redshift"]["id"]
    assert after["Redshift"]["config"]["impersonation"]["role"] == "immuta_impersonation_v2"
    for name in ("Snowflake", "Databricks", "Azure Synapse Analytics"):
        assert after[name]["id"] != before[name]["id"], name
    assert after["Snowflake"]["config"]["database"] == "IMMUTA_PROD_V2"
    assert after["Databricks"]["config"]["catalog"] == "immuta_analytics_v2"
    settled(run_cli, files)
    assert "snowflake-e2e-secret" not in result.stdout + result.stderr


def test_a_new_natural_key_is_a_create_and_the_old_one_is_left_alone(
    tenant: Tenant, run_cli: RunCli, files: Path
) -> None:
    apply(run_cli, str(files))
    old = tenant.sandbox.by_type()["Redshift"]
    edit(files / "redshift-warehouse.yaml", "database: immuta_warehouse", "database: immuta_warehouse2")
    tenant.sandbox.exchanges.clear()

    result = run_cli("apply", "--auto-approve", str(files))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Plan: 1 to create, 0 to update, 0 to replace, 0 to delete, 6 unchanged." in result.stdout
    assert [e.method for e in tenant.sandbox.writes()] == ["POST"]
    assert old["id"] in {r["id"] for r in tenant.sandbox.list_integrations()}


@pytest.mark.parametrize(
    ("file_name", "type_name", "credentials"),
    [
        ("redshift-warehouse.yaml", "Redshift", {"username": "immuta_bootstrap", "password": "redshift-e2e-secret"}),
        ("databricks-analytics.yaml", "Databricks", None),
        ("bigquery-marketing.yaml", "Google BigQuery", None),
        ("synapse-finance.yaml", "Azure Synapse Analytics", None),
        ("trino.yaml", "Trino", None),
    ],
)
def test_a_tombstone_deletes_with_exactly_the_credentials_immuta_requires(
    tenant: Tenant,
    run_cli: RunCli,
    files: Path,
    file_name: str,
    type_name: str,
    credentials: dict[str, str] | None,
) -> None:
    apply(run_cli, str(files))
    old = tenant.sandbox.by_type()[type_name]
    tombstone(files / file_name, keep=("username", "password"))
    tenant.sandbox.exchanges.clear()

    result = run_cli("apply", "--auto-approve", str(files))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "0 to create, 0 to update, 0 to replace, 1 to delete" in result.stdout
    assert [(e.method, e.path, e.body, e.status) for e in tenant.sandbox.writes()] == [
        ("DELETE", f"/integrations/{old['id']}", credentials, 200)
    ]
    assert type_name not in tenant.sandbox.by_type()
    settled(run_cli, files)
    assert "redshift-e2e-secret" not in result.stdout + result.stderr


def test_a_tombstone_deletes_snowflake_with_its_privileged_credentials(
    tenant: Tenant, run_cli: RunCli, files: Path
) -> None:
    apply(run_cli, str(files))
    old = tenant.sandbox.by_type()["Snowflake"]
    tombstone(files / "snowflake-prod.yaml", keep=("username", "password", "role"))
    tenant.sandbox.exchanges.clear()

    result = run_cli("apply", "--auto-approve", str(files))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert [(e.method, e.path, e.body, e.status) for e in tenant.sandbox.writes()] == [
        (
            "DELETE",
            f"/integrations/{old['id']}",
            {"username": "IMMUTA_BOOTSTRAP", "password": "snowflake-e2e-secret", "role": "ACCOUNTADMIN"},
            200,
        )
    ]
    assert "Snowflake" not in tenant.sandbox.by_type()
    settled(run_cli, files)
