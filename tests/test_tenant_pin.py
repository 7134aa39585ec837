"""What a reviewer approved is exactly what runs (issue 19): with a base revision (`--base REV`, or a pull
request's base branch in CI), an environment's connection settings — url, caBundle and its certificates,
apiKeyEnv, tokenEnv — are the base revision's. A pull request that changes them, or adds the environment, is
refused with exit 3 before any credential is read: the attacker's host receives no request at all, nor does
the real tenant. Both are the simulator served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox import Sandbox, start_server
from reconciler.sandbox.server import RunningServer

KEY = "prod-key-7f3a9c1e55d0b2"  # the tenant's real key, held by the pull request's plan job
RunCli = Callable[..., Any]  # tests/conftest.py's `run_cli`
TRINO = "type: Trino\n"
AFTER = "in a pull request of its own, merged by an administrator, then plan"
TO_A_TENANT = "a pull request's plan never sends credentials to a tenant the base revision does not name"
TRUSTS = "a pull request's plan never trusts certificate authorities the base revision does not name"
READS = "a pull request's plan never reads credentials the base revision does not name"


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def servers() -> Iterator[tuple[RunningServer, RunningServer]]:
    """The real tenant (which knows the key) and the attacker's host, each recording every request."""
    with start_server(Sandbox(api_key=KEY)) as real, start_server(Sandbox(api_key="attacker")) as attacker:
        yield real, attacker


@pytest.fixture
def repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, servers: tuple[RunningServer, RunningServer]
) -> Callable[[str], Path]:
    """`repo(PROD)`: `main` holds environments/prod.yaml (PROD, the real tenant's URL filled in) and one
    integration; the test then edits the working tree as a pull request would."""
    real, _ = servers
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    monkeypatch.setenv("IMMUTA_PROD_API_KEY", KEY)
    for name in ("IMMUTA_URL", "IMMUTA_API_KEY", "IMMUTA_TOKEN", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)

    def make(prod: str) -> Path:
        write(tmp_path, "integrations.d/trino.yaml", TRINO)
        write(tmp_path, "certs/ca.pem", "base certificates\n")
        if prod:
            write(tmp_path, "environments/prod.yaml", prod.replace("REAL", real.url))
        git(tmp_path, "init", "-q", "-b", "main")
        git(tmp_path, "add", "-A")
        git(tmp_path, "commit", "-q", "-m", "base")
        return tmp_path

    return make


def write(root: Path, name: str, text: str) -> None:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text, encoding="utf-8")


PROD = "url: REAL\napiKeyEnv: IMMUTA_PROD_API_KEY\npaths: [integrations.d]\n"


def no_request(servers: tuple[RunningServer, RunningServer], result: Any) -> None:
    real, attacker = servers
    assert attacker.sandbox.requests == []
    assert real.sandbox.requests == []
    assert KEY not in result.stdout + result.stderr


@pytest.mark.parametrize("form", ["text", "json", "markdown"])
def test_a_pull_request_that_points_the_url_elsewhere_sends_nothing_anywhere(
    repo: Callable[[str], Path], servers: tuple[RunningServer, RunningServer], run_cli: RunCli, form: str
) -> None:
    real, attacker = servers
    root = repo(PROD)
    write(root, "environments/prod.yaml", PROD.replace("REAL", attacker.url))
    result = run_cli("plan", "--env", "prod", "--base", "main", "--format", form)
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == (
        f"refused: environments/prod.yaml: url changes in this pull request (base main: {real.url}): "
        f"{TO_A_TENANT}; change the tenant {AFTER}\n"
    )
    no_request(servers, result)


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        (
            PROD + "caBundle: certs/attacker.pem\n",
            f"caBundle changes in this pull request (base main: not set): {TRUSTS}; change it {AFTER}",
        ),
        (
            PROD.replace("IMMUTA_PROD_API_KEY", "IMMUTA_API_KEY"),
            f"apiKeyEnv changes in this pull request (base main: IMMUTA_PROD_API_KEY): {READS}; change it {AFTER}",
        ),
        (
            PROD + "tokenEnv: IMMUTA_PROD_TOKEN\n",
            f"tokenEnv changes in this pull request (base main: IMMUTA_TOKEN): {READS}; change it {AFTER}",
        ),
    ],
    ids=["caBundle", "apiKeyEnv", "tokenEnv"],
)
def test_a_pull_request_that_changes_the_ca_or_the_key_variable_is_refused_before_connecting(
    repo: Callable[[str], Path],
    servers: tuple[RunningServer, RunningServer],
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    changed: str,
    message: str,
) -> None:
    real, _ = servers
    root = repo(PROD)
    write(root, "certs/attacker.pem", "the attacker's certificates\n")
    write(root, "environments/prod.yaml", changed.replace("REAL", real.url))
    monkeypatch.setenv("IMMUTA_API_KEY", KEY)
    monkeypatch.setenv("IMMUTA_PROD_TOKEN", KEY)
    result = run_cli("plan", "--env", "prod", "--base", "main")
    assert (result.exit_code, result.stderr) == (3, f"refused: environments/prod.yaml: {message}\n")
    no_request(servers, result)


def test_the_certificates_of_the_base_bundle_cannot_change_in_a_pull_request(
    repo: Callable[[str], Path], servers: tuple[RunningServer, RunningServer], run_cli: RunCli
) -> None:
    root = repo(PROD + "caBundle: certs/ca.pem\n")
    write(root, "certs/ca.pem", "the attacker's certificates\n")
    result = run_cli("plan", "--env", "prod", "--base", "main")
    assert (result.exit_code, result.stderr) == (
        3,
        "refused: environments/prod.yaml: caBundle certs/ca.pem: its certificates change in this pull request "
        f"(base main): {TRUSTS}; change it {AFTER}\n",
    )
    no_request(servers, result)


def test_a_bundle_the_base_does_not_hold_is_the_pull_requests_own(
    repo: Callable[[str], Path], servers: tuple[RunningServer, RunningServer], run_cli: RunCli
) -> None:
    root = repo(PROD + "caBundle: certs/new.pem\n")
    write(root, "certs/new.pem", "added by the pull request\n")
    result = run_cli("plan", "--env", "prod", "--base", "main")
    assert (result.exit_code, result.stderr) == (
        3,
        "refused: environments/prod.yaml: caBundle certs/new.pem is not in the base main: its certificates are "
        f"the pull request's: {TRUSTS}; change it {AFTER}\n",
    )
    no_request(servers, result)


def test_an_environment_new_in_the_pull_request_is_refused(
    repo: Callable[[str], Path], servers: tuple[RunningServer, RunningServer], run_cli: RunCli
) -> None:
    _, attacker = servers
    root = repo("")
    write(root, "environments/prod.yaml", PROD.replace("REAL", attacker.url))
    result = run_cli("plan", "--env", "prod", "--base", "main")
    assert (result.exit_code, result.stderr) == (
        3,
        "refused: environments/prod.yaml: new in this pull request (the base main has no such file): "
        f"{TO_A_TENANT}; add the environment {AFTER}\n",
    )
    no_request(servers, result)


@pytest.mark.parametrize(
    "command",
    [
        ("drift", "--base", "main"),
        ("apply", "--auto-approve", "--base", "main"),
        ("scripts", "--base", "main"),
        ("plan",),
        ("doctor",),
        ("export", "--out", "exported"),
    ],
    ids=["drift", "apply", "scripts", "plan-in-ci", "doctor-in-ci", "export-in-ci"],
)
def test_every_command_with_a_base_is_refused_the_same(
    repo: Callable[[str], Path],
    servers: tuple[RunningServer, RunningServer],
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    command: tuple[str, ...],
) -> None:
    """`--base`, or in a pull request's CI the base branch (GITHUB_BASE_REF; the action passes no --base)."""
    real, attacker = servers
    root = repo(PROD)
    git(root, "update-ref", "refs/remotes/origin/main", "main")
    write(root, "environments/prod.yaml", PROD.replace("REAL", attacker.url))
    if "--base" not in command:
        monkeypatch.setenv("GITHUB_BASE_REF", "main")  # run_cli unsets it; set after it has
    base = "main" if "--base" in command else "origin/main"
    result = run_cli(*command, "--env", "prod")
    assert (result.exit_code, result.stderr) == (
        3,
        f"refused: environments/prod.yaml: url changes in this pull request (base {base}: {real.url}): "
        f"{TO_A_TENANT}; change the tenant {AFTER}\n",
    )
    no_request(servers, result)
    assert not (root / "scripts").exists() and not (root / "exported").exists()


def test_a_pull_request_that_changes_only_values_and_paths_plans_against_the_base_tenant(
    repo: Callable[[str], Path], servers: tuple[RunningServer, RunningServer], run_cli: RunCli
) -> None:
    real, attacker = servers
    root = repo(PROD)
    write(root, "more.d/trino.yaml", "type: ${var:KIND}\n")
    write(root, "environments/prod.yaml", PROD.replace("REAL", real.url).replace("[integrations.d]", "[more.d]"))
    with (root / "environments/prod.yaml").open("a", encoding="utf-8") as file:
        file.write("values: {KIND: Trino}\n")
    result = run_cli("plan", "--env", "prod", "--base", "main", "--detailed-exitcode")
    assert result.exit_code == 2, result.stderr
    assert result.stdout.startswith(f"Target: {real.url}\n\n1 to create:\n  + Trino  (more.d/trino.yaml:1)\n")
    assert ("GET", "/integrations") in real.sandbox.requests
    assert attacker.sandbox.requests == []
    assert KEY not in result.stdout + result.stderr


def test_without_a_base_the_environment_file_names_the_tenant(
    repo: Callable[[str], Path], servers: tuple[RunningServer, RunningServer], run_cli: RunCli
) -> None:
    """On main after a reviewed merge, no base is given: the file as merged is the tenant (nothing changes)."""
    real, _ = servers
    repo(PROD)
    result = run_cli("plan", "--env", "prod", "--detailed-exitcode")
    assert result.exit_code == 2, result.stderr
    assert real.sandbox.requests != []


def test_every_changed_connection_setting_is_named_at_once(
    repo: Callable[[str], Path],
    servers: tuple[RunningServer, RunningServer],
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real, attacker = servers
    root = repo(PROD)
    write(root, "environments/prod.yaml", f"url: {attacker.url}\napiKeyEnv: IMMUTA_API_KEY\n")
    monkeypatch.setenv("IMMUTA_API_KEY", KEY)
    result = run_cli("plan", "--env", "prod", "--base", "main")
    assert (result.exit_code, result.stderr) == (
        3,
        "refused: environments/prod.yaml: the connection changes in this pull request:\n"
        f"  environments/prod.yaml: url changes in this pull request (base main: {real.url}): {TO_A_TENANT}; "
        f"change the tenant {AFTER}\n"
        "  environments/prod.yaml: apiKeyEnv changes in this pull request (base main: IMMUTA_PROD_API_KEY): "
        f"{READS}; change it {AFTER}\n",
    )
    no_request(servers, result)


def test_a_base_that_cannot_be_read_fails_before_anything_is_sent(
    repo: Callable[[str], Path], servers: tuple[RunningServer, RunningServer], run_cli: RunCli
) -> None:
    repo(PROD)
    result = run_cli("plan", "--env", "prod", "--base", "origin/release")
    assert (result.exit_code, result.stderr) == (
        1,
        "error: the base revision origin/release is not in this checkout: fetch it (e.g. `git fetch origin "
        "release`, or actions/checkout with fetch-depth: 0), or pass --base REV\n",
    )
    no_request(servers, result)


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        ("certs/attacker.pem", "its files change in this pull request (base main: ca.pem)"),
        ("certs/ca.pem", "its certificates change in this pull request (base main)"),
    ],
    ids=["a-file-added", "a-file-changed"],
)
def test_a_bundle_folder_holds_the_base_certificates_only(
    repo: Callable[[str], Path],
    servers: tuple[RunningServer, RunningServer],
    run_cli: RunCli,
    edit: str,
    why: str,
) -> None:
    root = repo(PROD + "caBundle: certs\n")
    write(root, edit, "the attacker's certificates\n")
    result = run_cli("plan", "--env", "prod", "--base", "main")
    shown = "certs" if "files" in why else "certs/ca.pem"
    assert (result.exit_code, result.stderr) == (
        3,
        f"refused: environments/prod.yaml: caBundle {shown}: {why}: {TRUSTS}; change it {AFTER}\n",
    )
    no_request(servers, result)
