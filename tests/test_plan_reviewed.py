"""What was reviewed is what runs: a saved plan is bound to every non-secret value it shows, so a value that
resolves differently now (`${var:WH}`), a plan saved by another version or with other schemas, and a plan
edited by hand are refused before anything is written (issue 11)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler import __version__
from reconciler.planning import reviewed
from reconciler.sandbox.api import Sandbox

REPO = Path(__file__).resolve().parent.parent
STATE = "state.json"
SAVED = "reviewed.plan"
SANDBOX = ("--sandbox", "--sandbox-state", STATE, "--env", "dev")
SNOWFLAKE_FILE = "integrations.d/snowflake-prod.yaml"
SNOWFLAKE = "Snowflake[host=acme.us-east-1.snowflakecomputing.com]"
RunCli = Callable[..., Any]
SHIPPED_REFERENCES = (
    "BIGQUERY_IMMUTA_SA_KEY",
    "DATABRICKS_OAUTH_CLIENT_SECRET",
    "REDSHIFT_BOOTSTRAP_PASSWORD",
    "S3_IMMUTA_ACCESS_KEY_ID",
    "S3_IMMUTA_SECRET_ACCESS_KEY",
    "SNOWFLAKE_ADMIN_PASSWORD",
    "SYNAPSE_IMMUTA_PASSWORD",
)


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli) -> Sandbox:
    """The shipped examples applied; then the Snowflake warehouse comes from ${var:WH}, set to WH_REVIEWED in
    the environment file, and that plan (one update) is saved for review."""
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    for name in SHIPPED_REFERENCES:  # real values: no test relies on the sandbox's placeholder
        monkeypatch.setenv(name, f"{name.lower()}-value")
    set_warehouse("IMMUTA_WH")
    applied = run_cli("apply", *SANDBOX, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    path = tmp_path / SNOWFLAKE_FILE
    path.write_text(path.read_text(encoding="utf-8").replace("warehouse: IMMUTA_WH", "warehouse: ${var:WH}"), "utf-8")
    set_warehouse("WH_REVIEWED")
    saved = run_cli("plan", *SANDBOX, "--out", SAVED)
    assert saved.exit_code == 0, saved.stderr
    assert '~ config.warehouse: "IMMUTA_WH" → "WH_REVIEWED"' in saved.stdout
    return Sandbox(state_file=str(tmp_path / STATE))


def set_warehouse(value: str) -> None:
    """The environment file (in Git) gives the warehouse: a reviewed value that moves is a changed file."""
    Path("environments").mkdir(exist_ok=True)
    Path("environments/dev.yaml").write_text(f"url: https://dev.example.com\nvalues:\n  WH: {value}\n", "utf-8")


def warehouse(tenant: Sandbox) -> str:
    record = next(r for r in tenant.list_integrations() if r["type"] == "Snowflake")
    return str(record["config"]["warehouse"])


def edit_saved(tmp_path: Path, change: Callable[[dict[str, Any]], None], *, sign: bool) -> None:
    """Edits the saved plan; `sign` recomputes its checksum, as a genuine plan with that content would hold."""
    document = json.loads((tmp_path / SAVED).read_text(encoding="utf-8"))
    change(document)
    if sign:
        document["checksum"] = reviewed.checksum(document)
    (tmp_path / SAVED).write_text(json.dumps(document), encoding="utf-8")


SWAPPED = (
    f"{SNOWFLAKE}: integrations.d/snowflake-prod.yaml changed since the plan\n"
    f'  {SNOWFLAKE}: config.warehouse was "WH_REVIEWED" in the reviewed plan, is "WH_SWAPPED" now'
)


def test_a_value_resolved_differently_is_named_by_check(
    tenant: Sandbox, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_warehouse("WH_SWAPPED")
    result = run_cli("plan", *SANDBOX, "--check", SAVED)
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == f"refused: the saved plan {SAVED} is stale:\n  {SWAPPED}\n"


def test_apply_of_a_value_resolved_differently_writes_nothing(
    tenant: Sandbox, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_warehouse("WH_SWAPPED")
    result = run_cli("apply", *SANDBOX, SAVED)
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == f"refused: the saved plan {SAVED} is stale; plan again and review:\n  {SWAPPED}\n"
    assert warehouse(tenant) == "IMMUTA_WH"


def test_the_reviewed_value_is_what_apply_writes(tenant: Sandbox, run_cli: RunCli) -> None:
    result = run_cli("apply", *SANDBOX, SAVED)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert warehouse(tenant) == "WH_REVIEWED"


def test_a_plan_saved_by_another_version_is_refused(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    edit_saved(tmp_path, lambda d: d.update(tool_version="0.0.1"), sign=False)
    result = run_cli("apply", *SANDBOX, SAVED)
    assert result.exit_code == 3
    assert result.stderr == (
        f"refused: the saved plan {SAVED} is stale; plan again and review:\n"
        f"  the plan was saved by reconciler 0.0.1; this is reconciler {__version__}: plan again\n"
    )
    assert warehouse(tenant) == "IMMUTA_WH"


def test_a_plan_saved_with_other_schemas_is_refused(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    document = json.loads((tmp_path / SAVED).read_text(encoding="utf-8"))
    edit_saved(tmp_path, lambda d: d.update(schema_version="0123456789abcdef"), sign=True)
    result = run_cli("plan", *SANDBOX, "--check", SAVED)
    assert result.exit_code == 3
    assert result.stderr == (
        f"refused: the saved plan {SAVED} is stale:\n  the plan was saved with other schemas (version "
        f"0123456789abcdef; these are {document['schema_version']}): plan again\n"
    )


def test_a_value_edited_in_the_saved_plan_is_refused(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    def swap(document: dict[str, Any]) -> None:
        snowflake = next(c for c in document["changes"] if c["key"] == SNOWFLAKE)
        snowflake["fields"][0]["new"] = "WH_INNOCENT"

    edit_saved(tmp_path, swap, sign=False)
    result = run_cli("apply", *SANDBOX, SAVED)
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == (
        f"refused: {SAVED} was edited after it was saved (its checksum does not match its content): plan again\n"
    )
    assert warehouse(tenant) == "IMMUTA_WH"


def test_a_saved_plan_without_its_changes_is_refused(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    edit_saved(tmp_path, lambda d: d.update(changes="none"), sign=False)
    result = run_cli("plan", *SANDBOX, "--check", SAVED)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {SAVED}: the saved plan was edited or damaged ($.changes is missing or not a list): "
        "plan again and review it\n"
    )


def snowflake_change(document: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in document["changes"] if c["key"] == SNOWFLAKE)


# Each value the checksum covers, edited by hand without re-signing: the plan is refused as edited.
COVERED_EDITS: dict[str, Callable[[dict[str, Any]], None]] = {
    "prune": lambda d: d.update(prune=not d["prune"]),
    "base": lambda d: d.update(base="0" * 40),
    "action": lambda d: snowflake_change(d).update(action="create"),
    "id": lambda d: snowflake_change(d).update(id="999"),
    "type": lambda d: snowflake_change(d).update(type="Redshift"),
    "natural_key": lambda d: snowflake_change(d).update(natural_key={"host": "evil.example.com"}),
    "after": lambda d: snowflake_change(d)["after"]["config"].update(warehouse="WH_INNOCENT"),
    "desired_digest": lambda d: snowflake_change(d).update(desired_digest="0" * 64),
    "actual_fingerprint": lambda d: snowflake_change(d).update(actual_fingerprint="0" * 64),
    "field kind": lambda d: snowflake_change(d)["fields"][0].update(kind="added"),
    "field old": lambda d: snowflake_change(d)["fields"][0].update(old="WH_OTHER"),
    "field path": lambda d: snowflake_change(d)["fields"][0].update(path="config.role"),
}


@pytest.mark.parametrize("edit", COVERED_EDITS.values(), ids=COVERED_EDITS.keys())
def test_each_reviewed_value_edited_by_hand_is_refused(
    tenant: Sandbox, run_cli: RunCli, tmp_path: Path, edit: Callable[[dict[str, Any]], None]
) -> None:
    edit_saved(tmp_path, edit, sign=False)
    result = run_cli("apply", *SANDBOX, SAVED)
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == (
        f"refused: {SAVED} was edited after it was saved (its checksum does not match its content): plan again\n"
    )
    assert warehouse(tenant) == "IMMUTA_WH"


def test_a_file_name_moved_in_the_saved_plan_changes_nothing_that_runs(
    tenant: Sandbox, run_cli: RunCli, tmp_path: Path
) -> None:
    edit_saved(tmp_path, lambda d: snowflake_change(d).update(file="integrations.d/moved.yaml"), sign=False)
    result = run_cli("apply", *SANDBOX, SAVED)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert warehouse(tenant) == "WH_REVIEWED"


def check_signed(tmp_path: Path, run_cli: RunCli, edit: Callable[[dict[str, Any]], None], *reasons: str) -> None:
    """A plan edited and re-signed (as a genuine plan with that content would be) is stale, naming each value."""
    edit_saved(tmp_path, edit, sign=True)
    result = run_cli("plan", *SANDBOX, "--check", SAVED)
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == f"refused: the saved plan {SAVED} is stale:\n" + "".join(f"  {r}\n" for r in reasons)


def test_a_reviewed_action_that_differs_is_named(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    check_signed(
        tmp_path,
        run_cli,
        lambda d: snowflake_change(d).update(action="delete"),
        f"{SNOWFLAKE}: the plan said delete, now it is update",
    )


def test_a_reviewed_id_that_differs_is_named(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    def edit(document: dict[str, Any]) -> None:
        snowflake_change(document)["id"] = "999"

    document = json.loads((tmp_path / SAVED).read_text(encoding="utf-8"))
    now = snowflake_change(document)["id"]
    check_signed(tmp_path, run_cli, edit, f"{SNOWFLAKE}: the plan was for id 999, Immuta now holds id {now}")


def test_a_reviewed_id_missing_is_not_an_id_change(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    edit_saved(tmp_path, lambda d: snowflake_change(d).update(id=None), sign=True)
    result = run_cli("plan", *SANDBOX, "--check", SAVED)
    assert "the plan was for id" not in result.stderr


def test_a_reviewed_payload_value_that_differs_is_named(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    def edit(document: dict[str, Any]) -> None:
        config = snowflake_change(document)["after"]["config"]
        config["warehouse"] = "WH_ÖTHER"  # shown as written, not as \u escapes
        config["extra"] = {"b": 1, "a": 2}  # shown with its keys sorted
        del config["role"]
        snowflake_change(document)["fields"].append({"path": "config.zzz", "kind": "changed", "old": "A", "new": "B"})

    check_signed(
        tmp_path,
        run_cli,
        edit,
        f'{SNOWFLAKE}: config.extra was {{"a": 2, "b": 1}} in the reviewed plan, is not set now',
        f'{SNOWFLAKE}: config.role was not set in the reviewed plan, is "ACCOUNTADMIN" now',
        f'{SNOWFLAKE}: config.warehouse was "WH_ÖTHER" in the reviewed plan, is "WH_REVIEWED" now',
        f'{SNOWFLAKE}: config.zzz: changed "A" → "B" in the reviewed plan, left alone now',
    )


def test_a_reviewed_field_change_that_differs_is_named(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    def edit(document: dict[str, Any]) -> None:
        snowflake_change(document)["fields"][0]["old"] = "WH_OLD"
        snowflake_change(document)["fields"].append({"path": "config.role", "kind": "changed", "old": "A", "new": "B"})

    check_signed(
        tmp_path,
        run_cli,
        edit,
        f'{SNOWFLAKE}: config.role: changed "A" → "B" in the reviewed plan, left alone now',
        f'{SNOWFLAKE}: config.warehouse: changed "WH_OLD" → "WH_REVIEWED" in the reviewed plan, '
        'changed "IMMUTA_WH" → "WH_REVIEWED" now',
    )


def test_a_field_change_edited_alone_is_named(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    check_signed(
        tmp_path,
        run_cli,
        lambda d: snowflake_change(d)["fields"][0].update(new="WH_X"),
        f'{SNOWFLAKE}: config.warehouse: changed "IMMUTA_WH" → "WH_X" in the reviewed plan, '
        'changed "IMMUTA_WH" → "WH_REVIEWED" now',
    )


def test_a_saved_plan_without_its_field_list_is_refused_as_edited(
    tenant: Sandbox, run_cli: RunCli, tmp_path: Path
) -> None:
    edit_saved(tmp_path, lambda d: snowflake_change(d).update(fields=None), sign=False)
    result = run_cli("apply", *SANDBOX, SAVED)
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == (
        f"refused: {SAVED} was edited after it was saved (its checksum does not match its content): plan again\n"
    )


def test_a_saved_plan_reformatted_still_applies(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    """Keys in another order and other indentation are the same plan: a reviewer's tool may pretty-print it."""

    def reordered(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: reordered(value[k]) for k in reversed(list(value))}
        return [reordered(v) for v in value] if isinstance(value, list) else value

    document = json.loads((tmp_path / SAVED).read_text(encoding="utf-8"))
    (tmp_path / SAVED).write_text(json.dumps(reordered(document), indent=4), encoding="utf-8")
    result = run_cli("apply", *SANDBOX, SAVED)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert warehouse(tenant) == "WH_REVIEWED"


def test_a_reviewed_payload_removed_is_caught_by_the_checksum(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    """No single value to name (the reviewed plan held no payload to compare): the checksum still refuses it."""
    edit_saved(tmp_path, lambda d: snowflake_change(d).update(after=None), sign=True)
    result = run_cli("plan", *SANDBOX, "--check", SAVED)
    assert (result.exit_code, result.stdout) == (3, "")
    lines = result.stderr.splitlines()
    assert lines[0] == f"refused: the saved plan {SAVED} is stale:"
    assert len(lines) == 2 and lines[1].startswith("  the plan's checksum is ") and lines[1].endswith(" when reviewed")
