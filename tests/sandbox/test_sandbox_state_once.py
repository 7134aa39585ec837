"""Issue 14.4: a command reads the state file once and writes it once, atomically, under a lock; a server
with `--state` rereads it only when another process replaced it, and writes it only after a change."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from sandbox_harness import KEY, FakeClock, make_call
from sandbox_testdata import payload

from reconciler.cli import main
from reconciler.sandbox import Sandbox
from reconciler.sandbox.tenant import Tenant

EXAMPLES = Path(__file__).resolve().parents[2] / "integrations.d"


@pytest.fixture
def file_io(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many times any Tenant read or wrote its state file."""
    counts = {"reads": 0, "writes": 0}
    read, write = Tenant._read, Tenant._write

    def counted_read(self: Tenant) -> Any:
        counts["reads"] += 1
        return read(self)

    def counted_write(self: Tenant, text: str) -> None:
        counts["writes"] += 1
        write(self, text)

    monkeypatch.setattr(Tenant, "_read", counted_read)
    monkeypatch.setattr(Tenant, "_write", counted_write)
    return counts


def run(capsys: pytest.CaptureFixture[str], *args: str) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    capsys.readouterr()
    return int(exit_info.value.code or 0)


def test_a_command_reads_once_and_writes_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], file_io: dict[str, int]
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "apply", "--sandbox", "--auto-approve") == 0  # 7 creates, ~20 requests
    assert file_io == {"reads": 1, "writes": 1}
    assert run(capsys, "plan", "--sandbox", "--detailed-exitcode") == 0
    assert file_io == {"reads": 2, "writes": 1}  # nothing changed: nothing written


def test_a_thousand_integrations_cost_one_read_and_one_write(
    tmp_path: Path, clock: FakeClock, file_io: dict[str, int]
) -> None:
    state = tmp_path / "tenant.json"
    config = payload("Snowflake", password=None)["config"]
    integrations = {
        str(i): {"id": str(i), "type": "Snowflake", "status": "enabled", "autoBootstrap": True,
                 "config": {**config, "host": f"a{i - 1}.example.com"}}
        for i in range(1, 1001)
    }  # fmt: skip
    document = {"format_version": 1, "next_id": 1001, "integrations": integrations, "setup_run": []}
    state.write_text(json.dumps(document))

    command = Sandbox(api_key=KEY, clock=clock, state_file=state)
    command.hold()
    call = make_call(command)
    for id_ in range(1, 1001, 10):
        call("GET", f"/integrations/{id_}/status")
        changed = payload("Snowflake", host=f"a{id_ - 1}.example.com", warehouse="WH_2")
        assert call("PUT", f"/integrations/{id_}", changed).status == 200
    assert len(call("GET", "/integrations").json) == 1000
    command.release()
    assert file_io == {"reads": 1, "writes": 1}
    assert json.loads(state.read_text())["integrations"]["1"]["config"]["warehouse"] == "WH_2"


def test_a_server_rereads_only_what_another_process_replaced(
    tmp_path: Path, clock: FakeClock, file_io: dict[str, int]
) -> None:
    state = tmp_path / "tenant.json"
    server = make_call(Sandbox(api_key=KEY, clock=clock, state_file=state))
    server("POST", "/integrations", payload("Snowflake"))
    server("GET", "/integrations")  # settles the create: a change, written
    settled = dict(file_io)
    for _ in range(50):
        assert server("GET", "/integrations").status == 200
        server("GET", "/integrations/1/status")
    assert file_io == settled == {"reads": 1, "writes": 2}  # (the read found no file yet)

    other = make_call(Sandbox(api_key=KEY, clock=clock, state_file=state))  # a CLI run
    other("POST", "/integrations", payload("Redshift"))
    assert [i["type"] for i in server("GET", "/integrations").json] == ["Snowflake", "Redshift"]
    server("GET", "/integrations")
    assert file_io["reads"] == 3  # the CLI run read it once, the server once after the CLI replaced it


def test_a_held_tenant_locks_other_processes_out(tmp_path: Path, clock: FakeClock) -> None:
    state = tmp_path / "tenant.json"
    command = Sandbox(api_key=KEY, clock=clock, state_file=state)
    command.hold()
    with open(state.with_name("tenant.json.lock"), "a+b") as other, pytest.raises(BlockingIOError):
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what another process's session would wait on
    command.release()
    with open(state.with_name("tenant.json.lock"), "a+b") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_two_commands_one_after_the_other_lose_nothing(tmp_path: Path, clock: FakeClock) -> None:
    state = tmp_path / "tenant.json"
    for type_name in ("Snowflake", "Redshift"):
        command = Sandbox(api_key=KEY, clock=clock, state_file=state)
        command.hold()
        make_call(command)("POST", "/integrations", payload(type_name))
        command.release()
    listed = make_call(Sandbox(api_key=KEY, clock=clock, state_file=state))("GET", "/integrations").json
    assert [i["type"] for i in listed] == ["Snowflake", "Redshift"]


def test_a_write_that_fails_midway_leaves_the_old_file_whole(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "tenant.json"
    make_call(Sandbox(api_key=KEY, clock=clock, state_file=state))("POST", "/integrations", payload("Snowflake"))
    before = state.read_text()

    def killed(*_: object) -> None:
        raise KeyboardInterrupt  # as if the process died between writing the temporary file and replacing

    monkeypatch.setattr(os, "replace", killed)
    command = Sandbox(api_key=KEY, clock=clock, state_file=state)
    command.hold()
    make_call(command)("POST", "/integrations", payload("Redshift"))
    with pytest.raises(KeyboardInterrupt):
        command.release()
    assert state.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tenant.json", "tenant.json.lock"]
