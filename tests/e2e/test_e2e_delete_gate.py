"""The delete gate over HTTP (issues 19 and 22): a pull request that deletes a file the base revision
protected fails its plan (exit 3, the reason in the comment), its saved plan is refused at merge, and the
simulator sees no POST, PUT or DELETE."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from e2e_kit import RunCli, Tenant

pytestmark = pytest.mark.e2e

S3 = "Native S3[name=datalake-prod]"
REASON = (
    f"{S3}: lifecycle.preventDestroy in integrations.d/s3-datalake.yaml on origin/main forbids delete (pruned: no "
    "file declares it); lift the protection in a reviewed change of its own first"
)
SHOWN = (  # as the comment shows it: brackets escaped, never a link
    "Native S3\\[name=datalake-prod\\]: lifecycle.preventDestroy in integrations.d/s3-datalake.yaml on origin/main "
    "forbids delete (pruned: no file declares it); lift the protection in a reviewed change of its own first"
)


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        check=True,
        capture_output=True,
    )


def test_a_protected_delete_is_red_at_plan_and_refused_at_merge(
    tenant: Tenant, run_cli: RunCli, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = files.parent
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(root / "no-gitconfig"))
    assert run_cli("apply", "--auto-approve").exit_code == 0
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "integrations.d")
    git(root, "commit", "-q", "-m", "applied")
    git(root, "update-ref", "refs/remotes/origin/main", "main")  # as actions/checkout fetches the base
    (files / "s3-datalake.yaml").unlink()
    tenant.sandbox.exchanges.clear()

    monkeypatch.setenv("GITHUB_BASE_REF", "main")  # the pull request's plan job
    planned = run_cli("plan", "--prune", "--format", "markdown", "--out", "reviewed.plan")
    assert planned.exit_code == 3
    assert (
        f"> [!CAUTION]\n> **Refused by a safety gate: merging applies nothing until this is fixed.**\n> - {SHOWN}\n"
        in (planned.stdout)
    )
    monkeypatch.delenv("GITHUB_BASE_REF")  # the merge job: no base, the saved plan carries it
    merged = run_cli("apply", "reviewed.plan", "--prune")
    assert (merged.exit_code, merged.stdout) == (3, "")
    assert merged.stderr == f"refused: the plan was refused by a safety gate; nothing was changed:\n  {REASON}\n"
    assert tenant.sandbox.writes() == []
    assert S3 in {
        f"Native S3[name={r['config']['name']}]" for r in tenant.sandbox.list_integrations() if r["type"] == "Native S3"
    }
