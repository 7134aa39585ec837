"""Manual bootstrap (issue 7): `reconciler scripts`, the plan's marker, apply's 422 hint, and the flows.

The per-platform sequences run the CLI against the embedded sandbox (`--sandbox --sandbox-state FILE`);
integrations that already exist are put into that state file out of band. The end-to-end flows serve a
simulator that requires the manual setup (`require_manual_setup=True`) and point the CLI at it through
IMMUTA_URL, because `--sandbox` runs build their simulator without that switch.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.sandbox import Sandbox, SandboxRequest, start_server

SECRET = "s3cr3t-Pa55w0rd-that-must-never-print"
KEY = "scripts-test-key"
RunCli = Callable[..., Any]  # the `run_cli` fixture of conftest.py
CliResult = Any  # what it answers: exit_code, stdout, stderr

SNOWFLAKE: dict[str, Any] = {
    "type": "Snowflake",
    "autoBootstrap": False,
    "config": {
        "host": "acme.us-east-1.snowflakecomputing.com",
        "warehouse": "IMMUTA_WH",
        "database": "IMMUTA_MANUAL",
        "authenticationType": "userPassword",
        "username": "IMMUTA_SYSTEM",
        "password": "${env:MANUAL_PASSWORD}",
    },
}
DATABRICKS: dict[str, Any] = {
    "type": "Databricks",
    "autoBootstrap": False,
    "config": {
        "workspaceUrl": "dbc-1234.cloud.databricks.com",
        "httpPath": "/sql/1.0/warehouses/abc",
        "authenticationType": "token",
        "token": "${env:MANUAL_PASSWORD}",
        "catalog": "immuta_manual",
    },
}
REDSHIFT: dict[str, Any] = {
    "type": "Redshift",
    "autoBootstrap": False,
    "config": {
        "host": "wh.abc.us-east-1.redshift.amazonaws.com",
        "database": "immuta_manual",
        "authenticationType": "userPassword",
        "username": "immuta_system",
        "password": "${env:MANUAL_PASSWORD}",
    },
}
SYNAPSE: dict[str, Any] = {
    "type": "Azure Synapse Analytics",
    "autoBootstrap": False,
    "config": {
        "host": "finance-ws.sql.azuresynapse.net",
        "database": "finance_dw",
        "schema": "immuta",
        "authenticationType": "userPassword",
        "username": "immuta_system",
        "password": "${env:MANUAL_PASSWORD}",
    },
}
BIGQUERY: dict[str, Any] = {
    "type": "Google BigQuery",
    "autoBootstrap": False,
    "config": {
        "role": "immuta_marketing",
        "datasetSuffix": "_secure",
        "dataset": "immuta_marketing",
        "location": "us-east1",
        "credential": "${env:MANUAL_PASSWORD}",
    },
}
S3: dict[str, Any] = {
    "type": "Native S3",
    "autoBootstrap": False,
    "config": {
        "name": "datalake-manual",
        "awsAccountId": "123456789012",
        "awsRegion": "us-east-1",
        "awsLocationRole": "arn:aws:iam::123456789012:role/immuta-location",
        "awsLocationPath": "s3://acme-manual/",
        "authenticationType": "accessKey",
        "awsAccessKeyId": "${env:MANUAL_PASSWORD}",
        "awsSecretAccessKey": "${env:MANUAL_PASSWORD}",
    },
}
SNOWFLAKE_AUTO: dict[str, Any] = {
    "type": "Snowflake",
    "autoBootstrap": True,
    "config": {**SNOWFLAKE["config"], "host": "auto.us-east-1.snowflakecomputing.com", "role": "ACCOUNTADMIN"},
}


@pytest.fixture(autouse=True)
def _secret_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MANUAL_PASSWORD", SECRET)
    monkeypatch.chdir(tmp_path)


def write_doc(folder: Path, name: str, document: Mapping[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(dict(document), sort_keys=False), encoding="utf-8")
    return path


def resolved(document: Mapping[str, Any]) -> dict[str, Any]:
    """The payload with `${env:MANUAL_PASSWORD}` replaced, as an out-of-band add would send it."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items() if k not in ("ensure", "lifecycle")}
        return SECRET if value == "${env:MANUAL_PASSWORD}" else value

    result: dict[str, Any] = walk(dict(document))
    return result


def tombstone(document: Mapping[str, Any]) -> dict[str, Any]:
    """The smallest tombstone: the type and the natural-key fields, no secret."""
    keys = {
        "Azure Synapse Analytics": ("host", "database", "schema"),
        "Redshift": ("host", "database"),
        "Snowflake": ("host",),
    }[document["type"]]
    return {"type": document["type"], "ensure": "absent", "config": {k: document["config"][k] for k in keys}}


def assert_no_secret(*results: CliResult) -> None:
    for result in results:
        assert SECRET not in result.stdout
        assert SECRET not in result.stderr


def stages(out: Path) -> list[str]:
    """The script files' names without the number: `<stem>.<stage>.sql`, in file order."""
    return [p.name.split("-", 1)[1] for p in sorted(out.glob("*.sql"))]


def run_scripts(run_cli: RunCli, state: Path, out: Path, *paths: Path) -> CliResult:
    result = run_cli("scripts", *map(str, paths), "--out", str(out), "--sandbox", "--sandbox-state", str(state))
    assert result.exit_code == 0, result.stderr
    assert_no_secret(result)
    return result


# -- each platform's sequence ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (SNOWFLAKE, ["snowflake.create.sql"]),
        (DATABRICKS, ["databricks.create.sql"]),
        (REDSHIFT, ["redshift.initial-create.sql", "redshift.create.sql"]),
        (SYNAPSE, ["synapse.initial-create.sql", "synapse.create.sql"]),
        (BIGQUERY, ["bigquery.create.sql"]),
        (S3, ["s3.create.sql"]),
    ],
    ids=["snowflake", "databricks", "redshift", "synapse", "bigquery", "s3"],
)
def test_create_sequence_per_platform(
    run_cli: RunCli, tmp_path: Path, document: dict[str, Any], expected: list[str]
) -> None:
    name = expected[0].split(".")[0]
    file = write_doc(tmp_path / "d", name, document)
    out = tmp_path / "out"
    result = run_scripts(run_cli, tmp_path / "state.json", out, file)
    assert stages(out) == expected
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{i:02d}-{n}" for i, n in enumerate(expected, start=1)] + ["README.md", ".gitignore"]
    )
    # Scripts may embed credentials: git never picks them up with the rest of the repository.
    assert (out / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    for index, stage_file in enumerate(expected, start=1):
        assert f"{index:02d}-{stage_file}" in result.stdout
    assert f"Wrote {len(expected)} script(s)" in result.stdout


def test_script_contents_name_the_platform_resources(run_cli: RunCli, tmp_path: Path) -> None:
    files = [write_doc(tmp_path / "d", "snowflake", SNOWFLAKE), write_doc(tmp_path / "d", "databricks", DATABRICKS)]
    out = tmp_path / "out"
    result = run_scripts(run_cli, tmp_path / "state.json", out, *files)
    contents = {p.name: p.read_text(encoding="utf-8") for p in out.glob("*.sql")}
    snowflake = next(text for name, text in contents.items() if "snowflake" in name)
    databricks = next(text for name, text in contents.items() if "databricks" in name)
    assert "IMMUTA_MANUAL" in snowflake and "IMMUTA_WH" in snowflake
    assert "immuta_manual" in databricks
    for text in contents.values():  # the contents are in the files only, never printed
        for line in text.splitlines():
            if line.strip() and not line.startswith("--"):
                assert line not in result.stdout and line not in result.stderr


def test_auto_bootstrap_integrations_need_no_script(run_cli: RunCli, tmp_path: Path) -> None:
    file = write_doc(tmp_path / "d", "auto", SNOWFLAKE_AUTO)
    out = tmp_path / "out"
    result = run_scripts(run_cli, tmp_path / "state.json", out, file)
    assert "No planned change needs a setup script." in result.stdout
    assert not out.exists()


def test_nothing_planned_means_no_script(run_cli: RunCli, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    file = write_doc(tmp_path / "d", "snowflake", SNOWFLAKE)
    Sandbox(state_file=state).oob_add(resolved(SNOWFLAKE))
    result = run_scripts(run_cli, state, tmp_path / "out", file)
    assert "No planned change needs a setup script." in result.stdout


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (SNOWFLAKE, ["snowflake.delete.sql"]),
        (DATABRICKS, ["databricks.delete.sql"]),
        (REDSHIFT, ["redshift.delete.sql"]),
        (SYNAPSE, ["synapse.delete.sql", "synapse.post-cleanup.sql"]),
        (BIGQUERY, ["bigquery.delete.sql"]),
        (S3, ["s3.delete.sql"]),
    ],
    ids=["snowflake", "databricks", "redshift", "synapse", "bigquery", "s3"],
)
def test_delete_sequence_per_platform(
    run_cli: RunCli, tmp_path: Path, document: dict[str, Any], expected: list[str]
) -> None:
    state = tmp_path / "state.json"
    Sandbox(state_file=state).oob_add(resolved(document))
    name = expected[0].split(".")[0]
    file = write_doc(tmp_path / "d", name, {**document, "ensure": "absent"})
    out = tmp_path / "out"
    run_scripts(run_cli, state, out, file)
    assert stages(out) == expected
    readme = (out / "README.md").read_text(encoding="utf-8")
    if len(expected) == 2:
        assert "| 1 | `01-synapse.delete.sql`" in readme
        assert "| 2 | `02-synapse.post-cleanup.sql`" in readme
        post = next(line for line in readme.splitlines() if "post-cleanup" in line)
        assert "after `reconciler apply` has deleted the integration" in post
    delete = next(line for line in readme.splitlines() if ".delete.sql" in line)
    assert "before `reconciler apply`" in delete


@pytest.mark.parametrize(
    ("document", "expected"),
    [(REDSHIFT, ["delete"]), (SYNAPSE, ["delete", "post-cleanup"])],
    ids=["redshift", "synapse"],
)
def test_pruned_delete_of_a_manual_integration_has_its_scripts(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, document: dict[str, Any], expected: list[str]
) -> None:
    """No file at all: only what Immuta reports is known (no secret), and that is enough for the scripts."""
    monkeypatch.chdir(tmp_path)  # --prune runs over the whole declared desired state: integrations.d
    state = tmp_path / "state.json"
    Sandbox(state_file=state).oob_add(resolved(document))
    folder = tmp_path / "integrations.d"
    write_doc(folder, "other", SNOWFLAKE_AUTO)
    out = tmp_path / "out"
    without = run_scripts(run_cli, state, out, folder)
    assert "No planned change needs a setup script." in without.stdout
    result = run_cli("scripts", str(folder), "--prune", "--out", str(out), "--sandbox", "--sandbox-state", str(state))
    assert result.exit_code == 0, result.stderr
    assert [name.split(".")[-2] for name in stages(out)] == expected


def test_minimal_tombstone_of_a_manual_synapse_has_both_cleanup_scripts(run_cli: RunCli, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    Sandbox(state_file=state).oob_add(resolved(SYNAPSE))
    file = write_doc(tmp_path / "d", "synapse", tombstone(SYNAPSE))
    out = tmp_path / "out"
    run_scripts(run_cli, state, out, file)
    assert stages(out) == ["synapse.delete.sql", "synapse.post-cleanup.sql"]
    assert "DROP LOGIN [immuta_system]" in (out / "02-synapse.post-cleanup.sql").read_text(encoding="utf-8")


# -- after a failed create (createError): the cleanup script ------------------------------------------------


@pytest.mark.parametrize(
    ("document", "expected"),
    [(SNOWFLAKE, ["snowflake.edit.sql"]), (SNOWFLAKE_AUTO, []), (SYNAPSE, ["synapse.edit.sql"])],
    ids=["manual", "auto", "synapse"],
)
def test_a_failed_create_still_declared_is_repaired_with_put_and_gets_no_cleanup_script(
    run_cli: RunCli, tmp_path: Path, document: dict[str, Any], expected: list[str]
) -> None:
    """Contract §9.6: Immuta says to repair it with PUT, so nothing is removed from the platform."""
    state = tmp_path / "state.json"
    sandbox = Sandbox(state_file=state)
    sandbox.oob_set_status(sandbox.oob_add(resolved(document)), "createError")
    file = write_doc(tmp_path / "d", "synapse" if document is SYNAPSE else "snowflake", document)
    out = tmp_path / "out"
    run_scripts(run_cli, state, out, file)
    assert stages(out) == expected


@pytest.mark.parametrize(
    ("document", "ensure", "expected"),
    [
        (SNOWFLAKE, "absent", ["snowflake.cleanup.sql"]),
        (SYNAPSE, "absent", ["synapse.cleanup.sql", "synapse.post-cleanup.sql"]),
    ],
    ids=["manual-tombstone", "synapse-tombstone"],
)
def test_an_integration_whose_create_failed_gets_the_cleanup_script(
    run_cli: RunCli, tmp_path: Path, document: dict[str, Any], ensure: str, expected: list[str]
) -> None:
    state = tmp_path / "state.json"
    sandbox = Sandbox(state_file=state)
    sandbox.oob_set_status(sandbox.oob_add(resolved(document)), "createError")
    name = expected[0].split(".")[0]
    file = write_doc(tmp_path / "d", name, document if ensure == "present" else tombstone(document))
    out = tmp_path / "out"

    run_scripts(run_cli, state, out, file)

    assert stages(out) == expected
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert f"| 1 | `01-{name}.cleanup.sql` | `" in readme
    assert (
        "A `cleanup` script removes what a failed create left on the platform (Immuta reports the integration\n"
        "in `createError`); run it before `reconciler apply` deletes or re-creates the integration."
    ) in readme


def test_a_tombstone_of_a_failed_databricks_create_gets_its_cleanup_script(run_cli: RunCli, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    sandbox = Sandbox(state_file=state)
    sandbox.oob_set_status(sandbox.oob_add(resolved(DATABRICKS)), "createError")
    file = write_doc(tmp_path / "d", "databricks", {**DATABRICKS, "ensure": "absent"})
    out = tmp_path / "out"

    run_scripts(run_cli, state, out, file)

    assert stages(out) == ["databricks.cleanup.sql"]
    assert "DROP CATALOG IF EXISTS `immuta_manual` CASCADE;" in (out / "01-databricks.cleanup.sql").read_text(
        encoding="utf-8"
    )


def test_sandbox_cleanup_scripts_need_no_secret_but_setup_scripts_do() -> None:
    """The sandbox's payload script endpoints: a cleanup removes what exists and its caller may not hold
    the secrets any more (GET never returns them); a setup script is asked for with the create payload."""
    payload = {**SYNAPSE, "config": {k: v for k, v in SYNAPSE["config"].items() if k != "password"}}
    sandbox = Sandbox(api_key=KEY)
    for stage, status in [("post-cleanup", 200), ("cleanup", 200), ("create", 400), ("initial-create", 400)]:
        request = SandboxRequest(
            "POST", f"/integrations/scripts/{stage}", {"authorization": KEY}, json.dumps(payload).encode()
        )
        answer = sandbox.handle(request)
        assert answer.status == status, (stage, answer.body)
        if status == 400:
            assert json.loads(answer.body)["message"] == '"config.password" is required'


def test_update_of_a_manual_integration_has_an_edit_script(run_cli: RunCli, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    Sandbox(state_file=state).oob_add(resolved(SNOWFLAKE))
    changed = {**SNOWFLAKE, "config": {**SNOWFLAKE["config"], "warehouse": "OTHER_WH"}}
    file = write_doc(tmp_path / "d", "snowflake", changed)
    out = tmp_path / "out"
    run_scripts(run_cli, state, out, file)
    assert stages(out) == ["snowflake.edit.sql"]
    assert "OTHER_WH" in (out / "01-snowflake.edit.sql").read_text(encoding="utf-8")


def test_update_of_an_auto_bootstrap_integration_has_no_script(run_cli: RunCli, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    Sandbox(state_file=state).oob_add(resolved(SNOWFLAKE_AUTO))
    changed = {**SNOWFLAKE_AUTO, "config": {**SNOWFLAKE_AUTO["config"], "warehouse": "OTHER_WH"}}
    file = write_doc(tmp_path / "d", "auto", changed)
    result = run_scripts(run_cli, state, tmp_path / "out", file)
    assert "No planned change needs a setup script." in result.stdout


def test_several_changes_are_numbered_in_run_order(run_cli: RunCli, tmp_path: Path) -> None:
    """Scripts that run before apply come first; the after-apply cleanup comes last, so the numbering is
    the order a DBA runs them in."""
    state = tmp_path / "state.json"
    Sandbox(state_file=state).oob_add(resolved(SYNAPSE))
    folder = tmp_path / "d"
    write_doc(folder, "a-synapse", {**SYNAPSE, "ensure": "absent"})
    write_doc(folder, "b-redshift", REDSHIFT)
    write_doc(folder, "c-auto", SNOWFLAKE_AUTO)
    out = tmp_path / "out"
    run_scripts(run_cli, state, out, folder)
    names = stages(out)
    assert set(names) == {
        "a-synapse.delete.sql",
        "a-synapse.post-cleanup.sql",
        "b-redshift.initial-create.sql",
        "b-redshift.create.sql",
    }
    assert names.index("b-redshift.initial-create.sql") < names.index("b-redshift.create.sql")
    assert names[-1] == "a-synapse.post-cleanup.sql"


def test_replace_of_a_manual_synapse_runs_every_script_before_apply(run_cli: RunCli, tmp_path: Path) -> None:
    """A replace deletes and re-creates in one apply: the old login must be dropped (post-cleanup) before
    the new one is created (initial-create), so nothing of it may wait until after apply."""
    state = tmp_path / "state.json"
    Sandbox(state_file=state).oob_add(resolved(SYNAPSE))
    delimiters = {"hashDelimiter": "#", "hashKeyDelimiter": ":", "arrayDelimiter": ","}
    changed = {**SYNAPSE, "config": {**SYNAPSE["config"], "metadataDelimiters": delimiters}}
    file = write_doc(tmp_path / "d", "synapse", changed)
    out = tmp_path / "out"
    run_scripts(run_cli, state, out, file)
    assert stages(out) == [
        "synapse.delete.sql",
        "synapse.post-cleanup.sql",
        "synapse.initial-create.sql",
        "synapse.create.sql",
    ]
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "after `reconciler apply`" not in readme


# -- the files: names, README, permissions, secrets ---------------------------------------------------------


def test_readme_says_what_to_run_where_and_when(run_cli: RunCli, tmp_path: Path) -> None:
    file = write_doc(tmp_path / "d", "redshift-manual", REDSHIFT)
    out = tmp_path / "out"
    run_scripts(run_cli, tmp_path / "state.json", out, file)
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# Setup scripts for integrations with autoBootstrap: false")
    assert "Run them in this order" in readme
    assert "keep them private" in readme
    rows = [line for line in readme.splitlines() if line.startswith("| ") and "`" in line]
    assert len(rows) == 2
    assert rows[0].startswith("| 1 | `01-redshift-manual.initial-create.sql` |")
    assert rows[1].startswith("| 2 | `02-redshift-manual.create.sql` |")
    for row in rows:
        assert "Redshift[host=wh.abc.us-east-1.redshift.amazonaws.com,database=immuta_manual]" in row
        assert "| Redshift |" in row
        assert "before `reconciler apply`" in row
    assert "Then run `reconciler apply`" in readme


def test_files_are_owner_only(run_cli: RunCli, tmp_path: Path) -> None:
    file = write_doc(tmp_path / "d", "synapse", SYNAPSE)
    out = tmp_path / "out"
    run_scripts(run_cli, tmp_path / "state.json", out, file)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    written = list(out.iterdir())
    assert len(written) == 4  # two scripts, README.md, .gitignore
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_an_existing_folder_and_files_are_made_owner_only(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir(mode=0o755)
    stale = out / "01-synapse.initial-create.sql"
    stale.write_text("old\n", encoding="utf-8")
    stale.chmod(0o644)
    os.chmod(out, 0o755)
    file = write_doc(tmp_path / "d", "synapse", SYNAPSE)
    run_scripts(run_cli, tmp_path / "state.json", out, file)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert stat.S_IMODE(stale.stat().st_mode) == 0o600
    assert stale.read_text(encoding="utf-8") != "old\n"


def test_a_secret_of_the_payload_is_never_printed(run_cli: RunCli, tmp_path: Path) -> None:
    """The password reaches Immuta's script endpoint (the body is the create payload) but no output;
    the README never holds it either (only a script file may, if Immuta embedded it)."""
    folder = tmp_path / "d"
    for name, document in [("synapse", SYNAPSE), ("redshift", REDSHIFT), ("bigquery", BIGQUERY), ("s3", S3)]:
        write_doc(folder, name, document)
    out = tmp_path / "out"
    result = run_cli("scripts", str(folder), "--out", str(out), "--sandbox", "--sandbox-state", "state.json")
    assert result.exit_code == 0
    assert_no_secret(result)
    assert SECRET not in (out / "README.md").read_text(encoding="utf-8")


# -- the flows, against a simulator that requires the manual setup ----------------------------------------


@pytest.fixture
def simulator(tmp_path: Path) -> Sandbox:
    """Requires the setup run first (`require_manual_setup`); its tenant lives in a state file."""
    return Sandbox(require_manual_setup=True, state_file=tmp_path / "served.json", api_key=KEY)


@pytest.fixture
def served(simulator: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The simulator served on loopback, the CLI pointed at it; yields the state file."""
    with start_server(simulator) as server:
        monkeypatch.setenv("IMMUTA_URL", server.url)
        monkeypatch.setenv("IMMUTA_API_KEY", KEY)
        monkeypatch.delenv("IMMUTA_TOKEN", raising=False)
        assert simulator.tenant.state_file is not None
        yield simulator.tenant.state_file


def test_flow_plan_apply_refused_scripts_mark_apply_plan_clean(run_cli: RunCli, tmp_path: Path, served: Path) -> None:
    file = write_doc(tmp_path / "d", "synapse-finance", SYNAPSE)
    out = tmp_path / "scripts"

    planned = run_cli("plan", str(file), "--detailed-exitcode")
    assert planned.exit_code == 2, planned.stderr
    assert "needs the setup script first" in planned.stdout

    refused = run_cli("apply", str(file), "--auto-approve")
    assert refused.exit_code == 1
    assert "Validation of prerequisite setup failed" in refused.stdout + refused.stderr
    assert f"reconciler scripts {file}" in refused.stdout + refused.stderr

    written = run_cli("scripts", str(file), "--out", str(out))
    assert written.exit_code == 0, written.stderr
    assert stages(out) == ["synapse-finance.initial-create.sql", "synapse-finance.create.sql"]

    marked = run_cli("sandbox", "mark-setup-run", str(file), "--sandbox-state", str(served))
    assert marked.exit_code == 0, marked.stderr
    assert "setup marked as run" in marked.stdout

    applied = run_cli("apply", str(file), "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr

    clean = run_cli("plan", str(file), "--detailed-exitcode")
    assert clean.exit_code == 0, clean.stdout
    assert_no_secret(planned, refused, written, marked, applied, clean)


@pytest.mark.parametrize("minimal", [False, True], ids=["full-tombstone", "minimal-tombstone"])
def test_flow_delete_of_a_manual_integration(
    run_cli: RunCli, tmp_path: Path, simulator: Sandbox, served: Path, minimal: bool
) -> None:
    """A tombstone: the delete script first, then apply deletes without credentials (the simulator
    answers 400 if any are sent for a manual integration), then the plan is clean."""
    simulator.oob_add(resolved(SYNAPSE))
    document = tombstone(SYNAPSE) if minimal else {**SYNAPSE, "ensure": "absent"}
    file = write_doc(tmp_path / "d", "synapse-finance", document)
    out = tmp_path / "scripts"

    planned = run_cli("plan", str(file), "--detailed-exitcode")
    assert planned.exit_code == 2, planned.stderr
    assert "needs the setup script first" not in planned.stdout

    written = run_cli("scripts", str(file), "--out", str(out))
    assert written.exit_code == 0, written.stderr
    assert stages(out) == ["synapse-finance.delete.sql", "synapse-finance.post-cleanup.sql"]
    assert "DROP LOGIN [immuta_system]" in (out / "02-synapse-finance.post-cleanup.sql").read_text(encoding="utf-8")

    applied = run_cli("apply", str(file), "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert simulator.list_integrations() == []
    assert simulator.request_counts()[("DELETE", "/integrations/1")] == 1

    clean = run_cli("plan", str(file), "--detailed-exitcode")
    assert clean.exit_code == 0, clean.stdout
    assert_no_secret(planned, written, applied, clean)
