"""The state file: one tenant shared by separate Sandbox instances (CLI runs, a server), written atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sandbox_harness import KEY, FakeClock, make_call
from sandbox_testdata import payload

from reconciler.sandbox import Sandbox, SandboxStateError


def test_two_sandboxes_over_one_state_file_see_one_tenant(tmp_path: Path, clock: FakeClock) -> None:
    state = tmp_path / "tenant.json"
    first = make_call(Sandbox(api_key=KEY, clock=clock, state_file=state))
    second = make_call(Sandbox(api_key=KEY, clock=clock, state_file=state))

    first("POST", "/integrations", payload("Snowflake"))
    assert [i["type"] for i in second("GET", "/integrations").json] == ["Snowflake"]
    assert second("POST", "/integrations", payload("Snowflake")).status == 409
    assert second("POST", "/integrations", payload("Databricks")).json["id"] == "2"
    first("DELETE", "/integrations/2")
    assert [i["id"] for i in second("GET", "/integrations").json] == ["1"]
    assert first("POST", "/integrations", payload("Redshift")).json["id"] == "3"


def test_pending_transitions_survive_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    state = tmp_path / "tenant.json"
    make_call(Sandbox(api_key=KEY, clock=clock, state_file=state, provisioning_seconds=10))(
        "POST", "/integrations", payload("Snowflake")
    )
    later = make_call(Sandbox(api_key=KEY, clock=clock, state_file=state))
    assert later("GET", "/integrations/1/status").json["status"] == "creating"
    clock.advance(10)
    assert later("GET", "/integrations/1/status").json["status"] == "enabled"


def test_state_file_format(tmp_path: Path, clock: FakeClock) -> None:
    state = tmp_path / "sub" / "tenant.json"
    sandbox = Sandbox(api_key=KEY, clock=clock, state_file=state)
    make_call(sandbox)("POST", "/integrations", payload("Snowflake"))
    sandbox.mark_setup_run("Native S3", payload("Native S3"))

    document = json.loads(state.read_text())

    assert set(document) == {"format_version", "next_id", "integrations", "setup_run"}
    assert document["format_version"] == 1
    assert document["next_id"] == 2
    assert document["integrations"]["1"]["config"]["host"] == "acme.us-east-1.snowflakecomputing.com"
    assert document["setup_run"] == ["Native S3[config.name=datalake]"]
    assert sorted(p.name for p in state.parent.iterdir()) == ["tenant.json", "tenant.json.lock"]  # no temp left


def test_reading_creates_no_state_file_change(tmp_path: Path, clock: FakeClock) -> None:
    state = tmp_path / "tenant.json"
    call = make_call(Sandbox(api_key=KEY, clock=clock, state_file=state))
    call("GET", "/integrations")
    written = state.stat().st_mtime_ns
    call("GET", "/integrations")
    assert state.stat().st_mtime_ns == written


@pytest.mark.parametrize("content", ["not json", '{"format_version": 99, "next_id": 1, "integrations": {}}'])
def test_an_unreadable_state_file_is_an_error(tmp_path: Path, clock: FakeClock, content: str) -> None:
    state = tmp_path / "tenant.json"
    state.write_text(content)
    with pytest.raises(SandboxStateError, match="not a sandbox state file"):
        Sandbox(api_key=KEY, clock=clock, state_file=state).list_integrations()


def test_in_memory_sandboxes_are_independent(clock: FakeClock) -> None:
    make_call(Sandbox(api_key=KEY, clock=clock))("POST", "/integrations", payload("Snowflake"))
    assert make_call(Sandbox(api_key=KEY, clock=clock))("GET", "/integrations").json == []


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\xff\xfe{}", "not a sandbox state file (not UTF-8: byte 0xff at offset 0)"),
        (b"[" * 100_000 + b"]" * 100_000, "not a sandbox state file (nested too deep)"),
        (
            b'{"format_version": 1, "integrations": []}',
            "not a sandbox state file ('list' object has no attribute 'items')",
        ),
        (
            b'{"format_version": 1, "next_id": 2, "integrations": {"1": {"id": "1", "type": "Nope", "status": "x"}}}',
            "not a sandbox state file (integration '1': unknown type 'Nope')",
        ),
        (
            b'{"format_version": 1, "next_id": 2, "integrations": '
            b'{"1": {"id": "1", "type": "Snowflake", "status": "enabled", "config": 5}}}',
            "not a sandbox state file (integration '1': config is not an object)",
        ),
        (
            b'{"format_version": 1, "next_id": 1, "integrations": {}, "dialect": {"put": "zz"}}',
            "not a sandbox state file (dialect put: 'zz' is not one of replace, merge)",
        ),
    ],
    ids=["latin1", "deep", "hand-edited", "unknown-type", "config-not-object", "unknown-dialect"],
)
def test_a_broken_state_file_is_a_located_error(tmp_path: Path, clock: FakeClock, content: bytes, reason: str) -> None:
    state = tmp_path / "tenant.json"
    state.write_bytes(content)

    with pytest.raises(SandboxStateError) as broken:
        Sandbox(api_key=KEY, clock=clock, state_file=state).list_integrations()

    assert str(broken.value) == f"{state}: {reason}"
    assert state.read_bytes() == content  # never overwritten


def test_a_state_file_that_is_a_folder_is_a_located_error(tmp_path: Path, clock: FakeClock) -> None:
    (tmp_path / "tenant.json").mkdir()

    with pytest.raises(SandboxStateError) as broken:
        Sandbox(api_key=KEY, clock=clock, state_file=tmp_path / "tenant.json").list_integrations()

    assert str(broken.value) == f"{tmp_path}/tenant.json: cannot read the sandbox state (not a regular file: a folder)"
