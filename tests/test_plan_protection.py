"""Protection that survives renames and partial views (issue 11): a natural-key change is a rename, planned
as a replace that preventDestroy refuses — declared by `lifecycle.previously`, or read from the same file on
the Git base revision — what the base revision protected stays protected whatever the change does to the
file, and `--prune` with only part of the desired state is a usage error. Every refusal writes nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox.api import Sandbox

REPO = Path(__file__).resolve().parent.parent
STATE = "state.json"
SANDBOX = ("--sandbox", "--sandbox-state", STATE)
S3_FILE = "integrations.d/s3-datalake.yaml"
OLD = "Native S3[name=datalake-prod]"
NEW = "Native S3[name=datalake-main]"
GATE = "refused: the plan was refused by a safety gate; nothing was changed:\n"
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


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def rename_s3(root: Path, *, previously: bool = False) -> None:
    edit(root / S3_FILE, "name: datalake-prod ", "name: datalake-main ")
    if previously:
        with (root / S3_FILE).open("a", encoding="utf-8") as handle:
            handle.write("  previously: {name: datalake-prod}\n")


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli) -> Sandbox:
    """The shipped examples applied to a sandbox (the S3 one protected by preventDestroy)."""
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    for name in SHIPPED_REFERENCES:  # real values: no test relies on the sandbox's placeholder
        monkeypatch.setenv(name, f"{name.lower()}-value")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    applied = run_cli("apply", *SANDBOX, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    return Sandbox(state_file=str(tmp_path / STATE))


@pytest.fixture
def checkout(tenant: Sandbox, tmp_path: Path) -> Path:
    """The working directory as a Git repository whose `main` holds the files as applied."""
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "integrations.d")
    git(tmp_path, "commit", "-q", "-m", "applied")
    return tmp_path


def records(tenant: Sandbox) -> str:
    return json.dumps(sorted(tenant.list_integrations(), key=lambda r: str(r["id"])), sort_keys=True)


def refused(run_cli: RunCli, tenant: Sandbox, args: tuple[str, ...], *reasons: str) -> None:
    before = records(tenant)
    result = run_cli("apply", *SANDBOX, "--auto-approve", *args)
    assert (result.exit_code, result.stdout) == (3, ""), result.stdout + result.stderr
    assert result.stderr == GATE + "".join(f"  {r}\n" for r in reasons)
    assert records(tenant) == before


def s3_id(tenant: Sandbox) -> str:
    return next(str(r["id"]) for r in tenant.list_integrations() if r["type"] == "Native S3")


# -- lifecycle.previously ------------------------------------------------------------------------------


def test_a_declared_rename_of_a_protected_integration_is_refused(
    tenant: Sandbox, run_cli: RunCli, tmp_path: Path
) -> None:
    rename_s3(tmp_path, previously=True)
    refused(
        run_cli,
        tenant,
        ("--prune",),
        f"{NEW} ({S3_FILE}:16): lifecycle.preventDestroy forbids replace (renamed from {OLD} (lifecycle.previously "
        f"in {S3_FILE}): delete, then create); remove preventDestroy from the file first",
    )


def test_a_declared_rename_is_planned_as_a_replace(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    rename_s3(tmp_path, previously=True)
    result = run_cli("plan", *SANDBOX, "--prune")
    assert result.exit_code == 3, result.stderr  # refused at plan time, as apply refuses it
    assert (
        f"1 to REPLACE (delete, then create):\n  -/+ {NEW}  (id {s3_id(tenant)}, {S3_FILE}:16) — renamed from {OLD} "
        f"(lifecycle.previously in {S3_FILE}): delete, then create — needs the setup script first (reconciler "
        f'scripts)\n      ~ config.name: "datalake-prod" → "datalake-main"  (immutable: forces replace)  '
        f"[{S3_FILE}:16]\n\n6 unchanged:"
    ) in result.stdout
    assert "\nPlan: 0 to create, 0 to update, 1 to replace, 0 to delete, 6 unchanged.\n" in result.stdout


def test_an_unprotected_declared_rename_replaces(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    rename_s3(tmp_path, previously=True)
    edit(tmp_path / S3_FILE, "preventDestroy: true", "preventDestroy: false")
    result = run_cli("apply", *SANDBOX, "--prune", "--auto-approve")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert [r["config"]["name"] for r in tenant.list_integrations() if r["type"] == "Native S3"] == ["datalake-main"]


@pytest.mark.parametrize(
    ("previously", "column", "message"),
    [
        ("{nam: datalake-prod}", 16, "$.lifecycle.previously.nam: unknown field; did you mean 'name'?"),
        ("{name: 42}", 16, '$.lifecycle.previously.name: must be a string, not an integer 42 (quote it: "42")'),
    ],
)
def test_previously_names_natural_key_fields(
    tenant: Sandbox, run_cli: RunCli, tmp_path: Path, previously: str, column: int, message: str
) -> None:
    with (tmp_path / S3_FILE).open("a", encoding="utf-8") as handle:
        handle.write(f"  previously: {previously}\n")
    result = run_cli("validate")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].split(": ", 1) == [f"{S3_FILE}:27:{column}", message]


def test_trino_has_nothing_to_rename(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "integrations.d" / "trino.yaml").write_text("type: Trino\nlifecycle:\n  previously: {type: x}\n")
    result = run_cli("validate")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "integrations.d/trino.yaml:3:3: $.lifecycle.previously: is not allowed here"


# -- the base revision ---------------------------------------------------------------------------------


def test_a_rename_read_from_the_base_revision_is_refused(checkout: Path, tenant: Sandbox, run_cli: RunCli) -> None:
    rename_s3(checkout)
    refused(
        run_cli,
        tenant,
        ("--prune", "--base", "main"),
        f"{NEW} ({S3_FILE}:16): lifecycle.preventDestroy forbids replace (renamed from {OLD} ({S3_FILE} on main): "
        "delete, then create); remove preventDestroy from the file first",
    )


def test_dropping_the_flag_in_the_renaming_change_is_refused(checkout: Path, tenant: Sandbox, run_cli: RunCli) -> None:
    rename_s3(checkout)
    edit(checkout / S3_FILE, "preventDestroy: true", "preventDestroy: false")
    refused(
        run_cli,
        tenant,
        ("--base", "main"),
        f"{NEW}: lifecycle.preventDestroy in {S3_FILE} on main forbids replace (renamed from {OLD} ({S3_FILE} on "
        "main): delete, then create); lift the protection in a reviewed change of its own first",
    )


def test_deleting_the_protected_file_is_refused(
    checkout: Path, tenant: Sandbox, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (checkout / S3_FILE).unlink()
    git(checkout, "branch", "-q", "-m", "main", "pr")
    git(checkout, "update-ref", "refs/remotes/origin/main", "pr")  # a pull request's CI: origin/<base>
    monkeypatch.setenv("GITHUB_BASE_REF", "main")
    refused(
        run_cli,
        tenant,
        ("--prune", "--force"),
        f"{OLD}: lifecycle.preventDestroy in {S3_FILE} on origin/main forbids delete (pruned: no file declares "
        "it); lift the protection in a reviewed change of its own first",
    )


def test_a_saved_plan_carries_the_base_revision_to_main(checkout: Path, tenant: Sandbox, run_cli: RunCli) -> None:
    """The pull request's plan read the base; apply on main (no base to read) applies what it saw."""
    (checkout / S3_FILE).unlink()
    saved = run_cli("plan", *SANDBOX, "--prune", "--base", "main", "--out", "reviewed.plan")
    assert saved.exit_code == 3, saved.stderr  # the pull request's check is red; the plan is saved as shown
    shutil.rmtree(checkout / ".git")
    refused(
        run_cli,
        tenant,
        ("reviewed.plan", "--prune"),
        f"{OLD}: lifecycle.preventDestroy in {S3_FILE} on main forbids delete (pruned: no file declares it); "
        "lift the protection in a reviewed change of its own first",
    )


def test_once_a_reviewed_change_lifted_the_protection_the_delete_runs(
    checkout: Path, tenant: Sandbox, run_cli: RunCli
) -> None:
    edit(checkout / S3_FILE, "preventDestroy: true", "preventDestroy: false")
    git(checkout, "commit", "-q", "-am", "lift the protection of the lake")
    (checkout / S3_FILE).unlink()
    result = run_cli("apply", *SANDBOX, "--prune", "--auto-approve", "--base", "main")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Native S3" not in {r["type"] for r in tenant.list_integrations()}


def test_a_base_that_is_not_fetched_is_an_error(
    checkout: Path, tenant: Sandbox, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_BASE_REF", "main")
    result = run_cli("plan", *SANDBOX)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "error: the base revision origin/main is not in this checkout: fetch it (e.g. `git fetch origin main`, "
        "or actions/checkout with fetch-depth: 0), or pass --base REV\n"
    )


def test_a_base_outside_a_checkout_is_an_error(
    tenant: Sandbox, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pull request's run that cannot read its base would protect nothing: it fails instead."""
    before = records(tenant)
    for args, revision in ((("--base", "main"), "main"), ((), "origin/main")):
        monkeypatch.setenv("GITHUB_BASE_REF", "main")
        result = run_cli("apply", *SANDBOX, "--prune", "--auto-approve", "--force", *args)
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr == (
            f"error: the base revision {revision} cannot be read: not in a Git checkout (fatal: not a git repository "
            "(or any of the parent directories): .git); check the repository out first (actions/checkout)\n"
        )
    assert records(tenant) == before


# -- --prune needs the whole desired state ---------------------------------------------------------------


def test_prune_with_some_files_is_a_usage_error(tenant: Sandbox, run_cli: RunCli) -> None:
    before = records(tenant)
    result = run_cli("apply", *SANDBOX, S3_FILE, "--prune", "--force", "--auto-approve")
    assert (result.exit_code, result.stdout) == (64, "")
    assert result.stderr.endswith(
        "Error: --prune deletes what no file declares, so it needs the whole desired state (integrations.d), not "
        f"part of it ({S3_FILE}): drop --prune, or give integrations.d\n"
    )
    assert records(tenant) == before


def test_plan_prune_with_some_files_is_a_usage_error(tenant: Sandbox, run_cli: RunCli) -> None:
    result = run_cli("plan", *SANDBOX, S3_FILE, "integrations.d/trino.yaml", "--prune")
    assert result.exit_code == 64
    assert (
        "needs the whole desired state (integrations.d), not part of it (integrations.d/s3-datalake.yaml, "
        "integrations.d/trino.yaml)"
    ) in result.stderr


def test_prune_with_the_whole_desired_state_written_another_way_plans(tenant: Sandbox, run_cli: RunCli) -> None:
    assert run_cli("plan", *SANDBOX, "./integrations.d/", "--prune").exit_code == 0
    assert run_cli("apply", *SANDBOX, S3_FILE, "--auto-approve").exit_code == 0  # without --prune: fine


@pytest.mark.parametrize(
    ("given", "roots", "refused"),
    [
        (["integrations.d/s3.yaml"], ["integrations.d"], "needs the whole desired state (integrations.d)"),
        (["integrations.d"], ["integrations.d"], None),
        (["."], ["integrations.d"], None),  # more files than the roots: more declared, less pruned
        (["shared"], ["shared", "dev"], "needs the whole desired state (shared, dev)"),
        (["shared", "dev/"], ["shared", "dev"], None),
        (["/elsewhere/integrations.d"], ["integrations.d"], "/elsewhere/integrations.d is not declared"),
        (["infra/immuta"], ["integrations.d"], "infra/immuta is not declared"),
    ],
)
def test_which_paths_are_the_whole_desired_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: list[str], roots: list[str], refused: str | None
) -> None:
    from reconciler.planning.gate import prune_scope

    monkeypatch.chdir(tmp_path)
    problem = prune_scope(given, roots)
    assert (problem is None) if refused is None else (problem is not None and refused in problem)
