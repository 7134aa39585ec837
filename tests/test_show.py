"""`reconciler show PLANFILE`: a saved plan shown exactly as `plan` printed it, from the file alone."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_plan_golden import COMMIT, GOLDEN, make_golden_plan

from reconciler.planning import recorded, savedplan
from reconciler.render import plan_markdown, plan_text

REPO = Path(__file__).resolve().parent.parent
STATE = "state.json"
SANDBOX = ("--sandbox", "--sandbox-state", STATE)
SAVED = "reviewed.plan"
RunCli = Callable[..., Any]  # tests/conftest.py's `run_cli`


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli) -> Path:
    """The examples applied; then an update (Snowflake), a pruned delete that apply would refuse for want
    of credentials (Redshift's file removed) and a create (a second S3 file)."""
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    applied = run_cli("apply", *SANDBOX, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    folder = tmp_path / "integrations.d"
    snowflake = folder / "snowflake-prod.yaml"
    snowflake.write_text(snowflake.read_text("utf-8").replace("warehouse: IMMUTA_WH", "warehouse: IMMUTA_WH_XL"))
    (folder / "redshift-warehouse.yaml").unlink()
    s3 = (folder / "s3-datalake.yaml").read_text("utf-8")
    (folder / "s3-archive.yaml").write_text(s3.replace("datalake-prod", "archive-prod"), encoding="utf-8")
    for name in ("IMMUTA_URL", "IMMUTA_API_KEY", "IMMUTA_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.mark.parametrize("output_format", ["text", "json", "markdown"])
def test_show_prints_what_plan_printed_without_a_tenant(
    tenant: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, output_format: str
) -> None:
    monkeypatch.setenv("GITHUB_SHA", "3f2c1e0d9b8a")  # the Markdown footer names the commit, in both
    planned = run_cli("plan", *SANDBOX, "--prune", "--format", output_format, "--out", SAVED)
    assert planned.exit_code == 3, planned.stderr  # the delete is refused: the check is red, the plan saved
    (tenant / STATE).unlink()  # nothing left to ask: a plan made now would be all creates
    shown = run_cli("show", SAVED, "--format", output_format)
    assert (shown.exit_code, shown.stderr) == (0, "")
    assert shown.stdout == planned.stdout


def test_the_scenario_has_an_update_a_create_and_a_refused_delete(tenant: Path, run_cli: RunCli) -> None:
    assert run_cli("plan", *SANDBOX, "--prune", "--out", SAVED).exit_code == 3
    shown = run_cli("show", SAVED).stdout
    assert "  ~ Snowflake[host=acme.us-east-1.snowflakecomputing.com]  (id " in shown
    assert '      ~ config.warehouse: "IMMUTA_WH" → "IMMUTA_WH_XL"  [integrations.d/snowflake-prod.yaml:' in shown
    assert "  + Native S3[name=archive-prod]  (integrations.d/s3-archive.yaml:" in shown
    assert " — apply will refuse: Immuta's DELETE needs config." in shown
    assert "\nPlan: 1 to create, 1 to update, 0 to replace, 1 to delete, 5 unchanged.\n" in shown
    assert "\nRefused by a safety gate: apply would change nothing.\n  Redshift[" in shown


def test_the_json_plan_names_the_missing_delete_credentials(tenant: Path, run_cli: RunCli) -> None:
    planned = json.loads(run_cli("plan", *SANDBOX, "--prune", "--format", "json").stdout)
    by_action = {c["action"]: c for c in planned["changes"] if c["action"] in ("create", "delete")}
    assert by_action["delete"]["type"] == "Redshift"
    assert by_action["delete"]["missing_credentials"] and all(
        name.startswith("config.") for name in by_action["delete"]["missing_credentials"]
    )
    assert by_action["create"]["missing_credentials"] == []


@pytest.mark.parametrize("prune", [False, True], ids=["plan", "plan-prune"])
def test_every_kind_of_change_shows_as_its_golden_file(tmp_path: Path, prune: bool) -> None:
    """The goldens' plan (create, update, replace, delete, orphan, setup script, defaults, removed and
    immutable fields), saved and read back: byte for byte the golden output of every format."""
    plan = make_golden_plan(tmp_path / "work", prune=prune)
    savedplan.save(plan, str(tmp_path / SAVED), paths=["integrations.d"])
    saved = savedplan.load(str(tmp_path / SAVED))
    name = "plan-prune" if prune else "plan"
    again = recorded.recorded_plan(saved)
    assert plan_text.render(again) == (GOLDEN / f"{name}.txt").read_text(encoding="utf-8")
    before = {c["key"]: c["before"] for c in saved.document["changes"] if c.get("before") is not None}
    shown = plan_markdown.render(again, commit=COMMIT, review=plan_markdown.Review(before=before))
    assert shown == (GOLDEN / f"{name}.md").read_text(encoding="utf-8")
    assert recorded.render_json(saved) == (GOLDEN / f"{name}.json").read_text(encoding="utf-8")


def test_a_file_that_is_not_a_saved_plan_is_an_error(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "plan.json").write_text('{"changes": []}\n', encoding="utf-8")
    result = run_cli("show", str(tmp_path / "plan.json"))
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"Error: {tmp_path / 'plan.json'}: not a plan saved by `reconciler plan --out`\n"
    (tmp_path / "notes.txt").write_text("hello\n", encoding="utf-8")
    result = run_cli("show", str(tmp_path / "notes.txt"))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {tmp_path / 'notes.txt'}: cannot read the saved plan: ")


def test_a_damaged_saved_plan_is_an_error_naming_it(tenant: Path, run_cli: RunCli) -> None:
    assert run_cli("plan", *SANDBOX, "--out", SAVED).exit_code == 0
    document = json.loads((tenant / SAVED).read_text(encoding="utf-8"))
    del document["changes"][0]["fields"]
    (tenant / SAVED).write_text(json.dumps(document), encoding="utf-8")
    result = run_cli("show", SAVED)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"Error: {SAVED}: the saved plan is damaged (missing 'fields')\n"
    assert run_cli("show", SAVED, "--format", "json").exit_code == 1


def test_a_missing_plan_file_is_a_usage_error(tmp_path: Path, run_cli: RunCli) -> None:
    result = run_cli("show", str(tmp_path / "nowhere.plan"))
    assert (result.exit_code, result.stdout) == (64, "")
    assert "does not exist" in result.stderr
