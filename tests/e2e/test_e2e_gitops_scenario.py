"""The GitOps path as an adopting team lives it (issue 22, "How it is checked"): a fresh Git repository set up
as the README says (two environments, dev and prod, and the README's three caller workflows as printed), two
independent simulators served over HTTP, and each GitHub environment's real secrets. The reusable workflows'
steps run one by one (tests/actions_runner.py), with GitHub's own parts played here: pull-request comments,
the drift issue, artifacts, the `if:` of the comment step and the apply job's search for the reviewed plan.

1. A pull request adds three integrations: a plan comment per environment; the merge applies them, and each
   server receives each of its own secret values.
2. A pull request updates one, replaces one and deletes a protected one: the plan is refused (exit 3, the
   refusal in the comment, the check red); the merge finds no reviewed plan and writes nothing.
3. A change made in Immuta's UI: the next pull request's comment marks it "reverts a change made outside Git".
4. The nightly drift job finds it (exit 2) and writes the issue.
5. That pull request merged after Immuta moved again (prod: a stale plan) and without a secret (dev): both
   applies are refused before any write, with a job summary saying what happened and what to do.

Every comment, issue, job summary, log, output file, artifact and saved plan is then searched for every
secret value and the API keys: none appears."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

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
)

pytestmark = pytest.mark.e2e

README = (REPO / "README.md").read_text(encoding="utf-8")
ACTION_STEP = "./.reconciler-action"
COMMENT_IF = (
    "${{ !cancelled() && github.event_name == 'pull_request' && "
    'contains(fromJSON(\'["0", "2", "3"]\'), steps.plan.outputs.exit-code) }}'
)
KEYS = {"dev": "scenario-dev-key-7d21", "prod": "scenario-prod-key-c94e"}
SECRETS = {
    "dev": {
        "SNOWFLAKE_PASSWORD": "dev-snowflake-pw-1f9a",
        "REDSHIFT_PASSWORD": "dev-redshift-pw-82c4",
        "DATABRICKS_CLIENT_SECRET": "dev-dbx-secret-5e07",
    },
    "prod": {
        "SNOWFLAKE_PASSWORD": "prod-snowflake-pw-3b6d",
        "REDSHIFT_PASSWORD": "prod-redshift-pw-a410",
        "DATABRICKS_CLIENT_SECRET": "prod-dbx-secret-0c58",
    },
}
OUT_OF_BAND = "typed-in-the-ui-pw-6e3f"  # what someone typed in Immuta's UI as the password
SNOWFLAKE = SNOWFLAKE_WITH_SECRET + "lifecycle:\n  preventDestroy: true\n"
REDSHIFT = REDSHIFT_WITH_SECRET
SNOWFLAKE_ABSENT = """\
type: Snowflake
ensure: absent
config:
  host: acme.us-east-1.snowflakecomputing.com
"""
DATABRICKS = """\
type: Databricks
autoBootstrap: true
config:
  workspaceUrl: dbc-a1b2c3d4-e5f6.cloud.databricks.com
  httpPath: /sql/1.0/warehouses/4b9b1c2d3e4f5a6b
  catalog: immuta_analytics
  authenticationType: oAuthM2M
  oAuthClientConfig:
    clientId: 6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f
    clientSecret: ${env:DATABRICKS_CLIENT_SECRET}
    scope: all-apis
    authorityUrl: https://dbc-a1b2c3d4-e5f6.cloud.databricks.com/oidc/v1/token
"""


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Team", "-c", "user.email=team@example.com", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def callers() -> dict[str, str]:
    """The three caller workflows exactly as the README prints them, by path."""
    import re

    found = re.finditer(r"```yaml\n# (\.github/workflows/reconciler-\w+\.yml)\n(.*?)```", README, re.S)
    return {m.group(1): m.group(2) for m in found}


class GitHub:
    """What GitHub does around the steps: the repository's environments and their secrets, artifacts by run,
    one sticky comment per pull request and environment, one drift issue per environment."""

    def __init__(self, work: Path, tenants: Mapping[str, RecordingSandbox]) -> None:
        self.work = work
        self.tenants = tenants
        self.secrets: dict[str, dict[str, str]] = {}
        for name in tenants:
            self.secrets[f"immuta-{name}-read"] = {"IMMUTA_API_KEY": KEYS[name]}
            self.secrets[f"immuta-{name}"] = {
                "IMMUTA_API_KEY": KEYS[name],
                "RECONCILER_SECRETS": json.dumps(SECRETS[name]),
            }
        self.runs: list[dict[str, Any]] = []  # {"id", "head", "environment", "conclusion", "artifact"}
        self.comments: dict[tuple[int, str], str] = {}
        self.issues: dict[str, str] = {}
        self.seen: list[str] = []  # everything a person can read, collected as each step ends
        self.results: list[ActionResult] = []

    def inputs(self, caller: str) -> dict[str, str]:
        jobs = yaml.safe_load((self.work / ".github" / "workflows" / caller).read_text(encoding="utf-8"))["jobs"]
        job = next(iter(jobs.values()))
        assert job["uses"].startswith(f"OWNER/reconciler/.github/workflows/{job['uses'].split('/')[-1]}")
        return {k: str(v) for k, v in job["with"].items()}

    def job(self, workflow: str, job_id: str, environment: str, github: Mapping[str, Any]) -> dict[str, Any]:
        """One job of a reusable workflow, as the caller's inputs and the job's GitHub environment give it."""
        caller = {"plan": "reconciler-plan.yml", "apply": "reconciler-apply.yml", "drift": "reconciler-drift.yml"}
        inputs = self.inputs(caller[workflow])
        job = load_yaml(REPO / ".github" / "workflows" / f"{workflow}.yml")["jobs"][job_id]
        base = {"inputs": inputs, "matrix": {"environment": environment}, "github": github}
        secrets = self.secrets.get(evaluate(job["environment"], base), {})
        run_id = len(self.runs) + 1
        env = {
            "GITHUB_RUN_ID": str(run_id),
            "GITHUB_REPOSITORY": "acme/immuta",
            "GITHUB_SERVER_URL": "https://github.com",
        }
        if github["event_name"] == "pull_request":
            env["GITHUB_BASE_REF"] = "main"
        run: dict[str, Any] = {"id": run_id, "environment": environment, "conclusion": "success", "artifact": None}
        run["head"] = github.get("event", {}).get("pull_request", {}).get("head", {}).get("sha")
        self.runs.append(run)
        outputs: dict[str, dict[str, str]] = {}
        for entry in job["steps"]:
            context = {**base, "secrets": secrets, "steps": {k: {"outputs": v} for k, v in outputs.items()}}
            with_ = {k: evaluate(v, context) for k, v in entry.get("with", {}).items()}
            failed = run["conclusion"] == "failure"
            if "if" in entry:
                assert entry["if"] == COMMENT_IF, "a step condition this harness does not know"
                if github["event_name"] != "pull_request" or outputs["plan"].get("exit-code") not in ("0", "2", "3"):
                    continue
            elif failed:
                continue
            uses = entry.get("uses", "")
            if uses == ACTION_STEP:
                result = run_action({k: v for k, v in with_.items() if v != ""}, self.work, env)
                self.results.append(result)
                self.seen.append(outputs_of(result))
                outputs[entry.get("id", "")] = result.outputs
                if result.returncode != 0:
                    run |= {"conclusion": "failure", "failed": entry["name"], "result": result}
            elif uses.startswith("actions/upload-artifact@"):
                run["artifact"] = {p.name: p.read_text("utf-8") for p in (self.work / with_["path"]).iterdir()}
                shutil.rmtree(self.work / with_["path"])
            elif uses.startswith("actions/github-script@"):
                self._script(entry, run, outputs, github, environment)
            elif "run" in entry:
                step_env = {k: evaluate(v, context) for k, v in entry.get("env", {}).items()}
                done = run_script(entry["run"], {**step_env, **env}, self.work)
                self.seen.append(done.stdout + done.stderr)
                if done.returncode != 0:
                    run |= {"conclusion": "failure", "failed": entry["name"], "log": done.stdout + done.stderr}
        # The job's workspace ends with it: what it saved (a refused plan's file too) is kept to search.
        left = self.work / "reconciler-plan"
        self.seen += [p.read_text("utf-8", errors="replace") for p in left.rglob("*") if p.is_file()]
        shutil.rmtree(left, ignore_errors=True)
        return run

    def _script(
        self,
        entry: Mapping[str, Any],
        run: dict[str, Any],
        outputs: dict[str, dict[str, str]],
        github: Mapping[str, Any],
        environment: str,
    ) -> None:
        """The github-script steps, played as GitHub would answer them (their scripts are tested with node in
        tests/test_workflows.py)."""
        if entry.get("id") == "reviewed":  # the newest successful trusted plan run for the merged head
            head = github["event"]["pull_request"]["head"]["sha"]
            found = [
                r
                for r in self.runs
                if r["head"] == head and r["environment"] == environment and r["conclusion"] == "success"
            ]
            found = [r for r in found if r["artifact"] is not None and r.get("workflow") == "plan"]
            if not found:
                run |= {"conclusion": "failure", "failed": entry["name"]}
                return
            outputs["reviewed"] = {"run_id": str(found[-1]["id"]), "head_sha": head}
            (self.work / "reconciler-plan").mkdir()
            for name, text in found[-1]["artifact"].items():
                (self.work / "reconciler-plan" / name).write_text(text, encoding="utf-8")
        elif entry.get("name") == "Sticky PR comment":
            body = Path(outputs["plan"]["output-file"]).read_text(encoding="utf-8")
            self.comments[(github["event"]["pull_request"]["number"], environment)] = body
        elif entry.get("name") == "Open, update or close the drift issue":
            if outputs["drift"]["exit-code"] == "2":
                self.issues[environment] = Path(outputs["drift"]["output-file"]).read_text(encoding="utf-8")
            else:
                self.issues.pop(environment, None)
        else:
            raise AssertionError(f"a github-script step this harness does not play: {entry.get('name')}")

    def plan(self, number: int, head: str) -> dict[str, dict[str, Any]]:
        """The pull request's plan workflow, one job per environment of the caller's list."""
        event = {"event_name": "pull_request", "event": {"pull_request": {"number": number, "head": {"sha": head}}}}
        git(self.work, "checkout", "-q", head)
        runs = {}
        for name in json.loads(self.inputs("reconciler-plan.yml")["environments"]):
            runs[name] = self.job("plan", "plan", name, event)
            runs[name]["workflow"] = "plan"
        return runs

    def apply(self, number: int, head: str) -> dict[str, dict[str, Any]]:
        """The push to main that merging pull request `number` makes: the apply workflow's `reviewed` job."""
        event = {"event_name": "push", "event": {"pull_request": {"number": number, "head": {"sha": head}}}}
        git(self.work, "checkout", "-q", "origin/main")
        environments = json.loads(self.inputs("reconciler-apply.yml")["environments"])
        return {name: self.job("apply", "reviewed", name, event) for name in environments}

    def drift(self) -> dict[str, dict[str, Any]]:
        git(self.work, "checkout", "-q", "origin/main")
        environments = json.loads(self.inputs("reconciler-drift.yml")["environments"])
        return {name: self.job("drift", "drift", name, {"event_name": "schedule"}) for name in environments}


@pytest.fixture
def tenants() -> Iterator[dict[str, RecordingSandbox]]:
    served = {name: RecordingSandbox(KEYS[name]) for name in ("dev", "prod")}
    yield served
    for tenant in served.values():
        tenant.close()


def pull_request(work: Path, branch: str, files: Mapping[str, str | None], message: str) -> str:
    """A branch off main with these files written (None: deleted), pushed; its head commit."""
    git(work, "checkout", "-q", "-B", branch, "origin/main")
    for name, text in files.items():
        if text is None:
            git(work, "rm", "-q", name)
        else:
            (work / name).write_text(text, encoding="utf-8")
            git(work, "add", name)
    git(work, "commit", "-q", "-m", message)
    git(work, "push", "-q", "origin", branch)
    return git(work, "rev-parse", "HEAD")


def merge(work: Path, branch: str) -> None:
    git(work, "checkout", "-q", "-B", "main", "origin/main")
    git(work, "merge", "-q", "--no-ff", "-m", f"Merge {branch}", f"origin/{branch}")
    git(work, "push", "-q", "origin", "main")


def change_outside_git(tenant: RecordingSandbox, key: str, field: str, value: str) -> None:
    """Someone edits one field of one integration in Immuta's UI (typing the password again)."""
    from reconciler.sandbox import SandboxRequest

    record = next(r for r in tenant.sandbox.list_integrations() if r["type"] == "Snowflake")
    payload = {k: record[k] for k in ("type", "autoBootstrap", "config")}
    payload["config"] = {**payload["config"], field: value, "password": OUT_OF_BAND}
    headers = {"authorization": key, "content-type": "application/json"}
    answer = tenant.sandbox.handle(
        SandboxRequest("PUT", f"/integrations/{record['id']}", headers, json.dumps(payload).encode())
    )
    assert answer.status == 200, answer


# About 20 jobs, each running the CLI in subprocesses against two servers: 15-25 s alone, up to ~40 s on a
# loaded two-core machine, so twice the suite's 60 s.
@pytest.mark.timeout(120)
def test_the_gitops_scenario(tmp_path: Path, tenants: dict[str, RecordingSandbox]) -> None:
    origin, work = tmp_path / "origin.git", tmp_path / "repo"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(tmp_path, "clone", "-q", str(origin), str(work))
    # The README's set-up: the files, one environment file per tenant, the callers as printed, .gitignore.
    (work / ".github" / "workflows").mkdir(parents=True)
    for path, text in callers().items():
        (work / path).write_text(text, encoding="utf-8")
    (work / "environments").mkdir()
    for name, tenant in tenants.items():
        (work / "environments" / f"{name}.yaml").write_text(f"url: {tenant.url}\npaths: [integrations.d]\n")
    (work / ".gitignore").write_text(".reconciler/\n", encoding="utf-8")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "Set up the reconciler as its README says")
    git(work, "push", "-q", "origin", "main")
    (work / "integrations.d").mkdir()
    hub = GitHub(work, tenants)
    assert sorted(hub.secrets) == ["immuta-dev", "immuta-dev-read", "immuta-prod", "immuta-prod-read"]

    # 1. Three integrations: a plan comment per environment, then the merge applies them with their secrets.
    files = {"integrations.d/snowflake.yaml": SNOWFLAKE, "integrations.d/redshift.yaml": REDSHIFT}
    files["integrations.d/databricks.yaml"] = DATABRICKS
    head1 = pull_request(work, "add-three", files, "Add Snowflake, Redshift and Databricks")
    plans = hub.plan(1, head1)
    for name, tenant in tenants.items():
        assert plans[name]["conclusion"] == "success", plans[name]
        comment = hub.comments[(1, name)]
        assert comment.startswith(f"<!-- reconciler-plan -->\n### reconciler plan: {name} · ")
        assert "**Plan: 3 to create, 0 to update, 0 to replace, 0" in comment
        run = f"[Run](https://github.com/acme/immuta/actions/runs/{plans[name]['id']})"
        assert comment.endswith(f"{run} · Merging applies exactly this plan to **{name}** (`{tenant.url}`).\n")
        assert tenant.writes() == 0, "a plan writes nothing"
    merge(work, "add-three")
    applied = hub.apply(1, head1)
    for name, tenant in tenants.items():
        assert applied[name]["conclusion"] == "success", applied[name]
        assert sorted(r["type"] for r in tenant.sandbox.list_integrations()) == ["Databricks", "Redshift", "Snowflake"]
        for value in SECRETS[name].values():
            assert tenant.received(value), (name, value)
        other = "prod" if name == "dev" else "dev"
        assert not any(tenant.received(v) for v in SECRETS[other].values()), "each tenant gets its own secrets"
    assert [r.outputs["exit-code"] for r in hub.results[-2:]] == ["0", "0"]
    assert hub.results[-1].summary.startswith("### reconciler apply (prod): **applied**")
    assert "3 to create:" in hub.results[-1].stdout  # the log shows what was applied

    # 2. Update one, replace one, delete the protected one: refused at plan time; the merge applies nothing.
    changed = {
        "integrations.d/redshift.yaml": REDSHIFT.replace("username: immuta_system", "username: immuta_admin"),
        "integrations.d/databricks.yaml": DATABRICKS.replace("catalog: immuta_analytics", "catalog: immuta_bi"),
        # A tombstone deletes (a removed file is only an orphan: the callers do not --prune).
        "integrations.d/snowflake.yaml": SNOWFLAKE_ABSENT,
    }
    head2 = pull_request(work, "reshape", changed, "Rename the Redshift user, move the catalog, drop Snowflake")
    writes = {name: tenant.writes() for name, tenant in tenants.items()}
    plans = hub.plan(2, head2)
    for name, tenant in tenants.items():
        assert (plans[name]["conclusion"], plans[name].get("failed")) == ("failure", "Plan"), hub.comments[(2, name)]
        assert plans[name]["artifact"] is None, "a refused plan is never saved for the merge"
        comment = hub.comments[(2, name)]
        assert "**Refused by a safety gate: merging applies nothing until this is fixed.**" in comment
        assert "lifecycle.preventDestroy in integrations.d/snowflake.yaml on origin/main forbids delete" in comment
        assert "**Plan: 0 to create, 1 to update, 1 to replace, 1 to delete, 0 unchanged.**" in comment
        run = f"[Run](https://github.com/acme/immuta/actions/runs/{plans[name]['id']})"
        closing = f"Merging applies nothing to **{name}** (`{tenant.url}`): a safety gate refused this plan"
        assert comment.endswith(f"{run} · {closing} (above).\n")
        assert "> **This plan destroys 2 integration(s)** (1 delete(s), 1 replace(s))" in comment
        table = comment.split("|---|---|---|---|---|\n", 1)[1]
        assert [row.split(" | ")[1] for row in table.splitlines()[:3]] == ["delete", "replace", "update"]
    refused_plan = hub.results[-1]
    assert refused_plan.outputs["exit-code"] == "3"
    assert "merging applies nothing until it is fixed" in refused_plan.summary
    assert "refused: a safety gate refuses this plan; apply would change nothing:" in refused_plan.stderr
    merge(work, "reshape")  # merged anyway (no branch protection): the apply job finds no reviewed plan
    applied = hub.apply(2, head2)
    for name, tenant in tenants.items():
        assert applied[name]["failed"] == "Find the plan reviewed on the merged pull request"
        assert tenant.writes() == writes[name], "nothing applied"
        assert sorted(r["type"] for r in tenant.sandbox.list_integrations()) == ["Databricks", "Redshift", "Snowflake"]
    git(work, "checkout", "-q", "-B", "main", "origin/main")
    git(work, "revert", "-m", "1", "--no-edit", "HEAD")  # the team reverts the merge
    git(work, "push", "-q", "origin", "main")

    # 3. A change in Immuta's UI; the next pull request's comment says applying it reverts that change.
    change_outside_git(tenants["prod"], KEYS["prod"], "warehouse", "OOB_WH")
    bump = {"integrations.d/redshift.yaml": REDSHIFT.replace("username: immuta_system", "username: immuta_admin")}
    head3 = pull_request(work, "redshift-user", bump, "Rename the Redshift user")
    plans = hub.plan(3, head3)
    assert all(run["conclusion"] == "success" for run in plans.values())
    prod, dev = hub.comments[(3, "prod")], hub.comments[(3, "dev")]
    assert "reverts a change made outside Git" in prod
    assert "OOB_WH" in prod and "IMMUTA_WH" in prod
    assert "reverts a change made outside Git" not in dev, "dev was not changed outside Git"

    # 4. The nightly drift job finds it: exit 2 and the issue's text, in prod only.
    drifted = hub.drift()
    assert all(run["conclusion"] == "success" for run in drifted.values())
    assert [r.outputs["exit-code"] for r in hub.results[-2:]] == ["0", "2"], hub.issues
    assert set(hub.issues) == {"prod"}
    assert "changed outside Git" in hub.issues["prod"] and "OOB_WH" in hub.issues["prod"]
    assert '| `config.warehouse` | `"IMMUTA_WH"` | `"OOB_WH"` |' in hub.results[-1].stdout
    assert hub.results[-2].summary.startswith("<!-- reconciler-drift -->\n### reconciler drift\n\n**No drift: ")
    assert "To resolve" not in hub.results[-2].summary, "a clean night has nothing to resolve"

    # 5. Merged after Immuta moved again (prod: stale) and without a secret in dev's environment: refused.
    change_outside_git(tenants["prod"], KEYS["prod"], "warehouse", "OOB_WH_2")
    hub.secrets["immuta-dev"]["RECONCILER_SECRETS"] = json.dumps(
        {k: v for k, v in SECRETS["dev"].items() if k != "REDSHIFT_PASSWORD"}
    )
    writes = {name: tenant.writes() for name, tenant in tenants.items()}
    merge(work, "redshift-user")
    applied = hub.apply(3, head3)
    for name, tenant in tenants.items():
        assert applied[name]["failed"] == "Apply the reviewed plan"
        assert tenant.writes() == writes[name], "nothing written"
    dev_apply, prod_apply = hub.results[-2:]
    assert (dev_apply.outputs["exit-code"], prod_apply.outputs["exit-code"]) == ("1", "3")
    assert dev_apply.summary.startswith("### reconciler apply (dev): **missing secret(s)**, nothing was written")
    line = (
        "integrations.d/redshift.yaml:8 needs REDSHIFT_PASSWORD: add it to the `immuta-dev` environment's "
        "secrets (the JSON secret RECONCILER_SECRETS)"
    )
    assert f"- {line}" in dev_apply.summary and line in dev_apply.stderr
    assert prod_apply.summary.startswith("### reconciler apply (prod): **stale**, nothing was written")
    assert "To plan again, run this workflow by hand" in prod_apply.summary
    assert "::error::The reviewed plan is stale (main moved on, or Immuta changed)." in prod_apply.stdout
    assert "::error file=integrations.d/redshift.yaml,line=8," in dev_apply.stderr

    # No secret value, nor any API key, anywhere a person or a later job can read.
    readable = [*hub.seen, *hub.comments.values(), *hub.issues.values()]
    readable += [text for run in hub.runs if run["artifact"] for text in run["artifact"].values()]
    readable += [
        p.read_text("utf-8", errors="replace") for p in work.rglob("*") if p.is_file() and ".git" not in p.parts
    ]
    temp = tmp_path / "runner-temp"  # the output files and captured stderr the action leaves
    readable += [p.read_text("utf-8", errors="replace") for p in temp.iterdir() if p.is_file() and not p.is_symlink()]
    everything = "\n".join(readable)
    for value in [*SECRETS["dev"].values(), *SECRETS["prod"].values(), *KEYS.values(), OUT_OF_BAND]:
        assert value not in everything, value
