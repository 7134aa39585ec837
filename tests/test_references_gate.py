"""Issue 19, item 1: the references gate (reconciler/references.py). What a reviewer reads is what apply
sends: `${env:}`/`${file:}` give secret fields only, the reconciler's and the CI's credentials are never
referenced, and `fileRoots` stay inside the repository. Each case: the exact message, the exit code, and
that nothing was written, sent or shown."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.desired import SecretMode, load_desired
from reconciler.errors import InputError
from reconciler.secrets import Lookup, Reference, RefusedReference
from reconciler.validation import schema

REPO = Path(__file__).resolve().parent.parent
RunCli = Callable[..., Any]
API_KEY = "sentinel-own-api-key-8d1f"
GITHUB_TOKEN = "sentinel-ci-token-5c2a"
SUMMARY = "error: 1 problem(s) in the desired-state files; nothing was changed\n"
ENV_SUMMARY = "error: 1 problem(s) with the environment (--env, environments/); nothing was changed\n"
NOT_SECRET = (
    " is not allowed here: ${env:} and ${file:} give only secret (writeOnly) fields; write the value literally, "
    "or as ${var:NAME} from an environment file (environments/NAME.yaml)"
)
OWN = (
    " names the reconciler's own credentials (IMMUTA_*), which can never be referenced: give this secret its own "
    "variable"
)
SHIPPED_REFERENCES = (
    "BIGQUERY_IMMUTA_SA_KEY",
    "DATABRICKS_OAUTH_CLIENT_SECRET",
    "REDSHIFT_BOOTSTRAP_PASSWORD",
    "S3_IMMUTA_ACCESS_KEY_ID",
    "S3_IMMUTA_SECRET_ACCESS_KEY",
    "SNOWFLAKE_ADMIN_PASSWORD",
    "SYNAPSE_IMMUTA_PASSWORD",
)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The shipped examples in a folder outside Git (so the repository is the working folder), every secret
    set, the tool's own key and the CI's token set to sentinels."""
    work = tmp_path / "repo"
    shutil.copytree(REPO / "integrations.d", work / "integrations.d")
    monkeypatch.chdir(work)
    for name in SHIPPED_REFERENCES:
        monkeypatch.setenv(name, f"{name.lower()}-value")
    monkeypatch.setenv("IMMUTA_API_KEY", API_KEY)
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    monkeypatch.delenv("IMMUTA_URL", raising=False)
    yield work


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def environment(repo: Path, text: str) -> None:
    (repo / "environments").mkdir(exist_ok=True)
    (repo / "environments" / "dev.yaml").write_text("url: https://dev.example.com\n" + text, encoding="utf-8")


SNOWFLAKE = "integrations.d/snowflake-prod.yaml"


@pytest.mark.parametrize(
    "args",
    [
        ("validate",),
        ("validate", "--resolve-secrets"),
        ("plan", "--sandbox"),
        ("plan", "--sandbox", "--format", "json"),
        ("plan", "--sandbox", "--format", "markdown"),
        ("plan", "--sandbox", "--out", "saved.plan"),
        ("apply", "--sandbox", "--auto-approve", "--report", "report.json"),
        ("drift", "--sandbox"),
        ("scripts", "--sandbox", "--out", "scripts"),
    ],
    ids=" ".join,
)
def test_the_tools_own_key_in_a_plain_field_is_refused_by_every_command(
    repo: Path, run_cli: RunCli, args: tuple[str, ...]
) -> None:
    edit(repo / SNOWFLAKE, "username: IMMUTA_BOOTSTRAP", "username: ${env:IMMUTA_API_KEY}")
    before = snapshot(repo / "integrations.d")

    result = run_cli(*args, "--verbose") if args[0] not in ("validate", "scripts") else run_cli(*args)

    message = f"{SNOWFLAKE}:25:3: $.config.username: ${{env:IMMUTA_API_KEY}}{NOT_SECRET}\n"
    assert result.exit_code == 1
    assert message in result.stdout + result.stderr
    assert API_KEY not in result.stdout + result.stderr
    assert snapshot(repo / "integrations.d") == before
    assert not (repo / "saved.plan").exists() and not (repo / "report.json").exists()
    assert not (repo / "scripts").exists()
    for state in (repo / ".reconciler").glob("*.json"):
        assert json.loads(state.read_text(encoding="utf-8"))["integrations"] == {}  # nothing sent


def test_the_tools_own_key_in_a_secret_field_is_refused_and_never_sent(repo: Path, run_cli: RunCli) -> None:
    edit(repo / SNOWFLAKE, "password: ${env:SNOWFLAKE_ADMIN_PASSWORD}", "password: ${env:IMMUTA_API_KEY}")

    result = run_cli("apply", "--sandbox", "--auto-approve")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"{SNOWFLAKE}:26:3: $.config.password: ${{env:IMMUTA_API_KEY}}{OWN}\n{SUMMARY}"
    assert json.loads((repo / ".reconciler" / "sandbox.json").read_text(encoding="utf-8"))["integrations"] == {}


def test_the_ci_token_is_never_referenced(repo: Path, run_cli: RunCli) -> None:
    edit(repo / SNOWFLAKE, "password: ${env:SNOWFLAKE_ADMIN_PASSWORD}", "password: ${env:GITHUB_TOKEN}")

    result = run_cli("validate", "--resolve-secrets")

    assert (result.exit_code, result.stdout) == (
        1,
        f"{SNOWFLAKE}:26:3: $.config.password: ${{env:GITHUB_TOKEN}} names the CI's credentials (GITHUB_TOKEN, "
        "ACTIONS_*, RUNNER_*), which can never be referenced: give this secret its own variable\n",
    )
    assert GITHUB_TOKEN not in result.stdout + result.stderr


def test_a_value_from_an_environment_file_cannot_smuggle_a_reference(repo: Path, run_cli: RunCli) -> None:
    """`${var:}` values are filled in first; a reference they bring is judged where it lands."""
    environment(repo, "values:\n  WH: ${env:IMMUTA_API_KEY}\n")
    edit(repo / SNOWFLAKE, "warehouse: IMMUTA_WH", "warehouse: ${var:WH}")

    result = run_cli("plan", "--env", "dev", "--sandbox", "--format", "json")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"{SNOWFLAKE}:21:3: $.config.warehouse: ${{env:IMMUTA_API_KEY}}{NOT_SECRET}\n{SUMMARY}"
    assert API_KEY not in result.stderr


def test_an_environments_key_variable_must_be_one_of_the_tools_own(repo: Path, run_cli: RunCli) -> None:
    environment(repo, "apiKeyEnv: SNOWFLAKE_ADMIN_PASSWORD\n")

    result = run_cli("plan", "--env", "dev")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "environments/dev.yaml:2:1: $.apiKeyEnv: must name an environment variable starting with IMMUTA_ (such as "
        "IMMUTA_DEV_API_KEY): no file can reference those\n" + ENV_SUMMARY
    )


@pytest.mark.parametrize("setting", ["IMMUTA_URL", "immuta_timeout"])
def test_an_environments_key_variable_is_never_one_of_the_tools_settings(
    repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    """The action puts the key where apiKeyEnv says: in IMMUTA_URL it would be printed as "the URL"."""
    environment(repo, f"apiKeyEnv: {setting}\n")
    monkeypatch.setenv(setting.upper(), API_KEY)

    result = run_cli("plan", "--env", "dev")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"environments/dev.yaml:2:1: $.apiKeyEnv: {setting} is a setting of the reconciler, not a place for a "
        "credential: name a variable of its own (such as IMMUTA_DEV_API_KEY)\n" + ENV_SUMMARY
    )
    assert API_KEY not in result.stderr


@pytest.mark.parametrize(
    ("root", "why"),
    [
        ("/proc", "/proc is outside the repository ({repo})"),
        ("../", "../ is outside the repository ({repo})"),
        ("integrations.d/../..", "integrations.d/../.. is outside the repository ({repo})"),
        ("link", "link is outside the repository (through a link) ({repo})"),
    ],
)
def test_file_roots_stay_inside_the_repository(repo: Path, run_cli: RunCli, root: str, why: str) -> None:
    (repo / "link").symlink_to("/etc")
    environment(repo, f"fileRoots: [{root}]\n")

    result = run_cli("validate", "--env", "dev", "--resolve-secrets")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"environments/dev.yaml:2:13: $.fileRoots[0]: {why.format(repo=os.path.realpath(repo))}: ${{file:}} may "
        "read only folders inside it; give secrets from elsewhere as ${env:NAME}\n" + ENV_SUMMARY
    )


def test_a_git_folder_is_never_a_file_root(repo: Path, run_cli: RunCli) -> None:
    (repo / ".git").mkdir()
    environment(repo, "fileRoots: [.git]\n")

    result = run_cli("plan", "--env", "dev", "--sandbox")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "environments/dev.yaml:2:13: $.fileRoots[0]: .git is a Git folder: ${file:} never reads it\n" + ENV_SUMMARY
    )


def test_a_file_root_inside_the_repository_is_read(repo: Path, run_cli: RunCli) -> None:
    (repo / "secrets").mkdir()
    (repo / "secrets" / "snowflake").write_text("from-a-file-root\n", encoding="utf-8")
    environment(repo, "fileRoots: [secrets]\n")
    edit(repo / SNOWFLAKE, "${env:SNOWFLAKE_ADMIN_PASSWORD}", "${file:../secrets/snowflake}")

    result = run_cli("validate", "--env", "dev", "--resolve-secrets")

    assert (result.exit_code, result.stdout) == (0, "")


def test_the_lookup_refuses_credentials_whoever_asks(tmp_path: Path) -> None:
    """The second line of the gate: a caller that skipped validation still cannot read them."""
    lookup = Lookup({"IMMUTA_TOKEN": "t", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "a", "runner_temp": "r"})
    for name in ("IMMUTA_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "runner_temp"):
        with pytest.raises(RefusedReference):
            lookup.read(Reference("env", name), tmp_path)


def test_a_refused_reference_never_gets_the_sandbox_placeholder(repo: Path) -> None:
    """Under --sandbox an unset reference gets a placeholder; a refused one is an error all the same."""
    documents = repo / "integrations.d" / "snowflake-prod.yaml"
    edit(documents, "password: ${env:SNOWFLAKE_ADMIN_PASSWORD}", "password: ${file:../.git/config}")
    (repo / ".git").mkdir()
    (repo / ".git" / "config").write_text("token\n", encoding="utf-8")
    with pytest.raises(InputError) as raised:
        load_desired(
            [str(documents)],
            schema.load(),
            mode=SecretMode.PLACEHOLDER,
            lookup=Lookup({}, roots=[str(repo)]),
        )
    assert str(raised.value).endswith(
        "$.config.password: cannot read file ../.git/config (read as "
        f"{repo.as_posix()}/integrations.d/../.git/config): it is inside a Git folder (.git), which holds the "
        "CI's credentials"
    )


def test_the_sandbox_says_on_every_run_that_it_gave_a_placeholder(
    repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNAPSE_IMMUTA_PASSWORD")
    line = (
        "warning: sandbox: ${env:SYNAPSE_IMMUTA_PASSWORD} not set, so the sandbox sends 'sandbox-placeholder' "
        "instead (a tenant would refuse the run): set them to test what apply sends\n"
    )
    for args in (
        ("plan", "--sandbox", "--format", "json"),
        ("apply", "--sandbox", "--auto-approve"),
        ("drift", "--sandbox"),
    ):
        result = run_cli(*args)
        assert result.exit_code in (0, 2), result.stderr
        assert line in result.stderr, args
    monkeypatch.setenv("SYNAPSE_IMMUTA_PASSWORD", "set-now")
    assert "sandbox-placeholder" not in run_cli("plan", "--sandbox").stderr


def test_a_desired_state_folder_outside_the_repository_is_never_read_by_a_file_reference(
    repo: Path, run_cli: RunCli, tmp_path: Path
) -> None:
    """`paths: [integrations.d, /etc]` would make `${file:/etc/…}` a secret apply sends to a host: an
    environment's `paths` outside the repository are refused before any file is read (loading/environments.py)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "token").write_text("outside-secret-61d2\n", encoding="utf-8")
    environment(repo, f"paths: [integrations.d, {elsewhere}]\n")
    edit(repo / SNOWFLAKE, "${env:SNOWFLAKE_ADMIN_PASSWORD}", f"${{file:{elsewhere}/token}}")

    result = run_cli("apply", "--env", "dev", "--sandbox", "--auto-approve")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"environments/dev.yaml:2:25: $.paths[1]: {elsewhere} is outside the repository ({repo}): an environment's "
        "paths stay inside it\n" + ENV_SUMMARY
    )
    assert "outside-secret-61d2" not in result.stderr
    assert not (repo / ".reconciler" / "sandbox-dev.json").exists()
