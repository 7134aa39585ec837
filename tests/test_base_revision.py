"""The base revision is read whole, from the base (issue 19, item 3): its environment file, the roots its
`paths` declare, their files and the `${var:}` values they are filled with all come from the base tree, so
a pull request cannot lift the base's protection by editing what the base is read with. Links resolve
inside the base tree; the working tree's size limit holds; names need not be UTF-8; anything that cannot be
read fails the run (exit 1) with the fix, and a refusal leaves the tenant as it was."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox.api import Sandbox

STATE = "state.json"
RUN = ("--sandbox", "--sandbox-state", STATE, "--env", "dev")
GATE = "refused: the plan was refused by a safety gate; nothing was changed:\n"
LAKE_OLD = "Native S3[name=datalake-prod]"
LAKE_NEW = "Native S3[name=datalake-main]"
LAKE = """\
type: Native S3
autoBootstrap: false
config:
  name: ${var:LAKE}
  awsAccountId: "123456789012"
  awsRegion: us-east-1
  awsLocationRole: arn:aws:iam::123456789012:role/immuta-access-grants-location
  awsLocationPath: s3://acme-datalake/
  authenticationType: auto
  awsRoleToAssume: arn:aws:iam::123456789012:role/immuta
lifecycle:
  preventDestroy: ${var:PROTECT}
"""
DEV = """\
url: https://acme-dev.immuta.example
paths: [integrations.d, lake.d]
values: {LAKE: datalake-prod, PROTECT: true}
"""
RunCli = Callable[..., Any]


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        check=True,
        capture_output=True,
    )
    return done.stdout.decode()


def records(tenant: Sandbox) -> str:
    return json.dumps(sorted(tenant.list_integrations(), key=lambda r: str(r["id"])), sort_keys=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli) -> Path:
    """A repository whose `main` holds a protected lake (its name and protection from dev's values), applied."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    for name, text in {
        "integrations.d/trino.yaml": "type: Trino\n",
        "lake.d/lake.yaml": LAKE,
        "environments/dev.yaml": DEV,
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    applied = run_cli("apply", *RUN, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    commit(tmp_path)
    return tmp_path


def commit(root: Path) -> None:
    if not (root / ".git").exists():
        git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")


@pytest.fixture
def tenant(repo: Path) -> Sandbox:
    return Sandbox(state_file=str(repo / STATE))


def refused(run_cli: RunCli, tenant: Sandbox, *reasons: str, args: tuple[str, ...] = ("--prune",)) -> None:
    before = records(tenant)
    listed = "".join(f"  {r}\n" for r in reasons)
    result = run_cli("apply", "--auto-approve", *RUN, "--base", "main", *args)
    assert (result.exit_code, result.stdout, result.stderr) == (3, "", GATE + listed)
    planned = run_cli("plan", *RUN, "--base", "main", *args)  # the pull request's check fails before merge
    assert planned.exit_code == 3
    assert planned.stdout.endswith("\nRefused by a safety gate: apply would change nothing.\n" + listed)
    assert planned.stderr.endswith("refused: a safety gate refuses this plan; apply would change nothing:\n" + listed)
    assert records(tenant) == before


def failed(run_cli: RunCli, tenant: Sandbox, message: str) -> None:
    before = records(tenant)
    for command in (("plan",), ("apply", "--auto-approve", "--prune", "--force")):
        result = run_cli(*command, *RUN, "--base", "main")
        assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"error: {message}\n")
    assert records(tenant) == before


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


PRUNED_LAKE = (
    f"{LAKE_OLD}: lifecycle.preventDestroy in lake.d/lake.yaml on main forbids delete (pruned: no file declares "
    "it); lift the protection in a reviewed change of its own first"
)


# -- what the pull request edits does not change what the base says --------------------------------------


def test_a_variable_feeding_the_natural_key_is_read_from_the_base(repo: Path, tenant: Sandbox, run_cli: RunCli) -> None:
    edit(repo / "environments/dev.yaml", "LAKE: datalake-prod", "LAKE: datalake-main")
    refused(
        run_cli,
        tenant,
        f"{LAKE_NEW} (lake.d/lake.yaml:4): lifecycle.preventDestroy forbids replace (renamed from {LAKE_OLD} "
        "(lake.d/lake.yaml on main): delete, then create); remove preventDestroy from the file first",
    )


def test_a_folder_dropped_from_the_paths_is_read_from_the_base(repo: Path, tenant: Sandbox, run_cli: RunCli) -> None:
    edit(repo / "environments/dev.yaml", "[integrations.d, lake.d]", "[integrations.d]")
    (repo / "lake.d/lake.yaml").unlink()
    refused(run_cli, tenant, PRUNED_LAKE)


def test_protection_by_a_variable_is_read_from_the_base(repo: Path, tenant: Sandbox, run_cli: RunCli) -> None:
    edit(repo / "environments/dev.yaml", "PROTECT: true", "PROTECT: false")
    (repo / "lake.d/lake.yaml").unlink()
    refused(run_cli, tenant, PRUNED_LAKE)


def test_an_environment_new_in_the_change_has_no_base(repo: Path, tenant: Sandbox, run_cli: RunCli) -> None:
    (repo / "environments/dev.yaml").rename(repo / "environments/test.yaml")
    commit(repo)
    (repo / "environments/test.yaml").rename(repo / "environments/dev.yaml")
    result = run_cli("plan", *RUN, "--base", "main", "--detailed-exitcode")
    assert result.exit_code == 0, result.stdout + result.stderr


# -- links, sizes and names in the base tree -------------------------------------------------------------


def test_a_base_file_that_is_a_link_inside_the_tree_protects(repo: Path, tenant: Sandbox, run_cli: RunCli) -> None:
    (repo / "shared").mkdir()
    (repo / "lake.d/lake.yaml").rename(repo / "shared/lake.yaml")
    (repo / "lake.d/lake.yaml").symlink_to("../shared/lake.yaml")
    commit(repo)
    (repo / "lake.d/lake.yaml").unlink()
    refused(run_cli, tenant, PRUNED_LAKE)


def test_a_base_root_that_is_a_link_to_a_folder_is_followed(repo: Path, tenant: Sandbox, run_cli: RunCli) -> None:
    (repo / "lake.d").rename(repo / "lake-files")
    (repo / "lake.d").symlink_to("lake-files")
    commit(repo)
    (repo / "lake-files/lake.yaml").unlink()
    refused(run_cli, tenant, PRUNED_LAKE)


@pytest.mark.parametrize(
    ("target", "shown"),
    [("/etc/hostname", "/etc/hostname"), ("../../outside.yaml", "../../outside.yaml")],
)
def test_a_base_link_leaving_the_tree_is_an_error(
    repo: Path, tenant: Sandbox, run_cli: RunCli, target: str, shown: str
) -> None:
    (repo / "lake.d/other.yaml").symlink_to(target)
    commit(repo)
    (repo / "lake.d/other.yaml").unlink()
    failed(
        run_cli,
        tenant,
        f"the base revision main cannot be read:\nlake.d/other.yaml: a link to {shown}, outside the repository "
        "(or in a circle)",
    )


def test_a_base_link_to_a_folder_inside_a_root_is_an_error(repo: Path, tenant: Sandbox, run_cli: RunCli) -> None:
    (repo / "lake.d/more").symlink_to("../integrations.d")
    commit(repo)
    (repo / "lake.d/more").unlink()
    failed(
        run_cli,
        tenant,
        "the base revision main cannot be read:\nlake.d/more: a link to a folder, which is not followed: give the "
        "folder",
    )


def test_a_base_file_over_the_limit_is_an_error_not_nothing(repo: Path, tenant: Sandbox, run_cli: RunCli) -> None:
    (repo / "lake.d/big.yaml").write_text("# padding\n" * 110_000, encoding="utf-8")
    commit(repo)
    (repo / "lake.d/big.yaml").unlink()
    failed(
        run_cli,
        tenant,
        "the base revision main cannot be read:\nmain:lake.d/big.yaml: 1,100,000 bytes, over the limit of 1,048,576 "
        "bytes (1 MiB) for a file",
    )


def test_a_base_file_just_over_a_million_bytes_still_protects(repo: Path, tenant: Sandbox, run_cli: RunCli) -> None:
    (repo / "lake.d/lake.yaml").write_text(LAKE + "#" * 1_000_000 + "\n", encoding="utf-8")
    commit(repo)
    (repo / "lake.d/lake.yaml").unlink()
    refused(run_cli, tenant, PRUNED_LAKE)


@pytest.mark.skipif(os.uname().sysname == "Darwin", reason="macOS file systems refuse names that are not UTF-8")
def test_a_base_file_whose_name_is_not_utf8_protects(repo: Path, tenant: Sandbox, run_cli: RunCli) -> None:
    name = os.fsdecode(b"lake.d/lak\xe9.yaml")
    (repo / "lake.d/lake.yaml").rename(repo / name)
    commit(repo)
    (repo / name).unlink()
    refused(run_cli, tenant, PRUNED_LAKE.replace("lake.d/lake.yaml", "lake.d/lak\\xe9.yaml"))


def test_a_base_file_that_is_not_utf8_is_an_error(repo: Path, tenant: Sandbox, run_cli: RunCli) -> None:
    (repo / "lake.d/latin.yaml").write_bytes(b"type: Trino\n# caf\xe9\n")
    commit(repo)
    (repo / "lake.d/latin.yaml").unlink()
    failed(run_cli, tenant, "the base revision main cannot be read:\nmain:lake.d/latin.yaml: not UTF-8 text (byte 17)")


def test_a_base_file_that_does_not_parse_is_an_error(repo: Path, tenant: Sandbox, run_cli: RunCli) -> None:
    (repo / "lake.d/broken.yaml").write_text("type: [Trino\n", encoding="utf-8")
    commit(repo)
    (repo / "lake.d/broken.yaml").unlink()
    result = run_cli("plan", *RUN, "--base", "main")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "error: the base revision main cannot be read:\nmain:lake.d/broken.yaml:1:7: YAML syntax error: the [ "
        "opened here is never closed (reached the end of the file)\n"
    )


def test_a_base_variable_missing_from_the_base_values_is_an_error(repo: Path, tenant: Sandbox, run_cli: RunCli) -> None:
    edit(repo / "environments/dev.yaml", "PROTECT: true", "PROTECTED: true")
    commit(repo)
    edit(repo / "environments/dev.yaml", "PROTECTED: true", "PROTECT: true")
    failed(
        run_cli,
        tenant,
        "the base revision main cannot be read:\nmain:lake.d/lake.yaml:12:3: $.lifecycle.preventDestroy: "
        "${var:PROTECT} is not in the environment's values",
    )


# -- git refusing ----------------------------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the checkout to another user")
def test_git_refusing_a_checkout_of_another_user_names_the_fix(repo: Path, tenant: Sandbox, run_cli: RunCli) -> None:
    os.chown(repo, 12345, 12345)
    failed(
        run_cli,
        tenant,
        f"git refuses to read {repo}: detected dubious ownership (the checkout belongs to another user); trust it "
        f"with `git config --global --add safe.directory {repo}`, then run again",
    )


def test_a_rename_read_from_the_base_stays_a_rename_under_target(repo: Path, tenant: Sandbox, run_cli: RunCli) -> None:
    edit(repo / "environments/dev.yaml", "LAKE: datalake-prod", "LAKE: datalake-main")
    refused(
        run_cli,
        tenant,
        f"{LAKE_NEW} (lake.d/lake.yaml:4): lifecycle.preventDestroy forbids replace (renamed from {LAKE_OLD} "
        "(lake.d/lake.yaml on main): delete, then create); remove preventDestroy from the file first",
        args=("--target", "lake.d/lake.yaml"),
    )


def test_git_refusing_is_an_error_naming_the_fix_whoever_runs_it(
    repo: Path, tenant: Sandbox, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As git answers in a container whose checkout another user owns (the message is git's own)."""
    fake = repo.parent / "fake-bin"
    fake.mkdir()
    (fake / "git").write_text(
        "#!/bin/sh\n"
        f"echo \"fatal: detected dubious ownership in repository at '{repo}'\" >&2\n"
        "echo 'To add an exception for this directory, call:' >&2\n"
        "echo >&2\n"
        f"printf '\\tgit config --global --add safe.directory {repo}\\n' >&2\n"
        "exit 128\n"
    )
    (fake / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    failed(
        run_cli,
        tenant,
        f"git refuses to read {repo}: detected dubious ownership (the checkout belongs to another user); trust it "
        f"with `git config --global --add safe.directory {repo}`, then run again",
    )


def test_git_missing_is_an_error_when_a_base_is_asked_for(
    repo: Path, tenant: Sandbox, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(repo / "no-such-bin"))
    failed(run_cli, tenant, "the base revision main cannot be read: git is not installed")


def test_paths_given_absolute_are_read_as_the_base_has_them_and_outside_the_repository_refused(
    repo: Path, tenant: Sandbox, run_cli: RunCli, tmp_path_factory: pytest.TempPathFactory
) -> None:
    (repo / "lake.d/lake.yaml").unlink()
    edit(repo / "environments/dev.yaml", "[integrations.d, lake.d]", f"[{repo / 'integrations.d'}, lake.d]")
    result = run_cli("plan", *RUN, "--base", "main")
    assert result.exit_code == 0, result.stdout + result.stderr  # no --prune: the lake is an orphan, shown
    assert "  ? Native S3[name=datalake-prod]  (id 1) — no file declares it (use --prune to delete)\n" in result.stdout
    # An environment file is in the pull request: its paths never read the runner's disk (issue 19).
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    edit(
        repo / "environments/dev.yaml",
        f"{repo / 'integrations.d'}, lake.d]",
        f"{repo / 'integrations.d'}, {elsewhere}]",
    )
    result = run_cli("plan", *RUN, "--base", "main")
    assert (result.exit_code, result.stdout) == (1, "")
    assert f"$.paths[1]: {elsewhere} is outside the repository ({repo}): an environment's paths stay inside it\n" in (
        result.stderr
    )


def test_a_submodule_in_a_base_root_is_an_error(repo: Path, tenant: Sandbox, run_cli: RunCli) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{head},lake.d/vendored")
    git(repo, "commit", "-q", "-m", "a submodule")
    failed(
        run_cli,
        tenant,
        "the base revision main cannot be read:\nlake.d/vendored: a submodule, whose files the base revision does "
        "not hold",
    )


def test_a_revision_that_looks_like_an_option_is_not_one(repo: Path, tenant: Sandbox, run_cli: RunCli) -> None:
    result = run_cli("plan", *RUN, "--base=--output=/tmp/x")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith("error: the base revision --output=/tmp/x is not in this checkout: fetch it")


@pytest.mark.parametrize(("value", "shown"), [('"true"', "'true'"), ("yes please", "'yes please'"), ("1", "1")])
def test_a_base_protection_that_is_not_a_boolean_is_an_error_not_unprotected(
    repo: Path, tenant: Sandbox, run_cli: RunCli, value: str, shown: str
) -> None:
    edit(repo / "lake.d/lake.yaml", "preventDestroy: ${var:PROTECT}", f"preventDestroy: {value}")
    commit(repo)
    (repo / "lake.d/lake.yaml").unlink()
    failed(
        run_cli,
        tenant,
        "the base revision main cannot be read:\nmain:lake.d/lake.yaml:12:3: lifecycle.preventDestroy must be true "
        f"or false, not {shown}",
    )
