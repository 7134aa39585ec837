"""The one reader and the one writer (issue 19.5): every file the tool reads is a regular file within its
limit, checked before it is read and never waited on; every file it writes is written atomically beside
itself, never through or over a link, device or FIFO, and leaves no temporary file when it fails."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler import files

REPO = Path(__file__).resolve().parent.parent
RunCli = Callable[..., Any]  # the `run_cli` fixture of conftest.py
STATE = ".reconciler/sandbox.json"
TWO_GB = 2 * 1024**3
PROTECTED = "type: Trino\nlifecycle: {preventDestroy: true}\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "integrations.d").mkdir()
    shutil.copy(REPO / "integrations.d" / "trino.yaml", tmp_path / "integrations.d" / "trino.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    yield tmp_path


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.tmp"))


class Timed:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def __enter__(self) -> Timed:
        return self

    def __exit__(self, *_: object) -> None:
        assert time.monotonic() - self.started < 10, "a read that waited or read too much"


def hostile(kind: str, path: Path) -> None:
    """`path` made into a FIFO with no writer, a link to /dev/zero, or a 2 GB (sparse) file."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "zero":
        path.symlink_to("/dev/zero")
    else:
        with open(path, "wb") as handle:
            handle.truncate(TWO_GB)


READ_REASONS = {
    "fifo": "not a regular file (a FIFO)",
    "zero": "not a regular file (a device)",
}


def too_big(kind: files.FileKind) -> str:
    limit = f"{kind.limit // files.MIB} MiB"
    return f"the file is 2,147,483,648 bytes, over the limit of {kind.limit:,} bytes ({limit}) for a {kind.name}"


# -- reading ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "zero", "big"])
def test_an_environment_file_that_is_not_a_small_regular_file_is_refused(
    repo: Path, run_cli: RunCli, kind: str
) -> None:
    (repo / "environments").mkdir()
    hostile(kind, repo / "environments" / "dev.yaml")

    with Timed():
        result = run_cli("validate", "--env", "dev")

    reason = READ_REASONS.get(kind) or too_big(files.ENVIRONMENT)
    assert result.stderr == (
        f"--env dev: environments/dev.yaml: {reason}\n"
        "error: 1 problem(s) in the desired-state files; nothing was changed\n"
    )
    assert result.exit_code == 1


@pytest.mark.parametrize("kind", ["fifo", "big"])
def test_a_desired_state_file_that_is_not_a_small_regular_file_is_refused(
    repo: Path, run_cli: RunCli, kind: str
) -> None:
    hostile(kind, repo / "integrations.d" / "snowflake.yaml")

    with Timed():
        result = run_cli("validate", "integrations.d/snowflake.yaml")

    reason = (
        ": a FIFO (named pipe), not a file or folder of desired-state files"
        if kind == "fifo"
        else ":1:1: " + too_big(files.DESIRED_STATE) + ": split it into one file per integration"
    )
    assert result.stdout == f"integrations.d/snowflake.yaml{reason}\n"
    assert result.exit_code == 1


@pytest.mark.parametrize("kind", ["fifo", "zero", "big"])
@pytest.mark.parametrize("command", ["show", "apply"])
def test_a_saved_plan_that_is_not_a_small_regular_file_is_refused(
    repo: Path, run_cli: RunCli, kind: str, command: str
) -> None:
    hostile(kind, repo / "plan.json")

    with Timed():
        args = ("apply", "plan.json", "--sandbox") if command == "apply" else ("show", "plan.json")
        result = run_cli(*args)

    reason = READ_REASONS.get(kind) or too_big(files.SAVED_PLAN)
    if command == "show":
        assert result.stderr == f"Error: plan.json: cannot read the saved plan: {reason}\n"
    elif kind == "big":
        assert result.stderr == f"error: plan.json: cannot read the saved plan: {reason}\n"
    else:  # not a regular file, so not taken for a saved plan at all
        shown = "a FIFO (named pipe)" if kind == "fifo" else "a device"
        assert result.stderr == (
            f"plan.json: {shown}, not a file or folder of desired-state files\n"
            "error: 1 problem(s) in the desired-state files; nothing was changed\n"
        )
    assert result.exit_code == 1


@pytest.mark.parametrize("kind", ["fifo", "zero", "big"])
def test_a_sandbox_state_that_is_not_a_small_regular_file_is_refused(repo: Path, run_cli: RunCli, kind: str) -> None:
    (repo / ".reconciler").mkdir()
    hostile(kind, repo / STATE)

    with Timed():
        result = run_cli("plan", "--sandbox")

    reason = {
        "fifo": f"{repo / STATE}: cannot read the sandbox state (not a regular file: a FIFO)",
        "zero": "/dev/zero: cannot read the sandbox state (not a regular file: a device or socket)",
        "big": f"{repo / STATE}: cannot read the sandbox state (2,147,483,648 bytes, over the limit of 268,435,456)",
    }[kind]
    assert result.stderr == f"error: {reason}\n"
    assert result.exit_code == 1
    assert "internal error" not in result.stderr


def test_a_link_is_refused_where_it_must_not_be_followed(tmp_path: Path) -> None:
    (tmp_path / "real").write_text("x", encoding="utf-8")
    (tmp_path / "link").symlink_to(tmp_path / "real")

    assert files.read_text(tmp_path / "link", files.ENVIRONMENT) == "x"
    with pytest.raises(files.FileError) as refused:
        files.read_text(tmp_path / "link", files.ENVIRONMENT, follow_links=False)
    assert str(refused.value) == f"{tmp_path / 'link'}: a link, which is not followed"


def test_a_file_exactly_at_its_limit_is_read_and_one_byte_more_is_not(tmp_path: Path) -> None:
    (tmp_path / "at").write_bytes(b"a" * files.MIB)
    (tmp_path / "over").write_bytes(b"a" * (files.MIB + 1))

    assert len(files.read_bytes(tmp_path / "at", files.ENVIRONMENT)) == files.MIB
    with pytest.raises(files.FileError) as refused:
        files.read_bytes(tmp_path / "over", files.ENVIRONMENT)
    assert refused.value.reason == (
        "the file is 1,048,577 bytes, over the limit of 1,048,576 bytes (1 MiB) for a environment file"
    )


# -- writing ---------------------------------------------------------------------------------------------


def special(kind: str, path: Path, victim: Path) -> None:
    """`path` made into a FIFO, a link to a desired-state file, or a link to a device."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "link":
        path.symlink_to(victim)
    else:
        path.symlink_to("/dev/null")


WRITE_REASONS = {
    "fifo": "a FIFO, not a regular file",
    "link": "a link, which is never written through or replaced",
    "devnull": "a link, which is never written through or replaced",
}


def assert_untouched(repo: Path, kind: str, path: Path) -> None:
    assert (repo / "integrations.d" / "trino.yaml").read_text(encoding="utf-8") == PROTECTED
    assert path.is_fifo() if kind == "fifo" else path.is_symlink()
    assert leftovers(repo) == []


@pytest.mark.parametrize("kind", ["fifo", "link", "devnull"])
def test_plan_out_never_writes_through_or_replaces_a_special_file(repo: Path, run_cli: RunCli, kind: str) -> None:
    victim = repo / "integrations.d" / "trino.yaml"
    victim.write_text(PROTECTED, encoding="utf-8")
    special(kind, repo / "plan.json", victim)

    with Timed():
        result = run_cli("plan", "--sandbox", "--out", "plan.json")

    assert result.stderr.endswith(f"error: plan.json: {WRITE_REASONS[kind]}: not writing the saved plan\n")
    assert result.stdout == ""  # refused before planning
    assert result.exit_code == 1
    assert_untouched(repo, kind, repo / "plan.json")


@pytest.mark.parametrize("target", ["/dev/null", "/dev/stdout"])
def test_plan_out_never_writes_to_dev_null_or_stdout(repo: Path, run_cli: RunCli, target: str) -> None:
    result = run_cli("plan", "--sandbox", "--out", target)

    assert result.exit_code == 1
    reason = "a device, not a regular file" if target == "/dev/null" else WRITE_REASONS["link"]
    assert result.stderr == f"error: {target}: {reason}: not writing the saved plan\n"
    assert leftovers(Path("/dev")) == []


@pytest.mark.parametrize("kind", ["fifo", "link"])
def test_apply_report_is_refused_before_anything_is_applied(repo: Path, run_cli: RunCli, kind: str) -> None:
    victim = repo / "integrations.d" / "trino.yaml"
    victim.write_text(PROTECTED, encoding="utf-8")
    special(kind, repo / "report.json", victim)

    result = run_cli("apply", "--sandbox", "--auto-approve", "--report", "report.json")

    assert result.stderr.endswith(f"error: report.json: {WRITE_REASONS[kind]}: not writing the apply report\n")
    assert result.exit_code == 1
    assert_untouched(repo, kind, repo / "report.json")
    assert "Trino" not in run_cli("plan", "--sandbox", "--format", "json").stdout.split('"changes"')[0]


@pytest.mark.parametrize("force", [False, True])
def test_export_never_writes_through_a_link(repo: Path, run_cli: RunCli, force: bool) -> None:
    assert run_cli("apply", "--sandbox", "--auto-approve").exit_code == 0
    victim = repo / "integrations.d" / "trino.yaml"
    victim.write_text(PROTECTED, encoding="utf-8")
    (repo / "out").mkdir()
    (repo / "out" / "trino.yaml").symlink_to(victim)

    result = run_cli("export", "--sandbox", "--out", "out", *(["--force"] if force else []))

    assert result.exit_code == 1
    if force:
        assert result.stderr == (
            "error: out/trino.yaml: a link, which is never written through or replaced: "
            "not writing the exported integration\n"
        )
    else:
        assert result.stderr == (
            "error: not overwriting existing file(s) (pass --force to replace them): out/trino.yaml\n"
        )
    assert_untouched(repo, "link", repo / "out" / "trino.yaml")


def test_schema_out_never_writes_through_a_link(repo: Path, run_cli: RunCli) -> None:
    victim = repo / "integrations.d" / "trino.yaml"
    victim.write_text(PROTECTED, encoding="utf-8")
    (repo / "schemas").mkdir()
    (repo / "schemas" / "trino.schema.json").symlink_to(victim)

    result = run_cli("schema", "--out", "schemas")

    assert result.exit_code == 1
    assert result.stderr == (
        "error: schemas/trino.schema.json: a link, which is never written through or replaced: "
        "not writing the JSON Schema\n"
    )
    assert_untouched(repo, "link", repo / "schemas" / "trino.schema.json")


def test_the_step_summary_is_appended_only_to_a_regular_file(
    repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = repo / "integrations.d" / "trino.yaml"
    victim.write_text(PROTECTED, encoding="utf-8")
    (repo / "summary.md").symlink_to(victim)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(repo / "summary.md"))

    with Timed():
        result = run_cli("plan", "--sandbox")

    assert "summary.md: cannot write the GitHub step summary: a link, which is not followed" in result.stderr
    assert result.exit_code == 1
    assert_untouched(repo, "link", repo / "summary.md")


def test_a_fifo_as_step_summary_is_refused_without_waiting(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "summary")

    with Timed(), pytest.raises(files.FileError) as refused:
        files.append_text(tmp_path / "summary", "x", what="GitHub step summary")

    assert refused.value.reason == "cannot write the GitHub step summary: not a regular file (a FIFO or socket)"


def test_a_summary_is_appended(tmp_path: Path) -> None:
    (tmp_path / "summary").write_text("before\n", encoding="utf-8")

    files.append_text(tmp_path / "summary", "after\n", what="GitHub step summary")

    assert (tmp_path / "summary").read_text(encoding="utf-8") == "before\nafter\n"


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    (tmp_path / "plan.json").write_text("old\n", encoding="utf-8")

    def broken(fd: int) -> None:
        raise failure

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(type(failure) if isinstance(failure, KeyboardInterrupt) else files.FileError) as failed:
        files.write_text(tmp_path / "plan.json", "new\n", what="saved plan")

    if isinstance(failed.value, files.FileError):
        assert str(failed.value) == f"{tmp_path / 'plan.json'}: cannot write the saved plan: No space left on device"
    assert (tmp_path / "plan.json").read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


def test_a_write_replaces_a_regular_file_atomically_with_the_mode_asked(tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text("old\n", encoding="utf-8")
    before = (tmp_path / "plan.json").stat().st_ino

    files.write_text(tmp_path / "plan.json", "new\n", what="saved plan", private=True)

    assert (tmp_path / "plan.json").read_text(encoding="utf-8") == "new\n"
    assert (tmp_path / "plan.json").stat().st_ino != before  # a new file renamed over the old one
    assert (tmp_path / "plan.json").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


def test_a_write_that_must_not_replace_refuses_a_file_created_meanwhile(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("theirs\n", encoding="utf-8")

    with pytest.raises(files.FileError) as refused:
        files.write_text(tmp_path / "a.yaml", "ours\n", what="exported integration", replace=False)

    assert refused.value.reason == "not replacing the existing file with the exported integration"
    assert (tmp_path / "a.yaml").read_text(encoding="utf-8") == "theirs\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml"]


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_a_ca_bundle_that_is_not_a_regular_file_is_refused_without_waiting(tmp_path: Path, kind: str) -> None:
    from reconciler.client.tls import trusting
    from reconciler.errors import ReconcilerError

    hostile(kind, tmp_path / "ca.pem")

    with Timed(), pytest.raises(ReconcilerError) as refused:
        trusting(str(tmp_path / "ca.pem"))

    assert str(refused.value) == f"the CA bundle {tmp_path}/ca.pem cannot be read: {READ_REASONS[kind]}"


def test_a_link_to_the_processs_environment_is_never_read(repo: Path, run_cli: RunCli) -> None:
    (repo / "integrations.d" / "environ.yaml").symlink_to("/proc/self/environ")

    result = run_cli("validate")

    assert result.stdout == (
        f"integrations.d/environ.yaml:1:1: cannot read file: a link to /proc/{os.getpid()}/environ, outside "
        f"{repo}: desired-state files are read only from inside it (copy the file in)\n"
    )
    assert result.exit_code == 1


def test_the_processs_environment_is_never_read_even_when_named(repo: Path) -> None:
    """Given by name, not through a link of the repository: the reader's own check still refuses it."""
    with pytest.raises(files.FileError) as refused:
        files.read_text("/proc/self/environ", files.DESIRED_STATE, inside=files.link_bound("/proc/self/environ"))

    assert refused.value.reason == "not a file on disk (its size is 0 yet it has content, as in /proc or /sys)"


def test_a_file_that_grows_past_its_limit_while_read_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "growing.yaml").write_bytes(b"a" * (files.MIB + 10))
    real = os.fstat

    def stated_empty(fd: int) -> os.stat_result:  # what fstat said before the file grew
        info = real(fd)
        return os.stat_result((info.st_mode, *info[1:6], 0, *info[7:]))

    monkeypatch.setattr(os, "fstat", stated_empty)
    with pytest.raises(files.FileError) as refused:
        files.read_text(tmp_path / "growing.yaml", files.DESIRED_STATE)

    assert refused.value.reason == (
        "the file is more than its stated size, over the limit of 1,048,576 bytes (1 MiB) for a desired-state file:"
        " split it into one file per integration"
    )


# A pull request may commit a folder as a link: the action then writes `--out reconciler-plan/plan.json`
# into the runner (its temporary folder, another checkout, a tool's cache), through a link of the
# pull request's. A folder on the target's path that is a link leading out of the repository is refused,
# as the reader refuses it; one leading inside it is followed.


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (("plan", "--sandbox", "--out", "reconciler-plan/plan.json"), "saved plan"),
        (("apply", "--sandbox", "--auto-approve", "--report", "reconciler-plan/plan.json"), "apply report"),
    ],
)
def test_a_write_never_goes_through_a_linked_folder_out_of_the_repository(
    repo: Path, run_cli: RunCli, tmp_path_factory: pytest.TempPathFactory, args: tuple[str, ...], what: str
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (repo / "reconciler-plan").symlink_to(outside)

    result = run_cli(*args)

    assert result.stderr == (
        f"error: reconciler-plan/plan.json: a link on its path leads to {outside}, outside {repo}: "
        f"not writing the {what}\n"
    )
    assert result.stdout == ""
    assert result.exit_code == 1
    assert sorted(outside.iterdir()) == []
    assert leftovers(repo) == []
    assert not (repo / STATE).exists()  # refused before anything was planned or applied


def test_export_never_writes_through_a_linked_folder_out_of_the_repository(
    repo: Path, run_cli: RunCli, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert run_cli("apply", "--sandbox", "--auto-approve").exit_code == 0
    outside = tmp_path_factory.mktemp("outside")
    (repo / "out").symlink_to(outside)

    result = run_cli("export", "--sandbox", "--out", "out")

    assert result.exit_code == 1
    assert result.stderr.startswith("error: out/")
    assert result.stderr.endswith(
        f": a link on its path leads to {outside}, outside {repo}: not writing the exported integration\n"
    )
    assert sorted(outside.iterdir()) == []


def test_a_write_through_a_linked_folder_inside_the_repository_is_followed(repo: Path, run_cli: RunCli) -> None:
    (repo / "plans").mkdir()
    (repo / "reconciler-plan").symlink_to(repo / "plans")

    result = run_cli("plan", "--sandbox", "--out", "reconciler-plan/plan.json")

    assert result.exit_code == 0
    assert (repo / "plans" / "plan.json").is_file()
    assert leftovers(repo) == []


@pytest.mark.parametrize(
    "args", [("plan", "--sandbox"), ("sandbox", "configure", "--dialect", "put=merge")], ids=["plan", "configure"]
)
def test_the_sandbox_state_is_never_written_through_a_linked_folder_out_of_the_repository(
    repo: Path, run_cli: RunCli, tmp_path_factory: pytest.TempPathFactory, args: tuple[str, ...]
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (repo / ".reconciler").symlink_to(outside)

    result = run_cli(*args)

    assert result.stderr == (
        f"error: .reconciler/sandbox.json: a link on its path leads to {outside}, outside {repo}: "
        "not writing the sandbox state\n"
    )
    assert result.stdout == ""
    assert result.exit_code == 1
    assert sorted(outside.iterdir()) == []
