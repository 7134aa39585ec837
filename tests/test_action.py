"""action.yml: a composite action that installs the reconciler from its own ref — never the caller's
repository — and runs one command; its `reconciler` step run here as GitHub runs it, against the sandbox."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest
from actions_runner import ACTION, REPO, run_action

from reconciler.render.plan_markdown import STICKY_MARKER

SHA_PIN = r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    work = tmp_path / "repo"
    shutil.copytree(REPO / "integrations.d", work / "integrations.d")
    return work


def test_action_yml_matches_githubs_schema() -> None:
    builtin = pytest.importorskip("check_jsonschema.builtin_schemas")
    schema = builtin.get_builtin_schema("vendor.github-actions")
    assert [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(ACTION)] == []


def test_a_composite_action_with_the_promised_inputs_and_outputs() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert set(ACTION["inputs"]) == {
        "command",
        "paths",
        "environment",
        "format",
        "plan-file",
        "auto-approve",
        "stale-hint",
        "immuta-url",
        "api-key",
        "token",
        "sandbox",
        "python-version",
    }
    assert ACTION["inputs"]["command"]["required"] is True
    assert set(ACTION["outputs"]) == {"exit-code", "has-changes", "plan-file", "output-file"}
    for name, output in ACTION["outputs"].items():
        assert output["value"] == f"${{{{ steps.run.outputs.{name} }}}}"


def test_it_installs_from_its_own_ref_and_keeps_secrets_out_of_the_install() -> None:
    setup, install, run = ACTION["runs"]["steps"]
    assert re.fullmatch(SHA_PIN, setup["uses"])
    assert '"$GITHUB_ACTION_PATH"' in install["run"] and "pip install" in install["run"]
    assert "env" not in install  # no input, no secret reaches pip (and the packages it runs)
    assert "${{" not in install["run"] and "${{" not in run["run"]  # inputs reach scripts only through env:
    assert run["env"]["INPUT_API_KEY"] == "${{ inputs.api-key }}"


def test_plan_saves_the_plan_and_reports_changes(workdir: Path) -> None:
    result = run_action({"command": "plan", "format": "markdown", "sandbox": "true"}, workdir)
    assert result.returncode == 0, result.stdout + result.stderr  # exit 2 is an answer, not a failure
    assert result.outputs["exit-code"] == "2"
    assert result.outputs["has-changes"] == "true"
    assert result.outputs["plan-file"] == "reconciler-plan/plan.json"
    saved = json.loads((workdir / "reconciler-plan" / "plan.json").read_text(encoding="utf-8"))
    assert saved["kind"] == "reconciler-plan" and saved["format_version"] == 2
    markdown = Path(result.outputs["output-file"]).read_text(encoding="utf-8")
    assert STICKY_MARKER in markdown
    assert STICKY_MARKER in result.summary  # the plan in the job summary


def test_apply_of_the_saved_plan_then_nothing_left_to_do(workdir: Path) -> None:
    run_action({"command": "plan", "sandbox": "true"}, workdir)
    applied = run_action({"command": "apply", "plan-file": "reconciler-plan/plan.json", "sandbox": "true"}, workdir)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert (applied.outputs["exit-code"], applied.outputs["has-changes"]) == ("0", "true")
    assert "### reconciler apply" in applied.summary
    again = run_action({"command": "plan", "sandbox": "true"}, workdir)
    assert (again.returncode, again.outputs["exit-code"], again.outputs["has-changes"]) == (0, "0", "false")
    drift = run_action({"command": "drift", "format": "markdown", "sandbox": "true"}, workdir)
    assert (drift.returncode, drift.outputs["exit-code"], drift.outputs["has-changes"]) == (0, "0", "false")


def test_a_stale_plan_fails_with_the_hint(workdir: Path) -> None:
    run_action({"command": "plan", "sandbox": "true"}, workdir)
    snowflake = workdir / "integrations.d" / "snowflake-prod.yaml"
    snowflake.write_text(snowflake.read_text(encoding="utf-8").replace("IMMUTA_WH", "IMMUTA_WH_XL"), encoding="utf-8")
    hint = "Run the workflow by hand to plan again."
    applied = run_action(
        {"command": "apply", "plan-file": "reconciler-plan/plan.json", "sandbox": "true", "stale-hint": hint}, workdir
    )
    assert (applied.returncode, applied.outputs["exit-code"]) == (3, "3")
    assert f"::error::{hint}" in applied.stdout
    assert "is stale" in applied.stderr


def test_apply_without_a_plan_or_approval_is_a_usage_error(workdir: Path) -> None:
    result = run_action({"command": "apply", "sandbox": "true"}, workdir)
    assert result.returncode == 64
    assert "::error::apply needs plan-file (the reviewed plan) or auto-approve: true" in result.stdout


def test_validate_fails_on_an_invalid_file(workdir: Path) -> None:
    (workdir / "integrations.d" / "broken.yaml").write_text("type: Snowflake\nautoBootstrap: maybe\n")
    result = run_action({"command": "validate"}, workdir)
    assert (result.returncode, result.outputs["exit-code"]) == (1, "1")
    assert "::error file=integrations.d/broken.yaml" in result.stderr


def test_an_environment_gets_its_key_in_the_variable_it_names(workdir: Path) -> None:
    """The api-key input lands in the environment file's apiKeyEnv; the install step never sees it."""
    (workdir / "environments").mkdir()
    (workdir / "environments" / "dev.yaml").write_text(
        "url: http://127.0.0.1:9\napiKeyEnv: IMMUTA_DEV_API_KEY\npaths: [integrations.d]\n", encoding="utf-8"
    )
    result = run_action(
        {"command": "plan", "environment": "dev", "sandbox": "true", "api-key": "k-123"},
        workdir,
        extra_env={"IMMUTA_DEV_API_KEY": ""},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.outputs["exit-code"] == "2"
    assert Path(result.outputs["output-file"]).name == "reconciler-plan-dev.txt"


def test_paths_are_words_not_globs(workdir: Path) -> None:
    result = run_action(
        {"command": "validate", "paths": "integrations.d/snowflake-prod.yaml\nintegrations.d/trino.yaml"}, workdir
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 file(s), 2 integration(s)" in result.stderr


def test_an_unknown_command(workdir: Path) -> None:
    result = run_action({"command": "destroy"}, workdir)
    assert result.returncode == 64
    assert "::error::unknown command 'destroy': use validate, plan, apply or drift" in result.stdout


def test_an_environment_files_error_cannot_forge_a_workflow_command(workdir: Path) -> None:
    """Two problems in the environment file make a two-line message: GitHub reads every line of the log, so
    the message is one `::error::` line, percent-encoded as GitHub documents (render/escape.py)."""
    (workdir / "environments").mkdir()
    (workdir / "environments" / "dev.yaml").write_text('url: ftp://x\n"%x\\n::warning::forged": 1\n', encoding="utf-8")
    result = run_action({"command": "plan", "environment": "dev", "sandbox": "true"}, workdir)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "::error::environments/dev.yaml:1:1: $.url: required: the tenant's http(s) URL%0Aenvironments/dev.yaml:2:1: "
        "$.%25x%0A::warning::forged: unknown field; known: apiKeyEnv, caBundle, fileRoots, paths, tokenEnv, url, "
        "values"
    ]
    assert result.outputs == {}
