"""Issue 11, parts 3, 6, 8: files a careful user or a hostile pull request may give, each ending with a
located message and a non-zero exit — never "internal error", never a traceback — and nothing written.

One test per case; each asserts the exact message, the exit code and that no file changed."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox.api import Sandbox

REPO = Path(__file__).resolve().parent.parent
STATE = ".reconciler/sandbox.json"
SUMMARY = "error: 1 problem(s) in the desired-state files; nothing was changed\n"
RunCli = Callable[..., Any]  # the `run_cli` fixture of conftest.py
SECRET_VARIABLES = (
    "BIGQUERY_IMMUTA_SA_KEY",
    "DATABRICKS_IMMUTA_TOKEN",
    "DATABRICKS_OAUTH_CLIENT_SECRET",
    "REDSHIFT_BOOTSTRAP_PASSWORD",
    "S3_IMMUTA_ACCESS_KEY_ID",
    "S3_IMMUTA_SECRET_ACCESS_KEY",
    "SNOWFLAKE_ADMIN_PASSWORD",
    "SNOWFLAKE_ADMIN_USER",
    "SYNAPSE_IMMUTA_PASSWORD",
)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its content: what "nothing was written" is checked against."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink() and not p.name.endswith(".lock")
    }


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The shipped examples as the working directory's integrations.d, their secrets set."""
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    for name in SECRET_VARIABLES:
        monkeypatch.setenv(name, "fixture-value")
    monkeypatch.delenv("RECONCILER_DEBUG", raising=False)
    yield tmp_path


def assert_clean_failure(result: Any, code: int = 1) -> None:
    assert result.exit_code == code
    for text in (result.stdout, result.stderr):
        assert "internal error" not in text
        assert "Traceback" not in text


# -- part 3: the whole desired state or nothing --------------------------------------------------------------


def test_an_unreadable_folder_fails_the_run_and_prune_deletes_nothing(
    repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "integrations.d" / "team").mkdir()
    shutil.move(repo / "integrations.d" / "trino.yaml", repo / "integrations.d" / "team" / "trino.yaml")
    assert run_cli("apply", "--sandbox", "--auto-approve").exit_code == 0
    before = snapshot(repo)
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:  # as `chmod 000 integrations.d/team` does for anyone but root
        if Path(path).name == "team":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)

    result = run_cli("apply", "--sandbox", "--prune", "--auto-approve")

    monkeypatch.undo()
    assert_clean_failure(result)
    assert (result.stdout, result.stderr) == (
        "",
        f"integrations.d/team: cannot read folder: Permission denied\n{SUMMARY}",
    )
    assert snapshot(repo) == before  # Trino, declared in the unread folder, was not pruned


@pytest.mark.parametrize("make", [os.mkfifo, lambda p: p.symlink_to("/dev/null")], ids=["fifo", "device"])
def test_a_fifo_or_a_device_in_the_folder_fails_the_run(repo: Path, run_cli: RunCli, make: Any) -> None:
    assert run_cli("plan", "--sandbox").exit_code == 0  # the sandbox's state file exists
    before = snapshot(repo)
    make(repo / "integrations.d" / "extra.yaml")
    what = "a FIFO (named pipe)" if make is os.mkfifo else "a device"

    result = run_cli("plan", "--sandbox")

    assert_clean_failure(result)
    assert result.stdout == ""
    assert (
        result.stderr
        == f"integrations.d/extra.yaml: {what}, not a regular file: remove it or hide it (.name)\n{SUMMARY}"
    )
    assert snapshot(repo) == before


def test_yaml_files_in_any_letter_case_are_desired_state(repo: Path, run_cli: RunCli) -> None:
    (repo / "integrations.d" / "trino.yaml").rename(repo / "integrations.d" / "Trino.YAML")
    (repo / "integrations.d" / "s3-datalake.yaml").rename(repo / "integrations.d" / "s3-datalake.Yml")

    result = run_cli("validate")

    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr.endswith("7 file(s), 7 integration(s): valid (0 error(s), 0 warning(s))\n")


@pytest.mark.parametrize("command", ["plan", "validate"])
def test_a_saved_plan_given_where_files_are_expected_is_refused(repo: Path, run_cli: RunCli, command: str) -> None:
    assert run_cli("plan", "--sandbox", "--out", "plan.json").exit_code == 0
    before = snapshot(repo)

    result = run_cli(command, *(["--sandbox"] if command == "plan" else []), "plan.json")

    assert_clean_failure(result)
    message = "plan.json: a saved plan, not a desired-state file: apply it with `apply plan.json`"
    assert message in result.stdout + result.stderr
    assert snapshot(repo) == before


@pytest.mark.parametrize("out", ["integrations.d/plan.yaml", "plan.YML"])
def test_plan_out_to_a_desired_state_file_is_a_usage_error(repo: Path, run_cli: RunCli, out: str) -> None:
    result = run_cli("plan", "--sandbox", "--out", out)

    assert_clean_failure(result, code=64)
    assert result.stdout == ""
    assert result.stderr.endswith(
        f"Error: Invalid value for --out: {out} would be read as a desired-state file; "
        "save the plan as JSON, e.g. plan.json\n"
    )
    assert not (repo / out).exists() and not (repo / ".reconciler").exists()


def test_plan_out_to_an_unwritable_path_fails_before_planning(repo: Path, run_cli: RunCli) -> None:
    (repo / "blocker").write_text("a file, not a folder\n", encoding="utf-8")
    before = snapshot(repo)

    result = run_cli("plan", "--sandbox", "--out", "blocker/plans/plan.json")

    assert_clean_failure(result)
    assert result.stdout == ""  # the plan was not printed: nothing was planned
    assert result.stderr == f"error: --out blocker/plans/plan.json: cannot be written: {repo}/blocker is not a folder\n"
    assert snapshot(repo) == before and not (repo / ".reconciler").exists()


def test_plan_out_to_a_folder_without_permission_fails_before_planning(
    repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "locked").mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p).name != "locked" and real_access(p, mode))

    result = run_cli("plan", "--sandbox", "--out", "locked/plan.json")

    assert_clean_failure(result)
    assert result.stdout == ""
    assert (
        result.stderr == f"error: --out locked/plan.json: cannot be written: no permission to write in {repo}/locked\n"
    )
    assert list((repo / "locked").iterdir()) == [] and not (repo / ".reconciler").exists()


# -- part 6: ${file:} is bounded -------------------------------------------------------------------------------


def test_a_file_reference_to_dev_zero_ends_at_once_with_a_located_error(repo: Path, run_cli: RunCli) -> None:
    redshift = repo / "integrations.d" / "redshift-warehouse.yaml"
    redshift.write_text(
        redshift.read_text(encoding="utf-8").replace("${env:REDSHIFT_BOOTSTRAP_PASSWORD}", "${file:/dev/zero}"),
        encoding="utf-8",
    )
    started = time.monotonic()

    result = run_cli("validate", "--resolve-secrets")

    assert time.monotonic() - started < 10  # it used to read forever
    assert_clean_failure(result)
    assert result.stdout == (
        "integrations.d/redshift-warehouse.yaml:21:3: $.config.password: cannot read file /dev/zero: it is outside "
        "integrations.d, the folder(s) of the desired state (an environment file's fileRoots can name another)\n"
    )


def test_a_file_reference_in_a_plain_field_is_refused_before_anything_is_read(repo: Path, run_cli: RunCli) -> None:
    (repo / ".git").mkdir()
    (repo / ".git" / "config").write_text("extraheader = AUTHORIZATION: basic c2VjcmV0\n", encoding="utf-8")
    snowflake = repo / "integrations.d" / "snowflake-prod.yaml"
    snowflake.write_text(
        snowflake.read_text(encoding="utf-8").replace("warehouse: IMMUTA_WH", "warehouse: ${file:../.git/config}"),
        encoding="utf-8",
    )
    before = snapshot(repo)

    planned = run_cli("plan", "--sandbox")
    checked = run_cli("validate", "--resolve-secrets")

    message = (
        "integrations.d/snowflake-prod.yaml:21:3: $.config.warehouse: ${file:../.git/config} is not allowed here: "
        "${env:} and ${file:} give only secret (writeOnly) fields; write the value literally, or as ${var:NAME} "
        "from an environment file (environments/NAME.yaml)\n"
    )
    assert "c2VjcmV0" not in planned.stdout + planned.stderr + checked.stdout + checked.stderr
    assert_clean_failure(planned)
    assert (planned.stdout, planned.stderr) == ("", message + SUMMARY)
    assert_clean_failure(checked)
    assert checked.stdout == message
    assert nothing_but_an_empty_sandbox(repo, before)


def test_a_secret_never_reads_a_git_folder_even_inside_a_file_root(repo: Path, run_cli: RunCli) -> None:
    (repo / ".git").mkdir()
    (repo / ".git" / "config").write_text("extraheader = AUTHORIZATION: basic c2VjcmV0\n", encoding="utf-8")
    (repo / "environments").mkdir()
    (repo / "environments" / "dev.yaml").write_text("url: https://dev.example.com\nfileRoots: [.]\n", "utf-8")
    redshift = repo / "integrations.d" / "redshift-warehouse.yaml"
    redshift.write_text(
        redshift.read_text(encoding="utf-8").replace("${env:REDSHIFT_BOOTSTRAP_PASSWORD}", "${file:../.git/config}"),
        encoding="utf-8",
    )
    before = snapshot(repo)

    result = run_cli("apply", "--env", "dev", "--sandbox", "--auto-approve")

    assert_clean_failure(result)
    assert "c2VjcmV0" not in result.stdout + result.stderr
    assert result.stderr == (
        "integrations.d/redshift-warehouse.yaml:21:3: $.config.password: cannot read file ../.git/config (read as "
        "integrations.d/../.git/config): it is inside a Git folder (.git), which holds the CI's credentials\n" + SUMMARY
    )
    assert nothing_but_an_empty_sandbox(repo, before)


def nothing_but_an_empty_sandbox(repo: Path, before: dict[str, bytes]) -> bool:
    """No file changed, and the sandbox tenant (created as the run started) holds no integration."""
    after = snapshot(repo)
    tenants = [name for name in after if name.startswith(".reconciler/")]
    held = [json.loads(after.pop(name))["integrations"] for name in tenants]
    return after == before and all(not integrations for integrations in held)


def test_an_environments_file_root_is_read_but_only_regular_files(repo: Path, run_cli: RunCli) -> None:
    (repo / "environments").mkdir()
    (repo / "secrets").mkdir()
    os.mkfifo(repo / "secrets" / "pipe")
    (repo / "environments" / "dev.yaml").write_text("url: https://dev.example.com\nfileRoots: [secrets]\n", "utf-8")
    redshift = repo / "integrations.d" / "redshift-warehouse.yaml"
    redshift.write_text(
        redshift.read_text(encoding="utf-8").replace("${env:REDSHIFT_BOOTSTRAP_PASSWORD}", "${file:../secrets/pipe}"),
        encoding="utf-8",
    )

    result = run_cli("validate", "--env", "dev", "--resolve-secrets")

    assert_clean_failure(result)
    assert result.stdout == (
        "integrations.d/redshift-warehouse.yaml:21:3: $.config.password: cannot read file ../secrets/pipe (read as "
        "integrations.d/../secrets/pipe): not a regular file (a FIFO)\n"
    )


def test_a_file_secret_that_is_not_utf8_is_a_located_error(repo: Path, run_cli: RunCli) -> None:
    (repo / "integrations.d" / "pw.txt").write_bytes(b"caf\xe9\n")
    redshift = repo / "integrations.d" / "redshift-warehouse.yaml"
    redshift.write_text(
        redshift.read_text(encoding="utf-8").replace("${env:REDSHIFT_BOOTSTRAP_PASSWORD}", "${file:pw.txt}"),
        encoding="utf-8",
    )

    result = run_cli("validate", "--resolve-secrets")  # what apply reads before its first write

    assert_clean_failure(result)
    assert result.stdout == (
        "integrations.d/redshift-warehouse.yaml:21:3: $.config.password: cannot read file pw.txt (read as "
        "integrations.d/pw.txt): not UTF-8 text (byte 0xe9 at offset 3)\n"
    )


# -- part 8: hand-edited plans, broken sandbox state, keys and names -------------------------------------------


EDITED = "the saved plan was edited or damaged"


def _cut_in_target(text: str) -> bytes:
    """A plan truncated in the middle of a string, as a failed upload leaves it."""
    return text[: text.index('"target": "') + 12].encode()


UNREADABLE = "cannot read the saved plan"


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda d: {**d, "prune": "yes"}, f"{EDITED} ($.prune is missing or not a boolean)"),
        (lambda d: {**d, "changes": [1]}, f"{EDITED} ($.changes[0] is not an object)"),
        (
            lambda d: {**d, "changes": [{k: v for k, v in c.items() if k != "key"} for c in d["changes"]]},
            f"{EDITED} ($.changes[0].key is missing or not a string)",
        ),
        (lambda d: {k: v for k, v in d.items() if k != "target"}, f"{EDITED} ($.target is missing or not a string)"),
        (lambda d: b"\xff" + json.dumps(d).encode(), f"{UNREADABLE}: not UTF-8 text (byte 0xff at offset 0)"),
        (lambda d: _cut_in_target(json.dumps(d)), f"{UNREADABLE}: not JSON (Unterminated string starting at: "),
    ],
    ids=["prune-text", "change-not-object", "change-without-key", "no-target", "latin1", "truncated"],
)
@pytest.mark.parametrize("command", ["apply", "plan --check"])
def test_a_hand_edited_saved_plan_is_a_clear_error(
    repo: Path, run_cli: RunCli, edit: Callable[[Any], Any], reason: str, command: str
) -> None:
    assert run_cli("plan", "--sandbox", "--out", "plan.json").exit_code == 0
    edited = edit(json.loads((repo / "plan.json").read_text(encoding="utf-8")))
    (repo / "plan.json").write_bytes(edited if isinstance(edited, bytes) else json.dumps(edited).encode())
    before = snapshot(repo)

    result = run_cli(*command.split(), "plan.json", "--sandbox", *(["--auto-approve"] if command == "apply" else []))

    assert_clean_failure(result)
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: plan.json: {reason}")
    assert result.stderr.endswith("plan again and review it\n" if "edited" in reason else "\n")
    assert snapshot(repo) == before


def test_a_sandbox_state_that_is_not_utf8_is_a_clear_error(repo: Path, run_cli: RunCli) -> None:
    (repo / ".reconciler").mkdir()
    (repo / STATE).write_bytes(b'\xff{"format_version": 1}')
    before = snapshot(repo)

    result = run_cli("plan", "--sandbox")

    assert_clean_failure(result)
    assert (result.stdout, result.stderr) == (
        "",
        f"error: {repo}/.reconciler/sandbox.json: not a sandbox state file (not UTF-8: byte 0xff at offset 0)\n",
    )
    assert snapshot(repo) == before


def test_sandbox_serve_with_a_broken_state_says_so_and_serves_nothing(repo: Path, run_cli: RunCli) -> None:
    (repo / "tenant.json").write_text("[" * 50_000, encoding="utf-8")

    result = run_cli("sandbox", "serve", "--state", "tenant.json")

    assert_clean_failure(result)
    assert (result.stdout, result.stderr) == ("", "error: tenant.json: not a sandbox state file (nested too deep)\n")


def test_an_export_key_too_long_for_a_file_name_gets_a_short_name_with_a_hash(repo: Path, run_cli: RunCli) -> None:
    """An over-long key no longer fails the export (it did after writing some files): its file name is cut
    and carries a hash of the whole key, so it stays a legal, distinct name; the next plan is empty."""
    simulator = Sandbox(state_file=str(repo / STATE))
    simulator.oob_add(
        {"type": "Native S3", "autoBootstrap": False, "config": {
            "name": "lake-" + "x" * 300, "awsAccountId": "123456789012", "awsRegion": "us-east-1",
            "awsLocationRole": "arn:aws:iam::123456789012:role/loc", "awsLocationPath": "s3://long-bucket/",
            "authenticationType": "auto", "awsRoleToAssume": "arn:aws:iam::123456789012:role/assume"}}
    )  # fmt: skip
    simulator.oob_add({"type": "Trino"})

    result = run_cli("export", "--sandbox", "--out", "exported")

    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in (repo / "exported").iterdir())
    assert len(names) == 2 and all(len(name.encode()) <= 120 for name in names), names
    [long_name] = [n for n in names if n.startswith("native-s3-lake-")]
    assert re.fullmatch(r"native-s3-lake-x+-[0-9a-f]{8}\.yaml", long_name), long_name
    (repo / "environments").mkdir()  # --prune runs over a declared folder only
    (repo / "environments" / "exported.yaml").write_text("url: https://x.example.invalid\npaths: [exported]\n")
    plan = run_cli("plan", "--sandbox", "--sandbox-state", STATE, "--env", "exported", "--prune", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.stdout + plan.stderr


@pytest.mark.parametrize("value", ["k\u00e9y-123", "key\u2013123", "\u201ckey\u201d", "key\n123"])
def test_an_api_key_that_is_not_ascii_is_named_not_shown(
    repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("IMMUTA_URL", "https://acme.immuta.invalid")
    monkeypatch.setenv("IMMUTA_API_KEY", value)
    monkeypatch.delenv("IMMUTA_TOKEN", raising=False)

    result = run_cli("plan")

    assert_clean_failure(result)
    assert (result.stdout, result.stderr) == (
        "",
        "error: cannot connect to Immuta:\n  IMMUTA_API_KEY holds a character that is not printable ASCII (a "
        "typographic quote or dash, a line break?): an Immuta key or token never does; set it again from the source\n",
    )


# -- the YAML loader's bounds (issue 11.6, another change): end to end, once merged ---------------------------


@pytest.mark.parametrize("depth", [600, 999])
def test_deep_nesting_is_a_located_error(repo: Path, run_cli: RunCli, depth: int) -> None:
    (repo / "integrations.d" / "deep.yaml").write_text(f"type: Trino\nx: {'[' * depth}{']' * depth}\n", "utf-8")

    result = run_cli("validate")

    assert_clean_failure(result)
    assert result.stdout.startswith("integrations.d/deep.yaml:2:")


def test_a_self_referencing_anchor_is_a_located_error(repo: Path, run_cli: RunCli) -> None:
    (repo / "integrations.d" / "anchor.yaml").write_text("type: Trino\nx: &a [*a]\n", "utf-8")

    result = run_cli("validate")

    assert_clean_failure(result)
    assert result.stdout.startswith("integrations.d/anchor.yaml:2:")


def test_a_self_referencing_anchor_leaves_no_cycle_behind() -> None:
    """A refused file's node graph is released at once, not left for the cyclic collector."""
    import gc

    from reconciler.loading.yaml_source import load_text

    text = "type: Trino\nx: &a\n" + "".join(f"  - k{i}: [a, {{b: c}}]\n" for i in range(2000)) + "  - *a\n"
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()  # so that only what load_text itself releases is released
    try:
        documents, problems = load_text(text, "anchor.yaml")
        left = gc.collect()  # counts what only the cyclic collector could free
    finally:
        if was_enabled:
            gc.enable()
    assert (documents, [p.location.line for p in problems]) == ([], [2])
    assert left < 100  # the 2,000 entries inside the anchor were freed by reference counting


def test_a_file_the_os_refuses_is_named_not_an_internal_error(
    repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.planning import savedplan

    def refused(*args: Any, **kwargs: Any) -> None:  # the folder became read-only after the check, say
        raise PermissionError(13, "Permission denied", "plans/plan.json")

    monkeypatch.setattr(savedplan, "save", refused)

    result = run_cli("plan", "--sandbox", "--out", "plans/plan.json")

    assert_clean_failure(result)
    assert result.stderr == "error: plans/plan.json: Permission denied\n"
