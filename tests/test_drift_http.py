"""`reconciler drift` against the simulator served over real HTTP on 127.0.0.1: no secret is needed, and a
read the server refuses is an error (exit 1), never "everything was deleted outside Git"."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox import Sandbox, start_server

REPO = Path(__file__).resolve().parent.parent
KEY = "drift-http-key"
RunCli = Callable[..., Any]  # the `run_cli` fixture of conftest.py


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli) -> Iterator[Sandbox]:
    """The shipped examples applied (in-process), then that tenant served on loopback; no secret is set."""
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    state = tmp_path / "tenant.json"
    assert run_cli("apply", "--sandbox", "--sandbox-state", str(state), "--auto-approve").exit_code == 0
    simulator = Sandbox(api_key=KEY, state_file=str(state))
    for name in ("IMMUTA_TOKEN", "SNOWFLAKE_ADMIN_PASSWORD", "SNOWFLAKE_ADMIN_USER", "REDSHIFT_BOOTSTRAP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    with start_server(simulator, host="127.0.0.1", port=0) as server:
        monkeypatch.setenv("IMMUTA_URL", server.url)
        monkeypatch.setenv("IMMUTA_API_KEY", KEY)
        yield simulator


def test_clean_then_drift_over_http_without_secrets(served: Sandbox, run_cli: RunCli) -> None:
    result = run_cli("drift")
    assert result.exit_code == 0, result.stderr
    assert "No drift" in result.stdout
    snowflake = next(r["id"] for r in served.list_integrations() if r["type"] == "Snowflake")
    served.oob_edit(str(snowflake), "config.role", "SYSADMIN")
    result = run_cli("drift", "--format", "json")
    assert result.exit_code == 2
    assert '"changed": 1' in result.stdout


def test_a_refused_read_is_exit_1(served: Sandbox, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMMUTA_API_KEY", "wrong-key")
    result = run_cli("drift", "--format", "markdown")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "GET /integrations → 401" in result.stderr
