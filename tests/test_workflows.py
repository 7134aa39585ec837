"""The GitHub workflows and the pre-commit hook: a structural check of GitHub's workflow format, the
promises each workflow makes (triggers, sticky marker, concurrency, environment, reusable inputs), and every
`reconciler …` command they run exercised against the sandbox, so a mistyped flag fails here, not in CI."""

from __future__ import annotations

import re
import shlex
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from reconciler.render.drift_markdown import DRIFT_MARKER
from reconciler.render.plan_markdown import STICKY_MARKER

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".github" / "workflows"
NAMES = ("ci", "plan", "apply", "drift")
REUSABLE = ("plan", "apply", "drift")
INPUTS = {"folder", "environment", "url_secret", "api_key_secret", "package"}
TARGET_COMMANDS = {"plan", "apply", "drift", "export", "scripts"}
RunCli = Callable[..., Any]  # the `run_cli` fixture of conftest.py


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / f"{name}.yml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    if True in document:  # YAML 1.1 reads the bare key `on` as the boolean true
        document["on"] = document.pop(True)
    return document


def steps(workflow: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for job in workflow["jobs"].values():
        yield from job.get("steps", [])


def test_the_four_workflows_exist() -> None:
    assert sorted(p.stem for p in WORKFLOWS.glob("*.yml")) == sorted(NAMES)


EVENTS = {"push", "pull_request", "workflow_call", "workflow_dispatch", "schedule", "release", "workflow_run"}
CONTEXTS = {"github", "inputs", "secrets", "env", "vars", "steps", "needs", "matrix", "runner", "job", "strategy"}
FUNCTIONS = {"always", "success", "failure", "cancelled", "contains", "startsWith", "endsWith", "format", "join"}
FUNCTIONS |= {"toJSON", "fromJSON", "hashFiles"}
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}")


def structure_problems(workflow: dict[str, Any], text: str) -> list[str]:
    """What GitHub would reject or misread in a workflow; empty when it is well formed."""
    problems = []
    if not set(workflow) <= {"name", "on", "permissions", "concurrency", "env", "jobs", "defaults", "run-name"}:
        problems.append(f"unknown top-level keys {sorted(set(workflow) - {'name', 'on', 'jobs'})}")
    if not isinstance(workflow.get("name"), str):
        problems.append("no name")
    if not isinstance(workflow.get("on"), dict) or not workflow["on"] or not set(workflow["on"]) <= EVENTS:
        problems.append(f"triggers {workflow.get('on')!r}")
    permissions = workflow.get("permissions") or {}
    if permissions.get("contents") != "read" or not all(v in ("read", "write", "none") for v in permissions.values()):
        problems.append(f"permissions {permissions!r}")
    jobs = workflow.get("jobs") or {}
    if not jobs:
        problems.append("no jobs")
    for job_id, job in jobs.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", job_id):
            problems.append(f"job id {job_id!r}")
        if ("runs-on" in job) == ("uses" in job):
            problems.append(f"job {job_id}: exactly one of runs-on and uses")
        needs = job.get("needs", [])
        for needed in [needs] if isinstance(needs, str) else needs:
            if needed not in jobs:
                problems.append(f"job {job_id}: needs unknown job {needed!r}")
        for step in job.get("steps", []):
            if ("run" in step) == ("uses" in step):
                problems.append(f"job {job_id}: a step needs exactly one of run and uses: {step}")
            elif "uses" in step and not re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", step["uses"]):
                problems.append(f"job {job_id}: action not pinned to a major version: {step['uses']}")
    for number, line in enumerate(text.splitlines(), 1):
        expressions = EXPRESSION.findall(line)
        if line.count("${{") != len(expressions):
            problems.append(f"line {number}: unclosed ${{{{ … }}}}")
        for expression in expressions:
            first = re.match(r"[\s!(]*([A-Za-z_]+)", expression)
            if first is None or first.group(1) not in CONTEXTS | FUNCTIONS:
                problems.append(f"line {number}: unknown context in ${{{{{expression}}}}}")
    return problems


@pytest.mark.parametrize("name", NAMES)
def test_workflow_structure(name: str) -> None:
    assert structure_problems(load(name), (WORKFLOWS / f"{name}.yml").read_text(encoding="utf-8")) == []


def test_the_structure_check_names_what_github_would_reject() -> None:
    text = (WORKFLOWS / "ci.yml").read_text(encoding="utf-8")
    workflow = load("ci")
    broken = {**workflow, "on": {"pull-request": None}, "permissions": {"contents": "write"}}
    job_id = next(iter(workflow["jobs"]))
    job = workflow["jobs"][job_id]
    broken["jobs"] = {job_id: {**job, "needs": ["lint"], "steps": [{"uses": "actions/checkout@main"}, {"name": "x"}]}}
    typo = text + "\n# ${{ input.folder }} ${{ github.sha\n"

    assert structure_problems(broken, typo) == [
        "triggers {'pull-request': None}",
        "permissions {'contents': 'write'}",
        f"job {job_id}: needs unknown job 'lint'",
        f"job {job_id}: action not pinned to a major version: actions/checkout@main",
        f"job {job_id}: a step needs exactly one of run and uses: {{'name': 'x'}}",
        f"line {len(typo.splitlines())}: unclosed ${{{{ … }}}}",
        f"line {len(typo.splitlines())}: unknown context in ${{{{ input.folder }}}}",
    ]


@pytest.mark.parametrize("name", REUSABLE)
def test_reusable_with_inputs_for_folder_environment_and_secret_names(name: str) -> None:
    inputs = load(name)["on"]["workflow_call"]["inputs"]
    assert set(inputs) == INPUTS
    for declared in inputs.values():
        assert declared["type"] == "string" and "default" in declared and declared["description"]
    job = next(iter(load(name)["jobs"].values()))
    assert job["env"]["FOLDER"] == "${{ inputs.folder || 'integrations.d' }}"
    assert job["env"]["IMMUTA_API_KEY"] == "${{ secrets[inputs.api_key_secret || 'IMMUTA_API_KEY'] }}"
    assert job["environment"].startswith("${{ inputs.environment || ")


@pytest.mark.parametrize("name", NAMES)
def test_schemastore_schema_when_check_jsonschema_is_installed(name: str) -> None:
    """The full schema of GitHub's workflow format (SchemaStore's, vendored by check-jsonschema)."""
    builtin = pytest.importorskip("check_jsonschema.builtin_schemas")
    schema = builtin.get_builtin_schema("vendor.github-workflows")
    document = yaml.safe_load((WORKFLOWS / f"{name}.yml").read_text(encoding="utf-8"))
    document["on"] = document.pop(True)
    errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(document)]
    assert errors == []


def test_ci_runs_lint_types_and_tests_on_three_pythons() -> None:
    job = load("ci")["jobs"]["test"]
    assert job["strategy"]["matrix"]["python-version"] == ["3.11", "3.12", "3.13"]
    assert any(step.get("run") == "bash .ci/run" for step in job["steps"])


def test_plan_on_pull_requests_with_one_sticky_comment_and_an_artifact() -> None:
    workflow = load("plan")
    assert workflow["on"]["pull_request"]["paths"] == ["integrations.d/**", "schemas/**"]
    assert workflow["permissions"]["pull-requests"] == "write"
    comment = next(s for s in steps(workflow) if s.get("uses", "").startswith("actions/github-script@"))
    assert f"'{STICKY_MARKER}'" in comment["with"]["script"]
    assert "updateComment" in comment["with"]["script"]
    upload = next(s for s in steps(workflow) if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"] == {"name": "reconciler-plan", "path": "plan.json", "retention-days": 30}


def test_apply_never_overlaps_and_uses_a_protected_environment() -> None:
    workflow = load("apply")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["concurrency"] == {
        "group": "reconciler-apply-${{ inputs.environment || 'production' }}",
        "cancel-in-progress": False,
    }
    assert workflow["jobs"]["apply"]["environment"] == "${{ inputs.environment || 'production' }}"
    download = next(s for s in steps(workflow) if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["name"] == "reconciler-plan"
    assert "GITHUB_STEP_SUMMARY" in next(s["run"] for s in steps(workflow) if s.get("name") == "Apply")


def test_drift_nightly_and_on_demand_with_one_issue() -> None:
    workflow = load("drift")
    assert workflow["on"]["schedule"][0]["cron"].split()[2:] == ["*", "*", "*"]
    assert "workflow_dispatch" in workflow["on"]
    assert workflow["permissions"]["issues"] == "write"
    script = next(s for s in steps(workflow) if s.get("uses", "").startswith("actions/github-script@"))
    body = script["with"]["script"]
    assert f"'{DRIFT_MARKER}'" in body
    assert "labels: ['drift']" in body and "state: 'closed'" in body


def test_pre_commit_hook() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = next(h for h in hooks if h["id"] == "reconciler-validate")
    assert hook["entry"] == "reconciler validate"
    assert hook["language"] == "python"
    assert re.search(hook["files"], "integrations.d/snowflake-prod.yaml")


def commands(name: str) -> list[list[str]]:
    """Every `reconciler …` line a workflow runs, with env references replaced and redirections removed."""
    found = []
    for step in steps(load(name)):
        for line in str(step.get("run", "")).splitlines():
            text = line.strip()
            if not text.startswith("reconciler "):
                continue
            text = re.split(r"\s(?:\d?>|\|)", text)[0]
            text = text.replace('"$FOLDER"', "integrations.d")
            assert "$" not in text, f"{name}.yml: an expression the test cannot replace: {text}"
            found.append(shlex.split(text)[1:])
    return found


def test_every_command_the_workflows_run_works_against_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    seen = []
    for name in ("plan", "apply", "drift"):
        for written in commands(name):
            args = [*written, "--sandbox"] if written[0] in TARGET_COMMANDS else written
            result = run_cli(*args)
            assert result.exit_code in (0, 2), f"{name}.yml: reconciler {' '.join(args)}\n{result.stderr}"
            seen.append((name, args[0]))
        if name == "plan":  # what apply.yml's download-artifact step puts where its apply reads it
            download = next(s for s in steps(load("apply")) if s.get("uses", "").startswith("actions/download"))
            (tmp_path / download["with"]["path"]).mkdir()
            shutil.copy(tmp_path / "plan.json", tmp_path / download["with"]["path"] / "plan.json")
    assert seen == [
        ("plan", "validate"),
        ("plan", "plan"),
        ("apply", "apply"),  # the reviewed plan
        ("apply", "apply"),  # no reviewed plan: plan and apply
        ("drift", "drift"),
    ]
    assert run_cli("drift", "--sandbox").exit_code == 0  # the applies converged


def test_a_mistyped_flag_in_a_workflow_would_fail(run_cli: RunCli) -> None:
    assert run_cli("plan", "integrations.d", "--formt", "markdown").exit_code == 64
