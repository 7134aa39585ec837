"""Every safety gate of apply, end to end over HTTP: each refusal exits 3 (or 1 for a missing secret), says
why, and leaves the tenant untouched — the simulator saw no POST, PUT or DELETE."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
import yaml
from conftest import MakeTenant
from e2e_kit import SHIPPED, RunCli, Tenant, edit, tombstone

pytestmark = pytest.mark.e2e

SNOWFLAKE = "Snowflake[host=acme.us-east-1.snowflakecomputing.com]"
REDSHIFT = "Redshift[host=warehouse.c1a2b3c4d5e6.us-east-1.redshift.amazonaws.com,database=immuta_warehouse]"


def applied(tenant: Tenant, run_cli: RunCli, files: Path | str) -> dict[str, str]:
    """Apply the files, then forget the requests so far; answers type → id."""
    result = run_cli("apply", "--auto-approve", str(files))
    assert result.exit_code == 0, result.stdout + result.stderr
    tenant.sandbox.exchanges.clear()
    return {t: r["id"] for t, r in tenant.sandbox.by_type().items()}


def assert_refused_untouched(tenant: Tenant, result: object, *lines: str) -> None:
    assert getattr(result, "exit_code", None) == 3, result
    stderr = getattr(result, "stderr", "")
    for line in lines:
        assert line in stderr, stderr
    assert tenant.sandbox.writes() == []


# -- pruning ---------------------------------------------------------------------------------------------


def test_an_orphan_is_deleted_only_with_prune(tenant: Tenant, run_cli: RunCli, files: Path) -> None:
    ids = applied(tenant, run_cli, files)
    (files / "trino.yaml").unlink()

    without = run_cli("apply", "--auto-approve", str(files))

    assert without.exit_code == 0, without.stderr
    assert f"  ? Trino  (id {ids['Trino']}) — no file declares it (use --prune to delete)\n" in without.stdout
    assert "No changes. Immuta already matches the files." in without.stdout
    assert tenant.sandbox.writes() == []
    assert tenant.sandbox.by_type()["Trino"]["id"] == ids["Trino"]

    pruned = run_cli("apply", "--auto-approve", "--prune", str(files))

    assert pruned.exit_code == 0, pruned.stdout + pruned.stderr
    assert [(e.method, e.path, e.body) for e in tenant.sandbox.writes()] == [
        ("DELETE", f"/integrations/{ids['Trino']}", None)
    ]
    assert "Trino" not in tenant.sandbox.by_type()
    again = run_cli("plan", "--prune", "--detailed-exitcode", str(files))
    assert again.exit_code == 0, again.stdout


def test_pruning_an_auto_bootstrapped_integration_needs_a_tombstone_with_credentials(
    tenant: Tenant, run_cli: RunCli, files: Path
) -> None:
    applied(tenant, run_cli, files)
    (files / "redshift-warehouse.yaml").unlink()

    result = run_cli("apply", "--auto-approve", "--prune", str(files))

    assert_refused_untouched(
        tenant,
        result,
        "refused: the plan was refused by a safety gate; nothing was changed:\n"
        f"  {REDSHIFT}: Immuta needs the privileged credentials (config.username, config.password) to delete "
        "an integration bootstrapped automatically; write a tombstone file (ensure: absent) that carries them "
        "as references\n",
    )


def test_a_tombstone_without_the_credentials_immuta_needs_is_refused_before_any_write(
    tenant: Tenant, run_cli: RunCli, files: Path
) -> None:
    applied(tenant, run_cli, files)
    tombstone(files / "redshift-warehouse.yaml")  # host and database only: no username, no password

    result = run_cli("apply", "--auto-approve", "--force", str(files))

    assert_refused_untouched(
        tenant,
        result,
        f"  {REDSHIFT}: Immuta needs the privileged credentials (config.username, config.password) to delete "
        f"an integration bootstrapped automatically; add them to {files / 'redshift-warehouse.yaml'} as references\n",
    )


# -- preventDestroy --------------------------------------------------------------------------------------


def test_prevent_destroy_blocks_a_delete_even_with_force(tenant: Tenant, run_cli: RunCli, files: Path) -> None:
    applied(tenant, run_cli, files)
    path = files / "snowflake-prod.yaml"
    tombstone(path, keep=("username", "password", "role"))
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump({**document, "lifecycle": {"preventDestroy": True}}, sort_keys=False))

    result = run_cli("apply", "--auto-approve", "--force", str(files))

    assert_refused_untouched(
        tenant,
        result,
        f"  {SNOWFLAKE} ({path}:5): lifecycle.preventDestroy forbids delete (tombstone (ensure: absent) in "
        f"{path}); remove preventDestroy from the file first\n",
    )
    assert "Snowflake" in tenant.sandbox.by_type()


def test_prevent_destroy_blocks_a_replace_even_with_force(tenant: Tenant, run_cli: RunCli, files: Path) -> None:
    ids = applied(tenant, run_cli, files)
    path = files / "snowflake-prod.yaml"
    edit(path, "database: IMMUTA_PROD", "database: IMMUTA_PROD_V2")

    result = run_cli("apply", "--auto-approve", "--force", "--max-destroy-share", "1", str(files))

    assert_refused_untouched(
        tenant,
        result,
        f"  {SNOWFLAKE} ({path}:20): lifecycle.preventDestroy forbids replace (immutable field changed: "
        "config.database); remove preventDestroy from the file first\n",
    )
    assert tenant.sandbox.by_type()["Snowflake"]["id"] == ids["Snowflake"]


# -- blast radius ----------------------------------------------------------------------------------------

BLAST = "refused: the plan was refused by a safety gate; nothing was changed:\n  the plan deletes or replaces"


def test_destroying_more_than_the_share_of_managed_integrations_needs_force(
    tenant: Tenant, run_cli: RunCli, files: Path
) -> None:
    applied(tenant, run_cli, files)
    for name in ("trino.yaml", "databricks-analytics.yaml", "bigquery-marketing.yaml"):
        tombstone(files / name)

    refused = run_cli("apply", "--auto-approve", str(files))

    assert_refused_untouched(
        tenant,
        refused,
        f"{BLAST} 3 of 7 managed integrations, more than 30%; re-run with --force if that is intended\n",
    )
    assert len(tenant.sandbox.by_type()) == 7

    forced = run_cli("apply", "--auto-approve", "--force", str(files))

    assert forced.exit_code == 0, forced.stdout + forced.stderr
    assert sorted(e.method for e in tenant.sandbox.writes()) == ["DELETE"] * 3
    assert sorted(tenant.sandbox.by_type()) == ["Azure Synapse Analytics", "Native S3", "Redshift", "Snowflake"]


def test_a_share_at_or_below_the_threshold_passes(tenant: Tenant, run_cli: RunCli, files: Path) -> None:
    applied(tenant, run_cli, files)
    for name in ("trino.yaml", "databricks-analytics.yaml"):  # 2 of 7 = 29%
        tombstone(files / name)

    result = run_cli("apply", "--auto-approve", str(files))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert len(tenant.sandbox.by_type()) == 5


def test_max_destroy_share_moves_the_threshold(tenant: Tenant, run_cli: RunCli, files: Path) -> None:
    applied(tenant, run_cli, files)
    for name in ("trino.yaml", "databricks-analytics.yaml"):
        tombstone(files / name)

    result = run_cli("apply", "--auto-approve", "--max-destroy-share", "0.2", str(files))

    assert_refused_untouched(
        tenant, result, f"{BLAST} 2 of 7 managed integrations, more than 20%; re-run with --force if that"
    )


def test_below_five_managed_integrations_the_share_does_not_apply(tenant: Tenant, run_cli: RunCli, files: Path) -> None:
    for name in ("snowflake-prod.yaml", "redshift-warehouse.yaml", "s3-datalake.yaml"):
        (files / name).unlink()
    applied(tenant, run_cli, files)  # 4 managed
    for name in ("trino.yaml", "databricks-analytics.yaml"):  # 50%
        tombstone(files / name)

    result = run_cli("apply", "--auto-approve", str(files))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert sorted(tenant.sandbox.by_type()) == ["Azure Synapse Analytics", "Google BigQuery"]


# -- approval --------------------------------------------------------------------------------------------


class Keyboard(io.StringIO):
    """A stdin that is (or is not) a terminal, with the answers typed in advance."""

    def __init__(self, typed: str, *, terminal: bool) -> None:
        super().__init__(typed)
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


def test_without_a_terminal_and_without_auto_approve_nothing_is_written(
    tenant: Tenant, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", Keyboard("y\n", terminal=False))

    result = run_cli("apply", str(SHIPPED))

    assert_refused_untouched(
        tenant,
        result,
        "refused: no terminal to ask for approval: pass --auto-approve, or apply a saved plan "
        "(reconciler plan --out FILE; reconciler apply FILE)\n",
    )
    assert tenant.sandbox.list_integrations() == []


@pytest.mark.parametrize(("answer", "code", "created"), [("n\n", 1, 0), ("y\n", 0, 7)])
def test_on_a_terminal_apply_asks(
    tenant: Tenant, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, answer: str, code: int, created: int
) -> None:
    monkeypatch.setattr(sys, "stdin", Keyboard(answer, terminal=True))

    result = run_cli("apply", str(SHIPPED))

    assert result.exit_code == code, result.stdout + result.stderr
    assert "Apply these changes? [y/N]" in result.stdout
    assert len(tenant.sandbox.list_integrations()) == created
    if not created:
        assert "Not applied." in result.stderr
        assert tenant.sandbox.writes() == []


# -- secrets ---------------------------------------------------------------------------------------------


def test_a_missing_secret_stops_the_run_before_any_request(
    tenant: Tenant, run_cli: RunCli, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SNOWFLAKE_ADMIN_PASSWORD")
    monkeypatch.delenv("S3_IMMUTA_SECRET_ACCESS_KEY")

    result = run_cli("apply", "--auto-approve", str(files))

    assert result.exit_code == 1, result.stdout + result.stderr
    assert result.stderr == (
        f"{files / 's3-datalake.yaml'}:23:3: $.config.awsSecretAccessKey: environment variable "
        "S3_IMMUTA_SECRET_ACCESS_KEY is not set\n"
        f"{files / 'snowflake-prod.yaml'}:26:3: $.config.password: environment variable SNOWFLAKE_ADMIN_PASSWORD "
        "is not set\n"
        "error: 2 variable(s) not set; nothing was changed\n"
    )
    assert tenant.sandbox.writes() == []
    assert tenant.sandbox.exchanges == []  # the files are read before Immuta is


# -- saved plans -----------------------------------------------------------------------------------------


def saved_plan(run_cli: RunCli, files: Path, out: Path) -> None:
    result = run_cli("plan", "--out", str(out), str(files))
    assert result.exit_code == 0, result.stdout + result.stderr


def test_a_fresh_saved_plan_applies_without_auto_approve(
    tenant: Tenant, run_cli: RunCli, files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan_file = tmp_path / "reviewed.plan"
    saved_plan(run_cli, files, plan_file)
    monkeypatch.setattr(sys, "stdin", Keyboard("", terminal=False))

    result = run_cli("apply", str(plan_file))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Apply: 7 succeeded, 0 failed, 0 refused." in result.stdout
    assert len(tenant.sandbox.by_type()) == 7
    settled = run_cli("plan", "--detailed-exitcode", str(files))
    assert settled.exit_code == 0


def test_a_saved_plan_never_applies_to_another_target(
    make_tenant: MakeTenant, run_cli: RunCli, files: Path, tmp_path: Path
) -> None:
    reviewed = make_tenant()
    plan_file = tmp_path / "reviewed.plan"
    saved_plan(run_cli, files, plan_file)
    other = make_tenant()  # IMMUTA_URL now names another tenant

    result = run_cli("apply", str(plan_file))

    assert_refused_untouched(
        other,
        result,
        f"refused: the saved plan {plan_file} is stale; plan again and review:\n"
        f"  the plan was made against {reviewed.url}; this run targets {other.url}\n",
    )
    assert reviewed.sandbox.writes() == []


def test_a_saved_plan_is_stale_once_a_file_changed(
    tenant: Tenant, run_cli: RunCli, files: Path, tmp_path: Path
) -> None:
    applied(tenant, run_cli, files)
    edit(files / "redshift-warehouse.yaml", "role: immuta_impersonation", "role: immuta_impersonation_v2")
    plan_file = tmp_path / "reviewed.plan"
    saved_plan(run_cli, files, plan_file)
    edit(files / "redshift-warehouse.yaml", "role: immuta_impersonation_v2", "role: immuta_impersonation_v3")

    result = run_cli("apply", str(plan_file))

    assert_refused_untouched(
        tenant,
        result,
        f"refused: the saved plan {plan_file} is stale; plan again and review:\n"
        f"  {REDSHIFT}: {files / 'redshift-warehouse.yaml'} changed since the plan\n",
    )


def test_a_saved_plan_is_stale_once_an_integration_changed_in_immuta(
    tenant: Tenant, run_cli: RunCli, files: Path, tmp_path: Path
) -> None:
    ids = applied(tenant, run_cli, files)
    edit(files / "redshift-warehouse.yaml", "role: immuta_impersonation", "role: immuta_impersonation_v2")
    plan_file = tmp_path / "reviewed.plan"
    saved_plan(run_cli, files, plan_file)
    tenant.sandbox.oob_edit(ids["Redshift"], "config.port", 5440)  # someone in the UI

    result = run_cli("apply", str(plan_file))

    assert_refused_untouched(
        tenant,
        result,
        f"refused: the saved plan {plan_file} is stale; plan again and review:\n"
        f"  {REDSHIFT} ({files / 'redshift-warehouse.yaml'}): changed in Immuta since the plan "
        f"(id {ids['Redshift']})\n",
    )


def test_a_saved_plan_is_checked_again_just_before_each_write(
    tenant: Tenant, run_cli: RunCli, files: Path, tmp_path: Path
) -> None:
    ids = applied(tenant, run_cli, files)
    edit(files / "redshift-warehouse.yaml", "role: immuta_impersonation", "role: immuta_impersonation_v2")
    edit(files / "databricks-analytics.yaml", "deny: immuta_exempt", "deny: immuta_exempt_v2")
    plan_file = tmp_path / "reviewed.plan"
    saved_plan(run_cli, files, plan_file)
    # Someone edits Redshift in the UI after apply read the list, before it writes.
    tenant.sandbox.after_list = lambda: tenant.sandbox.oob_edit(ids["Redshift"], "config.port", 5440)

    result = run_cli("apply", str(plan_file))

    assert result.exit_code == 3, result.stdout + result.stderr
    assert "Apply: 1 succeeded, 0 failed, 1 refused." in result.stdout
    assert (
        f"  REFUSED update {REDSHIFT}: changed in Immuta since the plan (id {ids['Redshift']}; declared in "
        f"{files / 'redshift-warehouse.yaml'}): plan again and review\n"
    ) in result.stdout
    assert [(e.method, e.path) for e in tenant.sandbox.writes()] == [("PUT", f"/integrations/{ids['Databricks']}")]
    assert tenant.sandbox.by_type()["Redshift"]["config"]["port"] == 5440  # the UI's edit stands
