"""`plan` against the simulator served over real HTTP on 127.0.0.1: exactly one list call, and a read that
fails or looks wrong makes the plan fail (exit 1) — never "nothing exists", never a delete."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.client.immuta import AUTH_HINT, FORBIDDEN_HINT, Auth, ImmutaClient, RetryPolicy
from reconciler.errors import TransientError
from reconciler.planning import engine
from reconciler.sandbox import Faults, Sandbox, start_server
from reconciler.sandbox.server import RunningServer
from reconciler.sandbox.transport import SandboxTransport
from reconciler.target import Target
from reconciler.validation.schema import load

REPO = Path(__file__).resolve().parent.parent
KEY = "read-test-key"
RunCli = Callable[..., Any]  # tests/conftest.py's `run_cli`
LIST = ("GET", "/integrations")
SEARCH = ("POST", "/data/object/search")  # the connections, read once there is a list (docs/immuta-api.md §10)
ORPHAN = {
    "type": "Databricks",
    "autoBootstrap": True,
    "config": {
        "workspaceUrl": "dbc-orphan.cloud.databricks.com",
        "httpPath": "/sql/1.0/warehouses/x",
        "catalog": "orphan",
        "authenticationType": "token",
        "token": "never-stored",
    },
}


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IMMUTA_TOKEN", raising=False)
    return tmp_path / "integrations.d"


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., RunningServer]]:
    """`serve(**Sandbox options)`: a simulator on 127.0.0.1 that IMMUTA_URL / IMMUTA_API_KEY point at."""
    running: list[RunningServer] = []

    def start(**options: Any) -> RunningServer:
        server = start_server(Sandbox(**{"api_key": KEY, **options}))
        running.append(server)
        monkeypatch.setenv("IMMUTA_URL", server.url)
        monkeypatch.setenv("IMMUTA_API_KEY", KEY)
        return server

    try:
        yield start
    finally:
        for server in running:
            server.close()


@pytest.mark.e2e
@pytest.mark.parametrize("extra", [(), ("--format", "json"), ("--format", "markdown", "--prune"), ("--out", "p.plan")])
def test_plan_makes_exactly_one_list_call(
    files: Path, serve: Callable[..., RunningServer], run_cli: RunCli, extra: tuple[str, ...]
) -> None:
    server = serve()
    for _ in range(3):
        server.sandbox.oob_add(ORPHAN | {"config": ORPHAN["config"] | {"workspaceUrl": f"dbc-{_}.example.com"}})
    server.sandbox.reset_requests()
    result = run_cli("plan", "integrations.d", "--detailed-exitcode", *extra)
    assert result.exit_code == 2, result.stderr
    assert server.sandbox.requests == [LIST, SEARCH]


@pytest.mark.e2e
def test_a_wrong_key_exits_1_with_the_hint(
    files: Path, serve: Callable[..., RunningServer], run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve()
    server.sandbox.oob_add(ORPHAN)
    monkeypatch.setenv("IMMUTA_API_KEY", "not-the-key")
    result = run_cli("plan", "integrations.d", "--prune")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "GET /integrations → 401" in result.stderr
    assert AUTH_HINT in result.stderr
    assert "not-the-key" not in result.stderr
    assert server.sandbox.requests == [LIST]


@pytest.mark.e2e
def test_a_key_without_permission_exits_1_with_the_hint(
    files: Path, serve: Callable[..., RunningServer], run_cli: RunCli
) -> None:
    serve(api_key=None, forbidden_keys=[KEY])
    result = run_cli("plan", "integrations.d")
    assert result.exit_code == 1
    assert "GET /integrations → 403" in result.stderr
    assert FORBIDDEN_HINT in result.stderr


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("faults", "expected", "attempts"),
    [
        (Faults(rate_503=1.0), "gave up after 6 attempt(s)", 6),  # Retry-After: 0, so no waiting
        (Faults(rate_429=1.0), "gave up after 6 attempt(s)", 6),
        (Faults(rate_500=1.0), "GET /integrations → 500", 1),
    ],
    ids=["503", "429", "500"],
)
def test_a_failed_list_fails_the_plan_and_never_plans_deletes(
    files: Path,
    serve: Callable[..., RunningServer],
    run_cli: RunCli,
    faults: Faults,
    expected: str,
    attempts: int,
) -> None:
    server = serve()
    server.sandbox.oob_add(ORPHAN)
    server.sandbox.faults = faults
    for args in (("--prune",), ("--prune", "--format", "json"), ("--detailed-exitcode",)):
        server.sandbox.reset_requests()
        result = run_cli("plan", "integrations.d", *args)
        assert result.exit_code == 1, result.stdout
        assert result.stdout == ""  # no plan at all, so no delete
        assert "delete" not in result.stderr.lower()
        assert expected in result.stderr
        assert server.sandbox.requests == [LIST] * attempts


@pytest.mark.e2e
def test_a_failed_list_saves_no_plan(files: Path, serve: Callable[..., RunningServer], run_cli: RunCli) -> None:
    server = serve()
    server.sandbox.faults = Faults(rate_500=1.0)
    assert run_cli("plan", "integrations.d", "--out", "p.plan").exit_code == 1
    assert not Path("p.plan").exists()


def in_process_client(handler: Callable[[httpx.Request], httpx.Response]) -> ImmutaClient:
    return ImmutaClient(
        "https://acme.immuta.example",
        Auth.api_key(KEY),
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.01, deadline=5),
        sleep=lambda seconds: None,
    )


INTEGRATION = {"id": "1", "status": "enabled", "type": "Trino"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"integrations": []}', "expected a JSON array of integration objects"),
        (json.dumps([INTEGRATION, "junk"]).encode(), "expected a JSON array of integration objects"),
        (json.dumps([{"status": "enabled", "type": "Trino"}]).encode(), "an integration has no usable `id`"),
        (json.dumps([{"id": "1", "status": "enabled"}]).encode(), "item 0 (id 1) has no type"),
        (b"<html>maintenance</html>", "the answer is not valid JSON"),
        (b"", "the answer is not valid JSON"),
    ],
    ids=["object", "junk-item", "no-id", "no-type", "html", "empty"],
)
def test_a_malformed_list_fails_the_plan(
    files: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, body: bytes, message: str
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    monkeypatch.setattr("reconciler.cli.connect.open_client", lambda target, *a: in_process_client(answer))
    monkeypatch.setenv("IMMUTA_URL", "https://acme.immuta.example")
    monkeypatch.setenv("IMMUTA_API_KEY", KEY)
    result = run_cli("plan", "integrations.d", "--prune")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "GET /integrations" in result.stderr
    assert message in result.stderr


def test_dropped_connections_fail_the_read(files: Path) -> None:
    sandbox = Sandbox(api_key=KEY, faults=Faults(rate_drop=1.0))
    client = ImmutaClient(
        "http://sandbox.invalid",
        Auth.api_key(KEY),
        transport=SandboxTransport(sandbox.handle),
        retry=RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.01, deadline=5),
        sleep=lambda seconds: None,
    )
    with client, pytest.raises(TransientError) as failed:
        engine.build(engine.PlanRequest(["integrations.d"], prune=True), load(), Target("https://t"), client)
    assert "connection to sandbox.invalid:80 dropped without an answer x4" in str(failed.value)
    assert sandbox.requests == [LIST] * 4


def test_an_empty_list_is_a_real_answer(files: Path) -> None:
    """The counterpart: a successful empty list plans creates, and nothing else."""
    sandbox = Sandbox(api_key=KEY)
    with ImmutaClient(
        "http://sandbox.invalid", Auth.api_key(KEY), transport=SandboxTransport(sandbox.handle)
    ) as client:
        planned = engine.build(engine.PlanRequest(["integrations.d"], prune=True), load(), Target("https://t"), client)
    assert {c.action.value for c in planned.plan.changes} == {"create"}
