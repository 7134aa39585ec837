"""`reconciler apply` killed with SIGKILL at random points (seeded), against `reconciler sandbox serve` in
another process; then applied to completion. The tenant must converge with no natural key twice and nothing
a file declares deleted, except the one integration whose replace was planned."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.sandbox import Sandbox
from reconciler.validation import schema

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

KEY = "sigkill-key"
PASSWORD = "sigkill-secret-pw"
KILLS_PER_ROUND = 4
PROVISIONING = "0.2"


def snowflake(n: int, warehouse: str = "WH") -> dict[str, Any]:
    return {
        "type": "Snowflake",
        "autoBootstrap": True,
        "config": {
            "host": f"acct{n}.snowflakecomputing.com",
            "warehouse": warehouse,
            "database": "IMMUTA",
            "authenticationType": "userPassword",
            "username": "IMMUTA_ADMIN",
            "password": "${env:SIGKILL_PASSWORD}",
            "role": "ACCOUNTADMIN",
        },
    }


def databricks(n: int, catalog: str = "immuta") -> dict[str, Any]:
    return {
        "type": "Databricks",
        "autoBootstrap": True,
        "config": {
            "workspaceUrl": f"dbc-{n}.cloud.databricks.com",
            "httpPath": "/sql/1.0/warehouses/abc",
            "authenticationType": "token",
            "token": "${env:SIGKILL_PASSWORD}",
            "catalog": catalog,
        },
    }


def first_files() -> dict[str, dict[str, Any]]:
    files = {f"snowflake-{n}.yaml": snowflake(n) for n in range(5)}
    files |= {f"databricks-{n}.yaml": databricks(n) for n in range(4)}
    files["trino.yaml"] = {"type": "Trino"}
    return files


def second_files() -> dict[str, dict[str, Any]]:
    """Updates, one replace and one tombstone: the kills now interrupt every kind of write."""
    files = first_files()
    files["snowflake-0.yaml"] = snowflake(0, warehouse="WH_XL")
    files["snowflake-1.yaml"] = snowflake(1, warehouse="WH_XL")
    files["databricks-0.yaml"] = databricks(0, catalog="immuta_v2")  # immutable: a replace
    files["databricks-1.yaml"] = {**databricks(1), "ensure": "absent"}
    return files


def write(folder: Path, files: dict[str, dict[str, Any]]) -> None:
    for name, document in files.items():
        (folder / name).write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`reconciler sandbox serve` in its own process, its tenant in a state file; answers (url, state)."""
    state = tmp_path / "tenant.json"
    command = [sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", "0", "--state", str(state)]
    command += ["--api-key", KEY, "--provisioning-seconds", PROVISIONING]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as server:
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:"), url
            yield url, state
        finally:
            server.kill()
            server.wait(timeout=10)


def apply_command(folder: Path) -> list[str]:
    return [sys.executable, "-m", "reconciler", "apply", "--auto-approve", "--no-color", str(folder)]


def environment(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "IMMUTA_TOKEN")}
    return env | {"IMMUTA_URL": url, "IMMUTA_API_KEY": KEY, "SIGKILL_PASSWORD": PASSWORD, "NO_COLOR": "1"}


def kill_during_writes(command: list[str], env: dict[str, str], state: Path, delay: float) -> int | None:
    """Start the command and SIGKILL it `delay` seconds after its first write reached the tenant (the state
    file changed), unless it finished first; its exit code, None when killed."""
    before = state.stat().st_mtime_ns
    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as process:
        try:
            deadline = time.monotonic() + 30
            while state.stat().st_mtime_ns == before and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            return process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            return None
        finally:
            if process.poll() is None:
                process.kill()


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


def tenant(state: Path) -> list[dict[str, Any]]:
    """The served tenant, read from its state file (the file lock keeps this consistent)."""
    return Sandbox(state_file=state).list_integrations()


def natural_keys(records: list[dict[str, Any]]) -> list[str]:
    schemas = schema.load()
    return [str(schemas.types[r["type"]].key_of(r)) for r in records]


def test_apply_killed_at_random_points_then_rerun_converges(served: tuple[str, Path], tmp_path: Path) -> None:
    url, state = served
    env = environment(url)
    tenant(state)  # the state file exists from now on: its changes show when writes begin
    folder = tmp_path / "integrations.d"
    folder.mkdir()
    rng = random.Random(20240605)
    first_ids: dict[str, str] = {}
    killed = 0

    for round_files in (first_files(), second_files()):
        write(folder, round_files)
        for _ in range(KILLS_PER_ROUND):
            # The writes of a run take ~0.5 s (two rounds of 0.2 s provisioning): kill somewhere in them.
            outcome = kill_during_writes(apply_command(folder), env, state, rng.uniform(0.0, 0.6))
            killed += outcome is None
            keys = natural_keys(tenant(state))
            assert [k for k, n in Counter(keys).items() if n > 1] == []
        finished = run(apply_command(folder), env)
        assert finished.returncode == 0, finished.stdout + finished.stderr
        assert PASSWORD not in finished.stdout + finished.stderr
        settled = run([sys.executable, "-m", "reconciler", "plan", "--detailed-exitcode", str(folder)], env)
        assert settled.returncode == 0, settled.stdout + settled.stderr
        records = tenant(state)
        keys = natural_keys(records)
        assert [k for k, n in Counter(keys).items() if n > 1] == []
        assert {r["status"] for r in records} == {"enabled"}
        if not first_ids:
            first_ids = dict(zip(keys, (r["id"] for r in records), strict=True))
            assert len(first_ids) == 10

    assert killed >= 2, "the kills came too late to interrupt anything: tune the delays"
    final = dict(zip(natural_keys(tenant(state)), (r["id"] for r in tenant(state)), strict=True))
    replaced = "Databricks[workspaceUrl=dbc-0.cloud.databricks.com]"
    tombstoned = "Databricks[workspaceUrl=dbc-1.cloud.databricks.com]"
    assert set(final) == set(first_ids) - {tombstoned}
    assert final[replaced] != first_ids[replaced]
    assert {k: v for k, v in final.items() if k != replaced} == {
        k: v for k, v in first_ids.items() if k not in (replaced, tombstoned)
    }, "an integration a file declares was deleted or re-created by an interrupted apply"
