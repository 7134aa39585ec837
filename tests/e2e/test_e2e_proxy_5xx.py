"""A write carried out, then a proxy's 502/504 instead of Immuta's answer (a gateway that gave up waiting):
apply finds out what happened instead of reporting it failed. A create is looked up by its natural key (never
posted twice), a PUT or DELETE is sent again and recognised as done. Over real HTTP, with the CLI."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from conftest import MakeTenant
from e2e_kit import SHIPPED_SECRETS, RunCli, Tenant, edit, tombstone

from reconciler.sandbox import Faults

pytestmark = pytest.mark.e2e

DATABRICKS = "Databricks[workspaceUrl=dbc-a1b2c3d4-e5f6.cloud.databricks.com]"


def no_secret_in(*texts: str) -> None:
    for value in SHIPPED_SECRETS.values():
        for text in texts:
            assert value not in text


def settled(run_cli: RunCli, files: Path) -> None:
    again = run_cli("plan", "--detailed-exitcode", str(files))
    assert again.exit_code == 0, again.stdout + again.stderr


@pytest.mark.parametrize("status", [502, 504])
def test_creates_performed_then_5xx_are_found_not_posted_again(
    make_tenant: MakeTenant, run_cli: RunCli, files: Path, status: int
) -> None:
    tenant = make_tenant(faults=Faults(rate_performed_then_5xx=1.0, performed_then_status=status))

    result = run_cli("apply", "--auto-approve", str(files))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Apply: 7 succeeded, 0 failed, 0 refused." in result.stdout
    assert "FAILED" not in result.stdout
    posts = [e for e in tenant.sandbox.writes() if e.method == "POST"]
    assert [e.status for e in posts] == [status] * 7  # each create was answered by the proxy, and posted once
    assert sorted(Counter(r["type"] for r in tenant.sandbox.list_integrations()).values()) == [1] * 7
    assert tenant.sandbox.faults_injected == 7
    tenant.sandbox.faults = Faults()
    settled(run_cli, files)
    no_secret_in(result.stdout, result.stderr)


def applied(tenant: Tenant, run_cli: RunCli, files: Path) -> None:
    first = run_cli("apply", "--auto-approve", str(files))
    assert first.exit_code == 0, first.stdout + first.stderr
    tenant.sandbox.exchanges.clear()


@pytest.mark.parametrize("status", [502, 504])
def test_an_update_performed_then_5xx_is_sent_again_and_succeeds(
    tenant: Tenant, run_cli: RunCli, files: Path, status: int
) -> None:
    applied(tenant, run_cli, files)
    edit(files / "databricks-analytics.yaml", "deny: immuta_exempt", "deny: immuta_exempt_v2")
    tenant.sandbox.faults = Faults(rate_performed_then_5xx=1.0, performed_then_status=status, max_faults=1)

    result = run_cli("apply", "--auto-approve", str(files))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Apply: 1 succeeded, 0 failed, 0 refused." in result.stdout
    assert f"  ok      update {DATABRICKS} (id " in result.stdout and "FAILED" not in result.stdout
    assert [(e.method, e.status) for e in tenant.sandbox.writes()] == [("PUT", status), ("PUT", 200)]
    assert tenant.sandbox.by_type()["Databricks"]["config"]["groupPattern"]["deny"] == "immuta_exempt_v2"
    settled(run_cli, files)
    no_secret_in(result.stdout, result.stderr)


@pytest.mark.parametrize("status", [502, 504])
def test_a_delete_performed_then_5xx_is_reported_done_not_failed(
    tenant: Tenant, run_cli: RunCli, files: Path, status: int
) -> None:
    applied(tenant, run_cli, files)
    tombstone(files / "databricks-analytics.yaml")
    tenant.sandbox.faults = Faults(rate_performed_then_5xx=1.0, performed_then_status=status, max_faults=1)

    result = run_cli("apply", "--auto-approve", str(files))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Apply: 1 succeeded, 0 failed, 0 refused." in result.stdout
    assert f"  ok      delete {DATABRICKS} (id " in result.stdout and "FAILED" not in result.stdout
    assert [(e.method, e.status) for e in tenant.sandbox.writes()] == [("DELETE", status), ("DELETE", 404)]
    assert "Databricks" not in tenant.sandbox.by_type()
    settled(run_cli, files)
    no_secret_in(result.stdout, result.stderr)
