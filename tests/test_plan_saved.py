"""`plan --out FILE` and `plan --check FILE`: what a saved plan holds, when it still matches (exit 0) and how
it names what moved (exit 3); and the exit codes of `plan`."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler import __version__
from reconciler.sandbox.api import Sandbox
from reconciler.validation.schema import load

REPO = Path(__file__).resolve().parent.parent
STATE = "state.json"
SAVED = "reviewed.plan"
SNOWFLAKE_FILE = "integrations.d/snowflake-prod.yaml"
SNOWFLAKE = "Snowflake[host=acme.us-east-1.snowflakecomputing.com]"
# Every secret the shipped files reference: no test of a saved plan relies on the sandbox's placeholder.
SECRETS = {
    "SNOWFLAKE_ADMIN_PASSWORD": "Sn0wPa55-SAVED-PLAN",
    "REDSHIFT_BOOTSTRAP_PASSWORD": "Redsh1ft-SAVED-PLAN",
    "BIGQUERY_IMMUTA_SA_KEY": '{"type": "service_account", "private_key": "bq-SAVED-PLAN"}',
    "DATABRICKS_OAUTH_CLIENT_SECRET": "dbx-SAVED-PLAN",
    "S3_IMMUTA_ACCESS_KEY_ID": "AKIA-SAVED-PLAN",
    "S3_IMMUTA_SECRET_ACCESS_KEY": "s3-SAVED-PLAN",
    "SYNAPSE_IMMUTA_PASSWORD": "synapse-SAVED-PLAN",
}
RunCli = Callable[..., Any]  # tests/conftest.py's `run_cli`
SANDBOX = ("--sandbox", "--sandbox-state", STATE)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli) -> Sandbox:
    """The shipped examples applied, then the Snowflake file edited, so the plan has one update."""
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    applied = run_cli("apply", *SANDBOX, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    edit(tmp_path / SNOWFLAKE_FILE, "warehouse: IMMUTA_WH", "warehouse: IMMUTA_WH_XL")
    return Sandbox(state_file=str(tmp_path / STATE))


@pytest.fixture
def saved(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> dict[str, Any]:
    result = run_cli("plan", *SANDBOX, "--out", SAVED)
    assert result.exit_code == 0, result.stderr
    assert re.search(rf"^Saved the plan to {SAVED} \(checksum [0-9a-f]{{12}}\)\.$", result.stderr, re.M)
    document: dict[str, Any] = json.loads((tmp_path / SAVED).read_text(encoding="utf-8"))
    return document


def ids(tenant: Sandbox) -> dict[str, str]:
    return {record["type"]: str(record["id"]) for record in tenant.list_integrations()}


def check(run_cli: RunCli) -> Any:
    return run_cli("plan", *SANDBOX, "--check", SAVED)


def still_matches(run_cli: RunCli, saved: dict[str, Any]) -> None:
    """`plan --check` says so (exit 0), and the reviewed plan applies: its one update, nothing refused."""
    result = check(run_cli)
    assert (result.exit_code, result.stderr) == (0, ""), result.stdout + result.stderr
    assert result.stdout == f"The saved plan {SAVED} still matches (checksum {saved['checksum'][:12]}).\n"
    applied = run_cli("apply", *SANDBOX, SAVED)
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert f"\nApply: 1 succeeded, 0 failed, 0 refused.\n  ok      update {SNOWFLAKE} (id " in applied.stdout


def stale(run_cli: RunCli, *reasons: str) -> None:
    result = check(run_cli)
    assert result.exit_code == 3, result.stdout + result.stderr
    assert result.stderr == f"refused: the saved plan {SAVED} is stale:\n" + "".join(f"  {r}\n" for r in reasons)


def test_a_saved_plan_records_what_it_was_based_on(saved: dict[str, Any], tmp_path: Path) -> None:
    assert saved["kind"] == "reconciler-plan"
    assert saved["format_version"] == 2
    assert re.fullmatch(r"[0-9a-f]{64}", saved["checksum"])
    assert re.fullmatch(r"[0-9a-f]{64}", saved["desired_digest"])
    assert saved["target"] == f"sandbox://{(tmp_path / STATE).resolve().as_posix()}"
    assert saved["tool_version"] == __version__
    assert saved["schema_version"] == load().version
    assert saved["paths"] == ["integrations.d"]
    assert saved["summary"] == {"create": 0, "update": 1, "replace": 0, "delete": 0, "unchanged": 6, "orphan": 0}
    for change in saved["changes"]:
        assert re.fullmatch(r"[0-9a-f]{16}", change["actual_fingerprint"]), change
        assert re.fullmatch(r"[0-9a-f]{64}", change["desired_digest"]), change
        assert change["id"]
    snowflake = next(c for c in saved["changes"] if c["key"] == SNOWFLAKE)
    assert snowflake["action"] == "update"
    assert [f["path"] for f in snowflake["fields"]] == ["config.warehouse"]
    assert "config.password" in snowflake["not_compared"]


def test_a_saved_plan_holds_no_secret_value(saved: dict[str, Any], tmp_path: Path) -> None:
    text = (tmp_path / SAVED).read_text(encoding="utf-8")
    for value in SECRETS.values():
        assert value not in text


def test_an_unchanged_plan_still_matches(saved: dict[str, Any], run_cli: RunCli) -> None:
    result = check(run_cli)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"The saved plan {SAVED} still matches (checksum {saved['checksum'][:12]}).\n"


def test_a_comment_in_a_file_does_not_make_it_stale(saved: dict[str, Any], run_cli: RunCli, tmp_path: Path) -> None:
    with (tmp_path / SNOWFLAKE_FILE).open("a", encoding="utf-8") as handle:
        handle.write("# reviewed by the platform team\n")
    still_matches(run_cli, saved)


def test_a_secret_rotated_in_the_environment_does_not_make_it_stale(
    saved: dict[str, Any], run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNOWFLAKE_ADMIN_PASSWORD", "rotated")
    still_matches(run_cli, saved)


def test_an_edited_file_is_named(saved: dict[str, Any], run_cli: RunCli, tmp_path: Path) -> None:
    edit(tmp_path / SNOWFLAKE_FILE, "warehouse: IMMUTA_WH_XL", "warehouse: IMMUTA_WH_2XL")
    stale(
        run_cli,
        f"{SNOWFLAKE}: {SNOWFLAKE_FILE} changed since the plan",
        f'{SNOWFLAKE}: config.warehouse was "IMMUTA_WH_XL" in the reviewed plan, is "IMMUTA_WH_2XL" now',
    )


def test_a_change_in_immuta_names_the_integration(saved: dict[str, Any], run_cli: RunCli, tenant: Sandbox) -> None:
    redshift = ids(tenant)["Redshift"]
    tenant.oob_edit(redshift, "config.port", 5440)
    key = next(c["key"] for c in saved["changes"] if c["type"] == "Redshift")
    stale(
        run_cli,
        f"{key} (integrations.d/redshift-warehouse.yaml): changed in Immuta since the plan (id {redshift})",
        f"{key}: the plan said no-op, now it is update",
        f"{key}: config.port: left alone in the reviewed plan, changed 5440 → 5439 now",
    )


def test_a_status_that_settled_is_not_a_change(saved: dict[str, Any], run_cli: RunCli, tenant: Sandbox) -> None:
    tenant.oob_set_status(ids(tenant)["Redshift"], "recurringValidationError")
    still_matches(run_cli, saved)


def test_an_integration_deleted_in_immuta_is_named(saved: dict[str, Any], run_cli: RunCli, tenant: Sandbox) -> None:
    trino = ids(tenant)["Trino"]
    tenant.oob_remove(trino)
    stale(
        run_cli,
        f"Trino (integrations.d/trino.yaml): deleted in Immuta since the plan (id {trino})",
        "Trino: the plan said no-op, now it is create",
    )


def test_an_integration_created_in_immuta_is_named(saved: dict[str, Any], run_cli: RunCli, tenant: Sandbox) -> None:
    new = tenant.oob_add(
        {
            "type": "Databricks",
            "autoBootstrap": True,
            "config": {
                "workspaceUrl": "dbc-created-in-the-ui.cloud.databricks.com",
                "httpPath": "/sql/1.0/warehouses/x",
                "catalog": "ui_catalog",
                "authenticationType": "token",
                "token": "never-stored",
            },
        }
    )
    stale(
        run_cli,
        f"Databricks[workspaceUrl=dbc-created-in-the-ui.cloud.databricks.com]: not in the plan; it appeared in "
        f"Immuta (id {new})",
    )


def test_a_new_file_and_a_removed_file_are_named(saved: dict[str, Any], run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "integrations.d" / "trino.yaml").unlink()
    (tmp_path / "integrations.d" / "snowflake-dev.yaml").write_text(
        (tmp_path / SNOWFLAKE_FILE)
        .read_text(encoding="utf-8")
        .replace("acme.us-east-1.snowflakecomputing.com", "acme-dev.us-east-1.snowflakecomputing.com"),
        encoding="utf-8",
    )
    stale(
        run_cli,
        "Snowflake[host=acme-dev.us-east-1.snowflakecomputing.com]: not in the plan; "
        "integrations.d/snowflake-dev.yaml now declares it",
        "Trino: integrations.d/trino.yaml no longer declares it (removed since the plan)",
        "Trino: the plan said no-op, now it is orphan",
    )


def test_another_target_is_refused(saved: dict[str, Any], run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("plan", "--sandbox", "--sandbox-state", "other.json", "--check", SAVED)
    assert result.exit_code == 3
    assert (
        f"  the plan was made against {saved['target']}; this run targets "
        f"sandbox://{(tmp_path / 'other.json').resolve().as_posix()}\n"
    ) in result.stderr


def test_after_the_apply_the_plan_is_stale(saved: dict[str, Any], run_cli: RunCli) -> None:
    assert run_cli("apply", *SANDBOX, "--auto-approve").exit_code == 0
    result = check(run_cli)
    assert result.exit_code == 3
    assert f"{SNOWFLAKE} ({SNOWFLAKE_FILE}): changed in Immuta since the plan" in result.stderr


def test_check_of_a_file_that_is_not_a_saved_plan(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.json").write_text('{"kind": "something else"}', encoding="utf-8")
    result = run_cli("plan", *SANDBOX, "--check", "notes.json")
    assert result.exit_code == 1
    assert "notes.json: not a plan saved by `reconciler plan --out`" in result.stderr


@pytest.mark.parametrize(
    ("args", "changes", "code"),
    [
        ((), True, 0),
        (("--detailed-exitcode",), True, 2),
        (("--detailed-exitcode",), False, 0),
        ((), False, 0),
        (("--format", "json", "--detailed-exitcode"), True, 2),
        (("--no-such-flag",), True, 64),
        (("--format", "yaml"), True, 64),
        (("--detailed-exitcode", "--prune", "--out", "p.plan"), True, 2),
    ],
)
def test_exit_codes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_cli: RunCli,
    args: tuple[str, ...],
    changes: bool,
    code: int,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "integrations.d").mkdir()
    (tmp_path / "integrations.d" / "trino.yaml").write_text("type: Trino\n", encoding="utf-8")
    if not changes:
        assert run_cli("apply", *SANDBOX, "--auto-approve").exit_code == 0
    result = run_cli("plan", *SANDBOX, *args)
    assert result.exit_code == code, result.stdout + result.stderr
    if code == 64:
        assert result.stdout == ""
        assert "Error:" in result.stderr
