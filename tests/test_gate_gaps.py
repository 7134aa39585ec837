"""Gaps between the trust gates (issue 19), each closed in its gate: a number JSON cannot hold (`.nan`,
`.inf`) is refused where it is read; `scripts` and `plan --check` run the delete gate apply runs; a
desired-state or environment file that links out of the repository is refused by the one loader."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_delete_gate import lake, write

from reconciler.sandbox.api import Sandbox

STATE = "state.json"
SANDBOX = ("--sandbox", "--sandbox-state", STATE)
RunCli = Callable[..., Any]
INPUT_ERROR = "error: 1 problem(s) in the desired-state files; nothing was changed\n"
ENV_ERROR = "error: 1 problem(s) with the environment (--env, environments/); nothing was changed\n"


def records(tenant: Sandbox) -> str:
    return json.dumps(sorted(tenant.list_integrations(), key=lambda r: str(r["id"])), sort_keys=True)


def listing(root: Path) -> list[str]:
    """Every file under `root` but the sandbox's lock (left by any run that opens the sandbox)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.suffix != ".lock")


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli) -> Sandbox:
    """A sandbox holding the lake `datalake-old` (autoBootstrap: false) from integrations.d/lake.yaml."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "integrations.d/lake.yaml", lake("datalake-old"))
    applied = run_cli("apply", *SANDBOX, "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    return Sandbox(state_file=str(tmp_path / STATE))


# -- a number JSON cannot hold ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("plan", *SANDBOX, "--format", "json", "--out", "p.json"), ("validate",)])
@pytest.mark.parametrize("written", [".nan", "-.inf", "1e999"])
def test_nan_or_infinity_in_a_file_is_refused_before_any_output(
    tenant: Sandbox, run_cli: RunCli, tmp_path: Path, command: tuple[str, ...], written: str
) -> None:
    before = records(tenant)
    write(tmp_path, "integrations.d/lake.yaml", lake("datalake-old", lifecycle=f"x-note: {written}\n"))
    write(tmp_path, "integrations.d/trino.yaml", f"type: Trino\nensure: absent\nextra: {written}\n")
    files = listing(tmp_path)

    result = run_cli(*command)

    refused = f'{written} is not a number JSON can hold: write a number, or quote it ("{written}")'
    located = f"integrations.d/lake.yaml:11:9: $.x-note: {refused}\nintegrations.d/trino.yaml:3:8: $.extra: {refused}\n"
    assert result.exit_code == 1
    assert located in result.stdout + result.stderr  # validate reports on stdout, plan on stderr
    assert "NaN" not in result.stdout + result.stderr and "Infinity" not in result.stdout + result.stderr
    assert listing(tmp_path) == files  # no saved plan, no temp file
    assert records(tenant) == before


def test_nan_twice_in_a_unique_list_is_two_located_problems(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "integrations.d/lake.yaml",
        lake("datalake-old", lifecycle="lifecycle:\n  ignoreChanges: [.nan, .nan]\n"),
    )

    result = run_cli("plan", *SANDBOX, "--format", "json")

    refused = '.nan is not a number JSON can hold: write a number, or quote it (".nan")'
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "integrations.d/lake.yaml:12:3: $.lifecycle.ignoreChanges: must not contain duplicate items\n"
        f"integrations.d/lake.yaml:12:19: $.lifecycle.ignoreChanges[0]: {refused}\n"
        f"integrations.d/lake.yaml:12:25: $.lifecycle.ignoreChanges[1]: {refused}\n"
        "error: 3 problem(s) in the desired-state files; nothing was changed\n"
    )


def test_nan_in_an_environment_value_is_refused_where_it_is_written(
    tenant: Sandbox, run_cli: RunCli, tmp_path: Path
) -> None:
    before = records(tenant)
    write(tmp_path, "environments/dev.yaml", "url: https://dev.example.com\nvalues:\n  PORT: .inf\n")
    write(tmp_path, "integrations.d/lake.yaml", lake("datalake-old", port="  port: ${var:PORT}\n"))

    result = run_cli("plan", *SANDBOX, "--env", "dev", "--format", "json")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "environments/dev.yaml:3:9: $.values.PORT: .inf is not a number JSON can hold: write a number, "
        'or quote it (".inf")\n' + ENV_ERROR
    )
    assert records(tenant) == before


# -- scripts and plan --check run apply's delete gate ----------------------------------------------------

ORPHAN_RENAME = (
    "Native S3[name=datalake-new] (integrations.d/new.yaml:4): lifecycle.previously in integrations.d/new.yaml "
    "names Native S3[name=datalake-old], which no file on the base revision declared: replacing it would "
    "delete an integration no file declares, which only --prune does; re-run with --prune if that is intended"
)


def rename_an_orphan(tmp_path: Path) -> None:
    """`previously` in a new file naming an integration no file declares any more: only --prune deletes it."""
    (tmp_path / "integrations.d/lake.yaml").unlink()
    previously = "lifecycle:\n  previously: {name: datalake-old}\n"
    write(tmp_path, "integrations.d/new.yaml", lake("datalake-new", lifecycle=previously))


def test_scripts_writes_no_delete_script_for_a_delete_the_gate_refuses(
    tenant: Sandbox, run_cli: RunCli, tmp_path: Path
) -> None:
    before = records(tenant)
    rename_an_orphan(tmp_path)

    result = run_cli("scripts", *SANDBOX, "--out", "out")

    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == f"refused: a safety gate refuses this plan; no script was written:\n  {ORPHAN_RENAME}\n"
    assert not (tmp_path / "out").exists()
    assert records(tenant) == before
    allowed = run_cli("scripts", *SANDBOX, "--out", "out", "--prune")
    assert allowed.exit_code == 0, allowed.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        ".gitignore",
        "01-new.delete.sql",
        "02-new.create.sql",
        "README.md",
    ]


def test_scripts_prune_over_part_of_the_state_is_a_usage_error(
    tenant: Sandbox, run_cli: RunCli, tmp_path: Path
) -> None:
    write(tmp_path, "integrations.d/other.yaml", lake("datalake-other", bucket="other"))

    result = run_cli("scripts", "integrations.d/other.yaml", *SANDBOX, "--out", "out", "--prune")

    assert (result.exit_code, result.stdout) == (64, "")
    assert result.stderr.endswith(
        "Error: --prune deletes what no file declares, so it needs the whole desired state (integrations.d), not "
        "part of it (integrations.d/other.yaml): drop --prune, or give integrations.d\n"
    )
    assert not (tmp_path / "out").exists()


def test_scripts_refuses_the_blast_radius_apply_refuses_unless_forced(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for index in range(5):
        write(tmp_path, f"integrations.d/lake{index}.yaml", lake(f"lake-{index}", bucket=f"lake-{index}"))
    assert run_cli("apply", *SANDBOX, "--auto-approve").exit_code == 0
    for index in range(2):
        (tmp_path / f"integrations.d/lake{index}.yaml").unlink()

    result = run_cli("scripts", *SANDBOX, "--out", "out", "--prune")

    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == (
        "refused: a safety gate refuses this plan; no script was written:\n"
        "  the plan deletes or replaces 2 of 5 managed integrations, more than 30%; re-run with --force if that "
        "is intended\n"
    )
    assert not (tmp_path / "out").exists()
    forced = run_cli("scripts", *SANDBOX, "--out", "out", "--prune", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert len(list((tmp_path / "out").glob("*.delete.sql"))) == 2


def test_plan_check_of_a_matching_saved_plan_still_runs_the_gate(
    tenant: Sandbox, run_cli: RunCli, tmp_path: Path
) -> None:
    before = records(tenant)
    rename_an_orphan(tmp_path)
    saved = run_cli("plan", *SANDBOX, "--out", "p.json")
    assert saved.exit_code == 3  # saved all the same: the artifact a reviewer reads
    text = (tmp_path / "p.json").read_text(encoding="utf-8")

    result = run_cli("plan", *SANDBOX, "--check", "p.json")

    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == (
        f"refused: the saved plan p.json still matches, but a safety gate refuses it:\n  {ORPHAN_RENAME}\n"
    )
    assert (tmp_path / "p.json").read_text(encoding="utf-8") == text
    assert records(tenant) == before


# -- links lead nowhere out of the repository ------------------------------------------------------------


def outside(tmp_path: Path) -> Path:
    """A valid desired-state file in a folder beside the repository (another checkout, a runner's folder)."""
    folder = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    write(folder, "trino.yaml", "type: Trino\n")
    return folder


def test_a_desired_state_link_out_of_the_repository_is_refused_where_it_is(
    tenant: Sandbox, run_cli: RunCli, tmp_path: Path
) -> None:
    before = records(tenant)
    elsewhere = outside(tmp_path)
    (tmp_path / "integrations.d/passwd.yaml").symlink_to("/etc/passwd")
    (tmp_path / "integrations.d/trino.yaml").symlink_to(elsewhere / "trino.yaml")

    for command in (("validate",), ("plan", *SANDBOX), ("apply", *SANDBOX, "--auto-approve")):
        result = run_cli(*command)

        assert result.exit_code == 1
        shown = result.stdout + result.stderr
        assert (
            f"integrations.d/passwd.yaml:1:1: cannot read file: a link to /etc/passwd, outside {tmp_path}: "
            "desired-state files are read only from inside it (copy the file in)\n"
        ) in shown
        assert (
            f"integrations.d/trino.yaml:1:1: cannot read file: a link to {elsewhere}/trino.yaml, outside "
            f"{tmp_path}: desired-state files are read only from inside it (copy the file in)\n"
        ) in shown
        assert "root:" not in shown
    assert records(tenant) == before


def test_a_linked_folder_out_of_the_repository_is_refused(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    elsewhere = outside(tmp_path)
    (tmp_path / "linked").symlink_to(elsewhere)

    result = run_cli("validate", "linked")

    assert (result.exit_code, result.stdout) == (
        1,
        f"linked/trino.yaml:1:1: cannot read file: a link to {elsewhere}/trino.yaml, outside {tmp_path}: "
        "desired-state files are read only from inside it (copy the file in)\n",
    )


def test_a_link_inside_the_repository_is_read(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, "shared/trino.yaml", "type: Trino\n")
    (tmp_path / "integrations.d/trino.yaml").symlink_to("../shared/trino.yaml")

    result = run_cli("plan", *SANDBOX)

    assert result.exit_code == 0, result.stderr
    assert "Plan: 1 to create, 0 to update, 0 to replace, 0 to delete, 1 unchanged.\n" in result.stdout


def test_an_environment_file_linked_out_of_the_repository_is_refused(
    tenant: Sandbox, run_cli: RunCli, tmp_path: Path
) -> None:
    before = records(tenant)
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments/dev.yaml").symlink_to("/etc/passwd")

    result = run_cli("plan", *SANDBOX, "--env", "dev")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"--env dev: environments/dev.yaml: a link to /etc/passwd, outside {tmp_path}: environment files are "
        "read only from inside it (copy the file in)\n" + INPUT_ERROR
    )
    assert records(tenant) == before


# -- found by the adversarial pass -----------------------------------------------------------------------

SECRET_LOOKING = '{"type": "TOKEN-1", "ensure": "TOKEN-2", "autoBootstrap": "TOKEN-3"}\n'


def test_a_link_to_a_hidden_file_of_the_repository_is_refused(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    """Hidden files are never desired state (.git/config, .env, a credentials file a CI step left): a link
    with a plain name must not bring one in, where its values would be quoted by validation messages."""
    write(tmp_path, ".ci/creds.json", SECRET_LOOKING)
    (tmp_path / "integrations.d/x.yaml").symlink_to("../.ci/creds.json")

    for command in (("validate",), ("plan", *SANDBOX, "--format", "json")):
        result = run_cli(*command)

        shown = result.stdout + result.stderr
        assert result.exit_code == 1
        assert (
            f"integrations.d/x.yaml:1:1: cannot read file: a link to {tmp_path}/.ci/creds.json, a hidden file or "
            "folder: desired-state files never are (.git, .env)\n"
        ) in shown
        assert "TOKEN-" not in shown


def test_an_environments_paths_stay_inside_the_repository(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    """An environment file is in the pull request: its paths must not read YAML from the runner's disk."""
    elsewhere = outside(tmp_path)
    write(elsewhere, "creds.yaml", SECRET_LOOKING)
    write(tmp_path, "environments/dev.yaml", f"url: https://dev.example.com\npaths: [integrations.d, {elsewhere}]\n")

    result = run_cli("plan", *SANDBOX, "--env", "dev", "--format", "json")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"environments/dev.yaml:2:25: $.paths[1]: {elsewhere} is outside the repository ({tmp_path}): an "
        "environment's paths stay inside it\n" + ENV_ERROR
    )
    assert "TOKEN-" not in result.stderr


def test_an_environments_paths_name_no_hidden_file(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, ".ci/creds.json", SECRET_LOOKING)
    write(
        tmp_path,
        "environments/dev.yaml",
        "url: https://dev.example.com\npaths:\n  - integrations.d\n  - .ci/creds.json\n",
    )

    result = run_cli("validate", "--env", "dev")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "environments/dev.yaml:4:5: $.paths[1]: .ci/creds.json is hidden: an environment's paths name no hidden "
        "file or folder (.git, .env)\n" + ENV_ERROR
    )


def test_scripts_keeps_the_base_revisions_protection(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deleting the protected file in the change that prunes it is not enough, for scripts as for apply."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "integrations.d/lake.yaml", lake("datalake-old", lifecycle="lifecycle:\n  preventDestroy: true\n"))
    write(tmp_path, ".gitignore", "state.json*\n")
    for args in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-q", "-m", "base")):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], check=True, cwd=tmp_path
        )
    assert run_cli("apply", *SANDBOX, "--auto-approve").exit_code == 0
    (tmp_path / "integrations.d/lake.yaml").unlink()

    result = run_cli("scripts", *SANDBOX, "--out", "out", "--prune", "--base", "main")

    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == (
        "refused: a safety gate refuses this plan; no script was written:\n"
        "  Native S3[name=datalake-old]: lifecycle.preventDestroy in integrations.d/lake.yaml on main forbids "
        "delete (pruned: no file declares it); lift the protection in a reviewed change of its own first\n"
    )
    assert not (tmp_path / "out").exists()
