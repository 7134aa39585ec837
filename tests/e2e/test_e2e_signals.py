"""SIGTERM (what CI sends on cancel) and Ctrl-C during `reconciler apply`, against `reconciler sandbox serve`
in another process with slow provisioning: no new write starts, those under way finish within the grace
period, the summary of what finished is printed, exit 143 (130 for SIGINT); a second signal still prints
the summary, at once. Nothing is lost: the next apply converges, with no natural key twice."""

from __future__ import annotations

import os
import re
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

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

KEY = "signals-key"
PASSWORD = "signals-secret-pw"
WRITES = 6


def snowflake(n: int) -> dict[str, Any]:
    return {
        "type": "Snowflake",
        "autoBootstrap": True,
        "config": {
            "host": f"acct{n}.snowflakecomputing.com",
            "warehouse": "WH",
            "database": "IMMUTA",
            "authenticationType": "userPassword",
            "username": "IMMUTA_ADMIN",
            "password": "${env:SIGNALS_PASSWORD}",
            "role": "ACCOUNTADMIN",
        },
    }


def serve(state: Path, provisioning: float) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", "0", "--state", str(state)]
    command += ["--api-key", KEY, "--provisioning-seconds", str(provisioning)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    return server, url


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    files = tmp_path / "integrations.d"
    files.mkdir()
    for n in range(WRITES):
        (files / f"snowflake-{n}.yaml").write_text(yaml.safe_dump(snowflake(n), sort_keys=False), encoding="utf-8")
    return files


@pytest.fixture
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, Path]]:
    state = tmp_path / "tenant.json"
    server, url = serve(state, request.param)
    try:
        Sandbox(state_file=state).list_integrations()  # the state file exists: its changes show writes
        yield url, state
    finally:
        server.kill()
        server.wait(timeout=10)
        assert server.stdout is not None
        server.stdout.close()


def environment(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "IMMUTA_TOKEN")}
    return env | {"IMMUTA_URL": url, "IMMUTA_API_KEY": KEY, "SIGNALS_PASSWORD": PASSWORD, "NO_COLOR": "1"}


def apply_command(folder: Path, *extra: str) -> list[str]:
    command = [sys.executable, "-m", "reconciler", "apply", "--auto-approve", "--no-color", "--parallelism", "2"]
    return [*command, *extra, str(folder)]


def signalled(
    command: list[str], env: dict[str, str], state: Path, signals: list[tuple[float, int]]
) -> tuple[int, str, str, float]:
    """Run `command`; once its first write reached the tenant (the state file changed), send each signal
    after its delay. Exit code, stdout, stderr, and seconds from the first signal to the exit."""
    before = state.stat().st_mtime_ns
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            deadline = time.monotonic() + 30
            while state.stat().st_mtime_ns == before and time.monotonic() < deadline:
                assert process.poll() is None, "apply ended before its first write"
                time.sleep(0.005)
            first = time.monotonic()
            for delay, number in signals:
                time.sleep(delay)
                process.send_signal(number)
            out, err = process.communicate(timeout=60)
            return process.returncode, out, err, time.monotonic() - first
        finally:
            if process.poll() is None:
                process.kill()


def tenant(state: Path) -> list[dict[str, Any]]:
    return Sandbox(state_file=state).list_integrations()


def rerun_converges(folder: Path, env: dict[str, str], state: Path) -> None:
    """Nothing lost: the next apply finishes the rest, then the plan is empty and no key is there twice."""
    finished = subprocess.run(apply_command(folder), env=env, capture_output=True, text=True, timeout=120, check=False)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    plan = [sys.executable, "-m", "reconciler", "plan", "--detailed-exitcode", "--prune", str(folder)]
    settled = subprocess.run(  # from the repository holding the folder: --prune runs over its declared roots
        plan, env=env, cwd=folder.parent, capture_output=True, text=True, timeout=60, check=False
    )
    assert settled.returncode == 0, settled.stdout + settled.stderr
    hosts = Counter(r["config"]["host"] for r in tenant(state))
    assert hosts == Counter(f"acct{n}.snowflakecomputing.com" for n in range(WRITES))


@pytest.mark.parametrize("served", [0.8], indirect=True)
@pytest.mark.parametrize(
    ("number", "code", "name"), [(signal.SIGTERM, 143, "terminated (SIGTERM)"), (signal.SIGINT, 130, "interrupted")]
)
def test_a_signal_mid_apply_lets_running_writes_finish_and_prints_the_summary(
    served: tuple[str, Path], folder: Path, number: int, code: int, name: str
) -> None:
    url, state = served
    env = environment(url)
    exit_code, out, err, seconds = signalled(apply_command(folder), env, state, [(0.1, number)])

    assert exit_code == code, out + err
    records = tenant(state)
    # The writes under way finished (none left creating) and no new one started after the signal.
    assert {r["status"] for r in records} == {"enabled"}
    assert 1 <= len(records) < WRITES
    done = len(records)
    assert err.splitlines()[-1] == (
        f"error: {name}: {done} of {WRITES} write(s) finished, the rest were not started; "
        "running apply again continues from here"
    )
    assert f"Apply: {done} succeeded, 0 failed, 0 refused." in out
    assert "Not verified: interrupted before verifying" in out
    assert len(re.findall(r"^  ok      create Snowflake", out, flags=re.M)) == done
    assert seconds < 5, "the writes under way need under 2 s: the 10 s grace period is not waited out"
    assert PASSWORD not in out + err
    rerun_converges(folder, env, state)


@pytest.mark.parametrize("served", [3.0], indirect=True)
def test_a_second_signal_stops_waiting_and_still_prints_the_summary(served: tuple[str, Path], folder: Path) -> None:
    url, state = served
    env = environment(url)
    exit_code, out, err, seconds = signalled(
        apply_command(folder), env, state, [(0.2, signal.SIGTERM), (0.3, signal.SIGTERM)]
    )

    assert exit_code == 143, out + err
    assert seconds < 2, "the second signal must not wait for the 3 s provisioning"
    last = err.splitlines()[-1]
    assert last.startswith("error: terminated (SIGTERM): 0 of 6 write(s) finished, 2 still under way when apply ")
    assert last.endswith(
        "stopped waiting (within the 10s grace period), their outcome unknown until the next plan: "
        "Snowflake[host=acct0.snowflakecomputing.com] (creating); "
        "Snowflake[host=acct1.snowflakecomputing.com] (creating), the rest were not started; "
        "running apply again continues from here"
    )
    assert "Apply: 0 succeeded, 0 failed, 0 refused." in out
    assert {r["config"]["host"] for r in tenant(state)} == {
        "acct0.snowflakecomputing.com",
        "acct1.snowflakecomputing.com",
    }
    rerun_converges(folder, env, state)


@pytest.mark.parametrize("served", [3.0], indirect=True)
def test_the_grace_period_ends_the_wait(served: tuple[str, Path], folder: Path) -> None:
    url, state = served
    env = environment(url)
    command = apply_command(folder, "--grace-period", "0.5")
    exit_code, out, err, seconds = signalled(command, env, state, [(0.2, signal.SIGTERM)])

    assert exit_code == 143, out + err
    assert 0.5 <= seconds < 2.5
    assert "2 still under way when apply stopped waiting (within the 0.5s grace period)" in err
    rerun_converges(folder, env, state)
