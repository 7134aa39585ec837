"""Integrations that belong to connections are never written (issue 21, docs/immuta-api.md §10), over real HTTP.

The simulator registers Snowflake, Databricks (both C4 spellings) and Trino connections with their native
integrations, in the connection dialects of §10.6. Every test ends by asserting the simulator's record of
writes: none reached an integration behind a connection (`connection_writes`), whatever the files, --prune,
--target or a saved plan asked for.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import MakeTenant
from e2e_kit import RunCli, Tenant
from pairwise import all_pairs

from reconciler.sandbox.dialects import SWITCH_BY_NAME, Dialect
from reconciler.sandbox.seeding import add_connection, connection_writes

SNOWFLAKE_HOST = "acme.us-east-1.snowflakecomputing.com"  # the shipped snowflake-prod.yaml's
WORKSPACE = "dbc-a1b2c3d4-e5f6.cloud.databricks.com"  # the shipped databricks-analytics.yaml's
OTHER_TYPES = ("bigquery-marketing.yaml", "redshift-warehouse.yaml", "s3-datalake.yaml", "synapse-finance.yaml")
CONNECTION_FILES = ("snowflake-prod.yaml", "databricks-analytics.yaml", "trino.yaml")


CONNECTION_SWITCHES = ("search_paging", "search_answer", "object_path", "databricks_key", "connection_writes")
PAIRS = [
    {name: value for name, value in row.items() if value != Dialect()[name]}
    for row in all_pairs([SWITCH_BY_NAME[name] for name in (*CONNECTION_SWITCHES, "native_ids", "ids")])
]


def snowflake(host: str) -> dict[str, Any]:
    config = {"host": host, "warehouse": "W", "database": "IMMUTA", "authenticationType": "userPassword"}
    return {"type": "Snowflake", "autoBootstrap": False, "config": config | {"username": "u", "password": "p"}}


def databricks(workspace: str) -> dict[str, Any]:
    config = {"workspaceUrl": workspace, "httpPath": "/sql/1", "authenticationType": "token", "token": "t"}
    return {"type": "Databricks", "autoBootstrap": False, "config": config | {"catalog": "immuta_conn"}}


def seed(tenant: Tenant, *, snowflake_host: str, workspace: str, glue: int = 0) -> dict[str, str | None]:
    """Three connection-backed integrations (and `glue` connections with none): their ids by connection key."""
    sandbox = tenant.sandbox
    ids = {
        "snow_prod": add_connection(sandbox, "snow_prod", "Snowflake", snowflake(snowflake_host)),
        "dbx_main": add_connection(sandbox, "dbx_main", "Databricks", databricks(workspace)),
        "trino_sb": add_connection(sandbox, "trino_sb", "Trino", {"type": "Trino"}),
    }
    for number in range(glue):
        add_connection(sandbox, f"glue_{number:02d}", "Glue")
    sandbox.reset_requests()
    return ids


def only(files: Path, names: tuple[str, ...]) -> Path:
    for path in files.iterdir():
        if path.name not in names:
            path.unlink()
    return files


def no_connection_writes(tenant: Tenant) -> None:
    assert connection_writes(tenant.sandbox) == []


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("file", "dialect", "expected"),
    [
        ("snowflake-prod.yaml", {}, f"Snowflake[host={SNOWFLAKE_HOST}]"),
        ("databricks-analytics.yaml", {}, f"Databricks[workspaceUrl={WORKSPACE}]"),
        ("databricks-analytics.yaml", {"databricks_key": "host"}, f"Databricks[workspaceUrl={WORKSPACE}]"),
        ("trino.yaml", {"native_ids": "string"}, "Trino"),
    ],
    ids=["snowflake", "databricks-workspaceUrl", "databricks-host", "trino"],
)
def test_a_file_naming_a_connection_backed_integration_is_refused_before_any_write(
    make_tenant: MakeTenant, run_cli: RunCli, files: Path, file: str, dialect: dict[str, str], expected: str
) -> None:
    tenant = make_tenant(dialect=Dialect.of(dialect))
    seed(tenant, snowflake_host=SNOWFLAKE_HOST, workspace=WORKSPACE)
    path = str(files / file)
    for args in (
        ("plan", str(files)),
        ("plan", str(files), "--target", path),
        ("apply", str(files), "--auto-approve"),
        ("apply", path, "--auto-approve", "--target", path),
        ("apply", str(files), "--auto-approve", "--rotate", path),
        ("scripts", str(files), "--prune", "--out", str(files.parent / "scripts")),
    ):
        result = run_cli(*args)
        assert result.exit_code == 3, (args, result.stdout, result.stderr)
        assert f"{expected} is integration " in result.stderr
        assert "connection-managed (read-only): it belongs to connection" in result.stderr
        assert "Manage it as a connection in Immuta" in result.stderr
        assert f"{file}:" in result.stderr  # located
    assert tenant.sandbox.writes() == []  # nothing at all was written, not even the other files
    no_connection_writes(tenant)


@pytest.mark.e2e
@pytest.mark.parametrize(
    "dialect",
    # Every pair of values of the connection switches (C1 to C4, C7, C8) and `ids` [A8]: tests/e2e/pairwise.py.
    PAIRS,
    ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()) or "defaults",
)
def test_connection_backed_integrations_are_read_only_everywhere(
    make_tenant: MakeTenant, run_cli: RunCli, files: Path, tmp_path: Path, dialect: dict[str, str]
) -> None:
    tenant = make_tenant(dialect=Dialect.of(dialect))
    ids = seed(tenant, snowflake_host="conn.snowflakecomputing.com", workspace="dbc-conn.cloud.databricks.com", glue=12)
    files = only(files, OTHER_TYPES)
    assert run_cli("apply", str(files), "--auto-approve").exit_code == 0
    read_only = [
        "connection-managed (read-only): Databricks[workspaceUrl=dbc-conn.cloud.databricks.com] "
        f"(id {ids['dbx_main']}) belongs to connection dbx_main; manage it through the connection.",
        f"connection-managed (read-only): Snowflake[host=conn.snowflakecomputing.com] (id {ids['snow_prod']}) "
        "belongs to connection snow_prod; manage it through the connection.",
        f"connection-managed (read-only): Trino (id {ids['trino_sb']}) belongs to connection trino_sb; manage it "
        "through the connection.",
    ]
    # plan, pruning: nothing to delete, each shown read-only with its connection, in every format
    text = run_cli("plan", str(files), "--prune", "--detailed-exitcode")
    assert text.exit_code == 0, text.stdout + text.stderr
    for line in read_only:
        assert f"Note: {line}" in text.stdout
    assert "to DELETE" not in text.stdout
    document = json.loads(run_cli("plan", str(files), "--prune", "--format", "json").stdout)
    assert [n for n in document["notes"] if n.startswith("connection-managed")] == read_only
    assert document["summary"]["delete"] == 0 and document["summary"]["orphan"] == 0
    markdown = run_cli("plan", str(files), "--prune", "--format", "markdown").stdout
    escaped = [line.replace("[", "\\[").replace("]", "\\]").replace("_", "\\_") for line in read_only]
    assert all(f"> **Note:** {line}" in markdown for line in escaped), markdown
    # apply --prune and a saved pruning plan delete nothing
    assert run_cli("apply", str(files), "--prune", "--auto-approve").exit_code == 0
    saved = tmp_path / "prune.plan"
    assert run_cli("plan", str(files), "--prune", "--out", str(saved)).exit_code == 0
    assert run_cli("apply", str(saved), "--prune").exit_code == 0
    # drift: never "created outside Git"
    drift = run_cli("drift", str(files))
    assert drift.exit_code == 0, drift.stdout
    assert "created outside Git" not in drift.stdout
    assert all(f"Note: {line}" in drift.stdout for line in read_only)
    # export: never an ordinary managed file
    out = tmp_path / "exported"
    exported = run_cli("export", "--out", str(out))
    assert exported.exit_code == 0, exported.stderr
    names = sorted(p.name.split("-")[0] for p in out.iterdir() if p.suffix == ".yaml")
    assert names == ["azure", "google", "native", "redshift"]
    assert all(f"not exported: {line}" in exported.stderr for line in read_only)
    # doctor names them
    doctor = run_cli("doctor")
    assert doctor.exit_code == 0, doctor.stdout
    assert "ok   connections: 15 connection(s); 3 integration(s) behind them are connection-managed" in doctor.stdout
    assert all(line in doctor.stdout for line in read_only)
    assert {record["type"] for record in tenant.sandbox.list_integrations()} >= {"Snowflake", "Databricks", "Trino"}
    no_connection_writes(tenant)


@pytest.mark.e2e
def test_a_saved_plan_made_before_the_connection_is_refused(
    tenant: Tenant, run_cli: RunCli, files: Path, tmp_path: Path
) -> None:
    """A plan saved while the Snowflake integration was an orphan to prune; then it became a connection's."""
    orphan = tenant.sandbox.oob_add(snowflake("later.snowflakecomputing.com"))
    files = only(files, OTHER_TYPES)
    saved = tmp_path / "prune.plan"
    planned = run_cli("plan", str(files), "--prune", "--out", str(saved))
    assert f"- Snowflake[host=later.snowflakecomputing.com]  (id {orphan})" in planned.stdout
    add_connection(tenant.sandbox, "snow_late", "Snowflake", native_id=orphan)
    tenant.sandbox.reset_requests()
    result = run_cli("apply", str(saved), "--prune")
    assert result.exit_code == 3, result.stdout + result.stderr
    assert "stale" in result.stderr
    assert tenant.sandbox.writes() == []
    no_connection_writes(tenant)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("error", "POST /data/object/search → 500"),
        ("unauthorized", "POST /data/object/search → 401"),
        ("forbidden", "POST /data/object/search → 403"),
        ("timeout", "POST /data/object/search"),
        ("dropped", "POST /data/object/search"),
        ("garbled", "neither {count, hits} nor a list of data objects"),
        ("short", "`count` is 8 but the page at offset 3 is empty"),
    ],
)
def test_when_discovery_fails_no_connection_type_is_written(
    make_tenant: MakeTenant,
    run_cli: RunCli,
    files: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    reason: str,
) -> None:
    monkeypatch.setenv("IMMUTA_TIMEOUT", "2")
    tenant = make_tenant(dialect=Dialect.of({"data_api": mode}))
    seed(tenant, snowflake_host="conn.snowflakecomputing.com", workspace="dbc-conn.cloud.databricks.com")
    orphan = tenant.sandbox.oob_add(snowflake("orphan.snowflakecomputing.com"))
    tenant.sandbox.reset_requests()
    result = run_cli("apply", str(files), "--prune", "--auto-approve")
    output = result.stdout + result.stderr
    assert result.exit_code == 1, output  # the other types applied; three files wait for the connections
    assert (
        "error: 3 file(s) not applied: the tenant's connections could not be checked (see the notes)" in result.stderr
    )
    assert "Connections could not be checked (" in result.stdout and reason in result.stdout
    assert "no Snowflake, Databricks or Trino integration is written or deleted in this run." in result.stdout
    assert (
        f"Not planned, ownership unknown: {files / 'snowflake-prod.yaml'} (Snowflake[host={SNOWFLAKE_HOST}])."
        in result.stdout
    )
    written = {(e.method, e.path) for e in tenant.sandbox.writes()}
    posted = [e.body["type"] for e in tenant.sandbox.writes() if e.method == "POST"]
    assert sorted(posted) == ["Azure Synapse Analytics", "Google BigQuery", "Native S3", "Redshift"]
    assert ("DELETE", f"/integrations/{orphan}") not in written  # an orphan of a connection type is not pruned
    assert all(method == "POST" for method, _ in written)
    assert (
        f"Note: ownership unknown (read-only in this run): Snowflake[host=orphan.snowflakecomputing.com] (id {orphan}) "
        "may belong to a connection; left alone in this run." in result.stdout
    )
    doctor = run_cli("doctor")
    assert doctor.exit_code == 1
    assert "FAIL connections: could not be checked (" in doctor.stdout
    assert "plan and apply will not write Snowflake, Databricks or Trino" in doctor.stdout
    no_connection_writes(tenant)


@pytest.mark.e2e
def test_a_tenant_without_the_data_api_plans_as_before_and_says_so_once(
    make_tenant: MakeTenant, run_cli: RunCli, files: Path
) -> None:
    tenant = make_tenant(dialect=Dialect.of({"data_api": "absent"}))
    result = run_cli("apply", str(files), "--auto-approve")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert len(tenant.sandbox.list_integrations()) == 7
    plan = run_cli("plan", str(files), "--detailed-exitcode")
    assert plan.exit_code == 0
    note = "Note: Connections not checked: this tenant has no connections API (/data answered 404)."
    assert plan.stdout.count(note) == 1
    assert "legacy" not in plan.stderr  # not known to be SaaS
    no_connection_writes(tenant)


@pytest.mark.e2e
def test_a_create_on_a_connections_platform_account_is_refused_and_a_dangling_connection_reported(
    tenant: Tenant, run_cli: RunCli, files: Path
) -> None:
    add_connection(tenant.sandbox, "snow_gone", "Snowflake", native_id="99", connection={"hostname": SNOWFLAKE_HOST})
    result = run_cli("apply", str(files), "--auto-approve")
    assert result.exit_code == 3
    assert (
        f"Snowflake[host={SNOWFLAKE_HOST}] is on the platform account of connection snow_gone: Immuta allows one "
        "integration per account, and this one is the connection's. Manage it as a connection." in result.stderr
    )
    assert tenant.sandbox.writes() == []
    only(files, OTHER_TYPES)
    plan = run_cli("plan", str(files))
    assert (
        "Note: Connection snow_gone names integration 99, which Immuta does not list: it is dangling; nothing is "
        "created in its place." in plan.stdout
    )
    no_connection_writes(tenant)


@pytest.mark.e2e
def test_snowflake_and_databricks_files_on_a_saas_tenant_are_warned_legacy(
    tenant: Tenant, run_cli: RunCli, files: Path
) -> None:
    """SaaS (C5): the connections API answers, and lists a connection (or the URL is on immuta.com)."""
    assert "legacy" not in run_cli("plan", str(files)).stderr  # 127.0.0.1, no connection: not known as SaaS
    add_connection(tenant.sandbox, "glue_lake", "Glue")
    result = run_cli("plan", str(files))
    assert result.exit_code == 0
    warned = [line for line in result.stderr.splitlines() if "legacy on SaaS" in line]
    assert len(warned) == 2
    assert any("snowflake-prod.yaml" in line and "/integrations workflow for Snowflake" in line for line in warned)
    assert any("databricks-analytics.yaml" in line and "for Databricks legacy" in line for line in warned)
    assert all("docs/immuta-api.md §9.2" in line for line in warned)
    no_connection_writes(tenant)


@pytest.mark.e2e
def test_connections_can_be_seeded_from_a_state_file(tmp_path: Path, run_cli: RunCli, files: Path) -> None:
    state = tmp_path / "state.json"
    document = {
        "format_version": 1,
        "next_id": 2,
        "integrations": {"1": {"id": "1", "type": "Trino", "status": "enabled", "connection": "trino_sb"}},
        "connections": {"trino_sb": {"technology": "Trino", "nativeIntegrationId": "1", "connection": {}}},
    }
    state.write_text(json.dumps(document), encoding="utf-8")
    shutil.copy(files / "trino.yaml", tmp_path / "trino.yaml")
    result = run_cli("plan", str(tmp_path / "trino.yaml"), "--sandbox", "--sandbox-state", str(state))
    assert result.exit_code == 3, result.stdout + result.stderr
    assert "Trino is integration 1, connection-managed (read-only): it belongs to connection trino_sb" in (
        result.stderr
    )
    assert yaml.safe_load((tmp_path / "trino.yaml").read_text())["type"] == "Trino"
