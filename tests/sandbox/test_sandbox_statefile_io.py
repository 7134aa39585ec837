"""The simulator's own small reader and writer (it imports nothing of the reconciler): a state file is a
regular file within its limit, read without waiting and never through a link; it is written atomically,
never over a link, FIFO or device, and no temporary file is left when the write fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.sandbox.statefile import StateFileError, open_lock, read_state, write_state


def test_a_missing_state_is_none_and_a_written_one_reads_back(tmp_path: Path) -> None:
    assert read_state(tmp_path / "tenant.json") is None

    write_state(tmp_path / "sub" / "tenant.json", "{}\n")

    assert read_state(tmp_path / "sub" / "tenant.json") == b"{}\n"
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["tenant.json"]


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("fifo", "not a regular file: a FIFO"), ("link", "a link, which is not followed")],
)
def test_a_state_that_is_not_a_regular_file_is_refused_at_once(tmp_path: Path, kind: str, reason: str) -> None:
    state = tmp_path / "tenant.json"
    if kind == "fifo":
        os.mkfifo(state)
    else:
        (tmp_path / "real.json").write_text("{}", encoding="utf-8")
        state.symlink_to(tmp_path / "real.json")

    with pytest.raises(StateFileError) as refused:
        read_state(state)

    assert str(refused.value) == reason


@pytest.mark.parametrize("kind", ["fifo", "link", "devnull"])
def test_a_state_is_never_written_over_a_link_fifo_or_device(tmp_path: Path, kind: str) -> None:
    state = tmp_path / "tenant.json"
    victim = tmp_path / "victim.yaml"
    victim.write_text("keep\n", encoding="utf-8")
    if kind == "fifo":
        os.mkfifo(state)
    else:
        state.symlink_to(victim if kind == "link" else "/dev/null")

    with pytest.raises(StateFileError) as refused:
        write_state(state, "{}\n")

    shown = "a FIFO" if kind == "fifo" else "a link"
    assert str(refused.value) == f"not a regular file: {shown}, which is never replaced"
    assert victim.read_text(encoding="utf-8") == "keep\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tenant.json", "victim.yaml"]


def test_a_failed_write_leaves_the_old_state_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "tenant.json"
    state.write_text("old\n", encoding="utf-8")

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_state(state, "new\n")

    assert state.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tenant.json"]


def test_the_lock_file_is_never_opened_through_a_link(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").write_text("", encoding="utf-8")
    (tmp_path / "tenant.json.lock").symlink_to(tmp_path / "elsewhere")

    with pytest.raises(StateFileError) as refused:
        open_lock(tmp_path / "tenant.json.lock")

    assert str(refused.value) == "a link, which is not followed"
