"""Partial failure over HTTP: one integration fails in Immuta, the others are applied, the summary names the
failure with Immuta's reason, the exit code is 1 — and the next apply converges."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import MakeTenant
from e2e_kit import RunCli, Tenant, edit

from reconciler.sandbox import Faults

pytestmark = pytest.mark.e2e

SYNAPSE = "Azure Synapse Analytics[host=finance-ws.sql.azuresynapse.net,database=finance_dw,schema=immuta]"
SNOWFLAKE = "Snowflake[host=acme.us-east-1.snowflakecomputing.com]"


def converges(tenant: Tenant, run_cli: RunCli, files: Path, summary: str) -> None:
    """Apply again without faults: it finishes the job, and then the plan is empty."""
    tenant.sandbox.faults = Faults()
    again = run_cli("apply", "--auto-approve", str(files))
    assert again.exit_code == 0, again.stdout + again.stderr
    assert summary in again.stdout
    settled = run_cli("plan", "--detailed-exitcode", str(files))
    assert settled.exit_code == 0, settled.stdout


def test_a_missing_manual_setup_fails_one_create_and_names_the_scripts_command(
    make_tenant: MakeTenant, run_cli: RunCli, files: Path
) -> None:
    tenant = make_tenant(require_manual_setup=True)
    for name in ("bigquery-marketing.yaml", "s3-datalake.yaml"):  # their DBA ran the setup; Synapse's did not
        document = yaml.safe_load((files / name).read_text(encoding="utf-8"))
        tenant.sandbox.mark_setup_run(document["type"], document)

    result = run_cli("apply", "--auto-approve", str(files))

    assert result.exit_code == 1, result.stdout + result.stderr
    assert "Apply: 6 succeeded, 1 failed, 0 refused." in result.stdout
    assert (
        f"  FAILED  create {SYNAPSE}: Validation of prerequisite setup failed. Unable to create integration. — "
        f"{SYNAPSE} has autoBootstrap: false, so the platform must be set up first: run `reconciler scripts "
        f"{files / 'synapse-finance.yaml'} --out scripts/`, have the DBA run the script(s), then apply again\n"
    ) in result.stdout
    assert "Verified: Immuta now matches the files for every integration written." in result.stdout
    assert "Running apply again continues from where this run stopped." in result.stdout
    assert "Azure Synapse Analytics" not in tenant.sandbox.by_type()
    assert len(tenant.sandbox.by_type()) == 6

    document = yaml.safe_load((files / "synapse-finance.yaml").read_text(encoding="utf-8"))
    tenant.sandbox.mark_setup_run(document["type"], document)
    tenant.sandbox.exchanges.clear()
    converges(tenant, run_cli, files, "Apply: 1 succeeded, 0 failed, 0 refused.")
    assert [e.method for e in tenant.sandbox.writes()] == ["POST"]


def test_a_create_error_fails_one_and_the_next_apply_repairs_it_with_put(
    tenant: Tenant, run_cli: RunCli, files: Path
) -> None:
    redshift = (files / "redshift-warehouse.yaml").read_text(encoding="utf-8")
    (files / "redshift-warehouse.yaml").unlink()
    first = run_cli("apply", "--auto-approve", str(files))
    assert first.exit_code == 0, first.stdout + first.stderr
    (files / "redshift-warehouse.yaml").write_text(redshift, encoding="utf-8")
    edit(files / "databricks-analytics.yaml", "deny: immuta_exempt", "deny: immuta_exempt_v2")
    tenant.sandbox.faults = Faults(rate_create_error=1.0)  # only Redshift is created in this run

    result = run_cli("apply", "--auto-approve", str(files))

    assert result.exit_code == 1, result.stdout + result.stderr
    assert "Apply: 1 succeeded, 1 failed, 0 refused." in result.stdout
    assert "  FAILED  create Redshift[" in result.stdout
    assert (
        "]: createError: creation failed in Immuta (RA3 Node Type: RA3 Node Type failed on the platform.)\n"
    ) in result.stdout  # Immuta's failed validation test, in its words
    assert tenant.sandbox.by_type()["Redshift"]["status"] == "createError"
    assert tenant.sandbox.by_type()["Databricks"]["config"]["groupPattern"]["deny"] == "immuta_exempt_v2"

    broken = tenant.sandbox.by_type()["Redshift"]["id"]
    tenant.sandbox.exchanges.clear()
    plan = run_cli("plan", str(files))
    assert "creation failed in Immuta (createError): repaired with PUT" in plan.stdout
    converges(tenant, run_cli, files, "Apply: 1 succeeded, 0 failed, 0 refused.")
    # docs/immuta-api.md §9.6: repaired with PUT, never deleted and created again
    assert [(e.method, e.path, e.status) for e in tenant.sandbox.writes()] == [("PUT", f"/integrations/{broken}", 200)]
    assert tenant.sandbox.by_type()["Redshift"]["status"] == "enabled"
    assert tenant.sandbox.by_type()["Redshift"]["id"] == broken


def test_an_edit_error_is_reported_as_rolled_back(tenant: Tenant, run_cli: RunCli, files: Path) -> None:
    (files / "trino.yaml").unlink()
    first = run_cli("apply", "--auto-approve", str(files))
    assert first.exit_code == 0, first.stdout + first.stderr
    (files / "trino.yaml").write_text("type: Trino\n", encoding="utf-8")
    edit(files / "snowflake-prod.yaml", "warehouse: IMMUTA_WH", "warehouse: IMMUTA_WH_XL")
    tenant.sandbox.faults = Faults(rate_edit_error=1.0)  # the Trino create succeeds, the Snowflake edit fails

    result = run_cli("apply", "--auto-approve", str(files))

    assert result.exit_code == 1, result.stdout + result.stderr
    assert "Apply: 1 succeeded, 1 failed, 0 refused." in result.stdout
    assert (
        f"  FAILED  update {SNOWFLAKE}: editError: the edit failed in Immuta, which rolled the integration back "
        "to its previous state\n"
    ) in result.stdout
    assert "  ok      create Trino (id " in result.stdout
    rolled_back = tenant.sandbox.by_type()["Snowflake"]
    assert (rolled_back["status"], rolled_back["config"]["warehouse"]) == ("editError", "IMMUTA_WH")

    converges(tenant, run_cli, files, "Apply: 1 succeeded, 0 failed, 0 refused.")
    assert tenant.sandbox.by_type()["Snowflake"]["config"]["warehouse"] == "IMMUTA_WH_XL"


def test_a_delete_error_is_reported_as_rolled_back(tenant: Tenant, run_cli: RunCli, files: Path) -> None:
    first = run_cli("apply", "--auto-approve", str(files))
    assert first.exit_code == 0, first.stdout + first.stderr
    (files / "trino.yaml").write_text("type: Trino\nensure: absent\n", encoding="utf-8")
    tenant.sandbox.faults = Faults(rate_delete_error=1.0)

    result = run_cli("apply", "--auto-approve", str(files))

    assert result.exit_code == 1, result.stdout + result.stderr
    assert (
        "  FAILED  delete Trino: deleteError: the delete failed in Immuta, which rolled the integration back "
        "to its previous state\n"
    ) in result.stdout
    assert tenant.sandbox.by_type()["Trino"]["status"] == "deleteError"

    converges(tenant, run_cli, files, "Apply: 1 succeeded, 0 failed, 0 refused.")
    assert "Trino" not in tenant.sandbox.by_type()
