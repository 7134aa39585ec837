"""Issue 15 over real HTTP: a host name written in another letter case (or with a final dot) is the same
integration — never a create plus a delete, with or without --prune — for every host-keyed type."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from e2e_kit import RunCli, Tenant

pytestmark = pytest.mark.e2e

HOST_KEYED = {
    "snowflake-prod.yaml": "host",
    "redshift-warehouse.yaml": "host",
    "synapse-finance.yaml": "host",
    "databricks-analytics.yaml": "workspaceUrl",
}


def shout(path: Path, field: str) -> str:
    """Write the file's host in upper case with a final dot, as copied from a console; answer the new value."""
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"^(  {field}: )(\S+)", text, flags=re.M)
    assert match is not None, path
    loud = match.group(2).upper() + "."
    path.write_text(text[: match.start(2)] + loud + text[match.end(2) :], encoding="utf-8")
    return loud


@pytest.mark.parametrize("prune", [False, True], ids=["without-prune", "with-prune"])
def test_a_host_in_another_case_is_the_same_integration(
    tenant: Tenant, run_cli: RunCli, files: Path, prune: bool
) -> None:
    created = run_cli("apply", "--auto-approve", str(files))
    assert created.exit_code == 0, created.stdout + created.stderr
    ids = {r["type"]: str(r["id"]) for r in tenant.sandbox.list_integrations()}
    writes = len(tenant.sandbox.writes())
    for name, field in HOST_KEYED.items():
        shout(files / name, field)
    flags = ["--prune"] if prune else []

    plan = run_cli("plan", "--detailed-exitcode", *flags, str(files))

    assert plan.exit_code == 0, plan.stdout + plan.stderr
    assert "Plan: 0 to create, 0 to update, 0 to replace, 0 to delete, 7 unchanged." in plan.stdout
    applied = run_cli("apply", "--auto-approve", *flags, str(files))
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert "No changes. Immuta already matches the files." in applied.stdout
    assert len(tenant.sandbox.writes()) == writes
    assert {r["type"]: str(r["id"]) for r in tenant.sandbox.list_integrations()} == ids


def test_an_exact_key_in_another_case_is_never_pruned_and_the_plan_says_what_to_change(
    tenant: Tenant, run_cli: RunCli, files: Path
) -> None:
    """S3 `name` compares exactly [A17]: `DATALAKE-PROD` is planned as a create, but the `datalake-prod` Immuta
    holds is shown as its twin and is never deleted, not even by --prune."""
    created = run_cli("apply", "--auto-approve", str(files))
    assert created.exit_code == 0, created.stdout + created.stderr
    before = {str(r["id"]) for r in tenant.sandbox.list_integrations()}
    s3 = files / "s3-datalake.yaml"
    s3.write_text(
        s3.read_text(encoding="utf-8").replace("name: datalake-prod", "name: DATALAKE-PROD"), encoding="utf-8"
    )

    plan = run_cli("plan", "--prune", str(files))

    assert plan.exit_code == 0, plan.stdout + plan.stderr
    assert "Plan: 1 to create, 0 to update, 0 to replace, 0 to delete, 6 unchanged." in plan.stdout
    [old_id] = [str(r["id"]) for r in tenant.sandbox.list_integrations() if r["type"] == "Native S3"]
    assert (
        f"  ? Native S3[name=datalake-prod]  (id {old_id}) — the same integration as Native S3[name=DATALAKE-PROD] "
        f"in {s3}, written differently? never deleted; to manage it, write its key in that file exactly as Immuta "
        "reports it\n"
    ) in plan.stdout
    assert (
        f"— Immuta holds Native S3[name=datalake-prod] (id {old_id}): the same integration written differently? "
        "write the key in this file exactly as Immuta reports it"
    ) in plan.stdout
    run_cli("apply", "--auto-approve", "--prune", str(files))
    assert before <= {str(r["id"]) for r in tenant.sandbox.list_integrations()}
    assert not [e for e in tenant.sandbox.writes() if e.method == "DELETE"]
