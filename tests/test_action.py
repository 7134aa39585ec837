"""action.yml: a composite action that installs the reconciler from its own ref — never the caller's
repository — and runs one command; its `reconciler` step run here as GitHub runs it, against the sandbox."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from actions_runner import (
    ACTION,
    REDSHIFT_WITH_SECRET,
    REPO,
    SNOWFLAKE_WITH_SECRET,
    RecordingSandbox,
    outputs_of,
    run_action,
)

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
        "secrets",
        "github-environment",
        "python-version",
    }
    assert ACTION["inputs"]["command"]["required"] is True
    assert set(ACTION["outputs"]) == {"exit-code", "has-changes", "plan-file", "output-file"}
    for name, output in ACTION["outputs"].items():
        assert output["value"] == f"${{{{ steps.run.outputs.{name} }}}}"


def test_it_installs_a_cached_wheel_of_its_own_ref_and_keeps_secrets_out_of_the_install() -> None:
    setup, key, cache, install, run = ACTION["runs"]["steps"]
    assert re.fullmatch(SHA_PIN, setup["uses"]) and re.fullmatch(SHA_PIN, cache["uses"])
    assert '"$GITHUB_ACTION_PATH"' in key["run"] and '"$GITHUB_ACTION_PATH"' in install["run"]
    assert cache["with"] == {
        "path": "${{ runner.temp }}/reconciler-wheels",
        "key": "${{ steps.wheels.outputs.key }}",
    }
    # A cache hit installs the wheels, offline; only a miss builds them, once, from the action's own ref.
    assert '--no-index --find-links "$wheels" immuta-reconciler' in install["run"]
    assert 'pip wheel --quiet --disable-pip-version-check --wheel-dir "$wheels" "$GITHUB_ACTION_PATH"' in install["run"]
    assert "env" not in install and "env" not in key  # no input, no secret reaches pip (and the packages it runs)
    for entry in (key, install, run):
        assert "${{" not in entry["run"]  # inputs reach scripts only through env:
    assert run["env"]["INPUT_API_KEY"] == "${{ inputs.api-key }}"
    assert run["env"]["INPUT_SECRETS"] == "${{ inputs.secrets }}"


def test_python_runs_isolated_from_the_workspace() -> None:
    """Every Python the action starts is `python -I` (no PYTHON* variables, no imports from the working
    directory) and the reconciler runs from the virtual environment under $RUNNER_TEMP."""
    scripts = "\n".join(entry.get("run", "") for entry in ACTION["runs"]["steps"])
    started = re.findall(r'(?:^|(?<!--python)[\s(])(python3?|"[^"\s]*/bin/python")[ )]+(?!\])(\S+)', scripts, re.M)
    assert len(started) >= 6
    assert {(python, first) for python, first in started if not first.startswith("-I")} == set(), (
        "every Python is isolated"
    )
    run = ACTION["runs"]["steps"][-1]["run"]
    assert 'py=("$RUNNER_TEMP/reconciler-venv/bin/python" -I)' in run
    assert "bin/reconciler" not in run  # the console script would honour PYTHONPATH


def test_a_reconciler_pip_or_venv_folder_in_the_workspace_is_never_run(workdir: Path) -> None:
    marker = workdir.parent / "ran-the-callers-code"
    for name in ("reconciler", "pip", "venv", "yaml", "click"):
        (workdir / name).mkdir()
        (workdir / name / "__init__.py").write_text(f"open({str(marker)!r}, 'a').write({name!r})\n")
        (workdir / name / "__main__.py").write_text(f"open({str(marker)!r}, 'a').write({name!r})\n")
    result = run_action(
        {"command": "plan", "sandbox": "true"}, workdir, extra_env={"PYTHONPATH": str(workdir), "PYTHONSTARTUP": ""}
    )
    assert (result.returncode, result.outputs["exit-code"]) == (0, "2"), result.stdout + result.stderr
    assert not marker.exists()


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


# -- integration secrets reach apply, and nothing else ---------------------------------------------------

KEY = "action-test-api-key-8c1d"
SECRET_FILES = {
    "snowflake.yaml": SNOWFLAKE_WITH_SECRET,
    "redshift.yaml": REDSHIFT_WITH_SECRET,
}
# Recognisable values, one with a newline, a % and quotes (what masking and JSON must survive).
SECRET_VALUES = {"SNOWFLAKE_PASSWORD": "sf-Pa55%w0rd-e81f", "REDSHIFT_PASSWORD": 'rs-"line1"\nrs-line2-77a0'}


@pytest.fixture
def tenant(tmp_path: Path) -> Iterator[RecordingSandbox]:
    served = RecordingSandbox(KEY)
    yield served
    served.close()


@pytest.fixture
def secret_repo(tmp_path: Path) -> Path:
    work = tmp_path / "repo"
    (work / "integrations.d").mkdir(parents=True)
    for name, text in SECRET_FILES.items():
        (work / "integrations.d" / name).write_text(text, encoding="utf-8")
    return work


def against(tenant: RecordingSandbox, **inputs: str) -> dict[str, str]:
    return {"immuta-url": tenant.url, "api-key": KEY, **inputs}


def test_apply_sends_each_secret_to_immuta_and_no_output_holds_one(secret_repo: Path, tenant: RecordingSandbox) -> None:
    plan = run_action(against(tenant, command="plan", format="markdown"), secret_repo)
    assert (plan.returncode, plan.outputs["exit-code"]) == (0, "2"), plan.stdout + plan.stderr
    applied = run_action(
        against(
            tenant,
            command="apply",
            **{"plan-file": "reconciler-plan/plan.json", "secrets": json.dumps(SECRET_VALUES)},
            **{"github-environment": "immuta-prod"},
        ),
        secret_repo,
    )
    assert (applied.returncode, applied.outputs["exit-code"]) == (0, "0"), applied.stdout + applied.stderr
    for value in SECRET_VALUES.values():
        assert tenant.received(value)
    # Each line of each value is masked, escaped as GitHub reads a workflow command.
    masks = [line for line in applied.stdout.splitlines() if line.startswith("::add-mask::")]
    assert masks == ["::add-mask::sf-Pa55%25w0rd-e81f", '::add-mask::rs-"line1"', "::add-mask::rs-line2-77a0"]
    assert "### reconciler apply: **applied**; Immuta now matches the files" in applied.summary
    everything = outputs_of(plan, secret_repo / "reconciler-plan" / "plan.json") + outputs_of(applied)
    for value in SECRET_VALUES.values():
        for line in value.splitlines():
            assert line not in everything


def test_a_missing_secret_is_named_before_any_write(secret_repo: Path, tenant: RecordingSandbox) -> None:
    run_action(against(tenant, command="plan"), secret_repo)
    writes = tenant.writes()
    only_one = json.dumps({"REDSHIFT_PASSWORD": SECRET_VALUES["REDSHIFT_PASSWORD"]})
    applied = run_action(
        against(
            tenant,
            command="apply",
            **{"plan-file": "reconciler-plan/plan.json", "secrets": only_one, "github-environment": "immuta-prod"},
        ),
        secret_repo,
    )
    assert (applied.returncode, applied.outputs["exit-code"]) == (1, "1")
    line = (
        "integrations.d/snowflake.yaml:9 needs SNOWFLAKE_PASSWORD: add it to the `immuta-prod` environment's "
        "secrets (the JSON secret RECONCILER_SECRETS)"
    )
    assert line in applied.stderr.splitlines()
    assert applied.summary == (
        "### reconciler apply: **missing secret(s)**, nothing was written\n\n"
        f"- {line}\n\nAdd each, then run the job again.\n"
    )
    assert tenant.writes() == writes
    assert "rs-line2-77a0" not in outputs_of(applied)


@pytest.mark.parametrize(
    ("secrets", "message"),
    [
        ('{"SNOWFLAKE_PASSWORD": "sf-x1"', "::error::the secrets input is not JSON (Expecting ',' delimiter at line 1"),
        ('["sf-x1"]', '::error::the secrets input must be one JSON object, {"NAME": "value"}'),
        ('{"BAD NAME": "sf-x1"}', '::error::the secrets input names "BAD NAME": not a variable name'),
        ('{"LD_PRELOAD": "sf-x1"}', "::error::the secrets input names LD_PRELOAD, a variable the runner or"),
        ('{"PATH": "sf-x1"}', "::error::the secrets input names PATH, a variable the runner or the reconciler"),
        ('{"SNOWFLAKE_PASSWORD": 7}', "::error::the secrets input gives SNOWFLAKE_PASSWORD a value that is not text"),
    ],
)
def test_a_malformed_secrets_input_is_refused_without_echoing_a_value(
    secret_repo: Path, tenant: RecordingSandbox, secrets: str, message: str
) -> None:
    applied = run_action(against(tenant, command="apply", **{"auto-approve": "true", "secrets": secrets}), secret_repo)
    assert applied.returncode == 1
    assert message in applied.stderr
    assert "sf-x1" not in applied.stdout + applied.stderr
    assert tenant.writes() == 0


def test_secrets_are_for_apply_only(secret_repo: Path, tenant: RecordingSandbox) -> None:
    result = run_action(against(tenant, command="plan", secrets=json.dumps(SECRET_VALUES)), secret_repo)
    assert (result.returncode, result.outputs["exit-code"]) == (64, "64")
    assert "::error::the secrets input is for apply only: validate, plan and drift never read a secret" in result.stdout


@pytest.mark.parametrize(
    ("command", "code", "errors", "headline"),
    [
        ("apply", 3, "refused: 2 of 5 deletes: more than 30%; pass --force\n", "**refused** by a safety gate"),
        (
            "plan",
            3,
            "refused: a safety gate refuses this plan; apply would change nothing:\n  2 of 5 deletes: more than 30%; "
            "pass --force\n",
            "**refused** by a safety gate, merging applies nothing until it is fixed",
        ),
        ("apply", 3, "refused: the saved plan plan.json is stale: config.warehouse changed\n", "**stale**"),
        ("apply", 1, "error: 401 Unauthorized: check IMMUTA_API_KEY\n", "**error** (exit 1)"),
        ("validate", 0, "", "the files are valid"),
        ("drift", 2, "", "Immuta differs from Git (below)"),
    ],
)
def test_every_outcome_says_what_happened_and_what_to_do(command: str, code: int, errors: str, headline: str) -> None:
    from reconciler.cli.ci_summary import verdict

    summary = verdict(command, code, "", errors, "Run the workflow by hand to plan again.")
    assert summary.startswith(f"### reconciler {command}: {headline}")
    if "stale" in errors:
        assert summary.endswith("Run the workflow by hand to plan again.\n")
    if "safety gate" in headline:
        assert "\n2 of 5 deletes: more than 30%; pass --force\n" in summary


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
