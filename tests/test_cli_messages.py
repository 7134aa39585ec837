"""What a failed run says: a secret that is not set is named with where to add it; a wrong --env is not blamed on
the desired-state files; a YAML entry outside the declared folders is a warning naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from actions_runner import SNOWFLAKE_WITH_SECRET, RecordingSandbox

SNOWFLAKE = SNOWFLAKE_WITH_SECRET


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "integrations.d").mkdir()
    (tmp_path / "integrations.d" / "snowflake.yaml").write_text(SNOWFLAKE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for name in ("IMMUTA_URL", "IMMUTA_API_KEY", "IMMUTA_TOKEN", "GITHUB_ACTIONS", "SNOWFLAKE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def reconciler(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    environment = {k: v for k, v in os.environ.items() if not k.startswith(("IMMUTA_", "GITHUB_", "SNOWFLAKE_"))}
    return subprocess.run(
        [str(Path(sys.executable).parent / "reconciler"), *args],
        cwd=repo,
        env={**environment, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_a_missing_secret_is_named_with_where_to_add_it(repo: Path) -> None:
    hint = "add it to the `immuta-prod` environment's secrets"
    tenant = RecordingSandbox("k-1")  # served over HTTP: no placeholder secrets
    try:
        env = {"IMMUTA_URL": tenant.url, "IMMUTA_API_KEY": "k-1", "RECONCILER_SECRETS_HINT": hint}
        result = reconciler(repo, "apply", "--auto-approve", **env)
    finally:
        tenant.close()
    assert result.returncode == 1
    assert tenant.writes() == 0
    assert result.stderr.splitlines()[-2:] == [
        "integrations.d/snowflake.yaml:9 needs SNOWFLAKE_PASSWORD: add it to the `immuta-prod` environment's secrets",
        "error: 1 variable(s) not set; nothing was changed",
    ]


def test_without_a_hint_the_variable_is_named(repo: Path) -> None:
    result = reconciler(repo, "validate", "--resolve-secrets")
    assert result.returncode == 1
    assert result.stdout == (
        "integrations.d/snowflake.yaml:9:3: $.config.password: environment variable SNOWFLAKE_PASSWORD is not set\n"
    )


def test_an_environment_that_does_not_exist_is_not_blamed_on_the_files(repo: Path) -> None:
    (repo / "environments").mkdir()
    (repo / "environments" / "prod.yaml").write_text("url: https://acme.immuta.com\n", encoding="utf-8")
    result = reconciler(repo, "plan", "--env", "prdo")
    assert result.returncode == 1
    assert result.stderr == (
        "no environment 'prdo' (environments/prdo.yaml not found); known: prod\n"
        "error: 1 problem(s) with the environment (--env, environments/); nothing was changed\n"
    )


def test_an_entry_outside_the_declared_folders_is_a_warning(repo: Path) -> None:
    (repo / "old").mkdir()
    (repo / "old" / "snowflake.yml").write_text("# moved?\n" + SNOWFLAKE, encoding="utf-8")
    (repo / "config.yaml").write_text("type: something else\n", encoding="utf-8")  # not an integration type
    warning = (
        "old/snowflake.yml:2:1: $.type: warning: looks like a desired-state entry (type: Snowflake) but is outside "
        "integrations.d, so it is not read: move it there, or add its folder to the paths\n"
    )
    result = reconciler(repo, "validate")
    assert (result.returncode, result.stdout) == (0, warning)
    hook = reconciler(repo, "validate", "--all-environments")  # the pre-commit hook's entry
    assert (hook.returncode, hook.stdout) == (0, warning)
    named = reconciler(repo, "validate", "integrations.d/snowflake.yaml")
    assert (named.returncode, named.stdout) == (0, "")  # only what was asked about


def test_with_an_environment_messages_name_its_variables(repo: Path) -> None:
    tenant = RecordingSandbox("the-right-key")
    try:
        (repo / "environments").mkdir()
        (repo / "environments" / "prod.yaml").write_text(
            f"url: {tenant.url}\napiKeyEnv: IMMUTA_PROD_KEY\ntokenEnv: IMMUTA_PROD_TOKEN\npaths: [integrations.d]\n"
        )
        result = reconciler(repo, "plan", "--env", "prod", IMMUTA_PROD_KEY="a-wrong-key")
    finally:
        tenant.close()
    assert result.returncode == 1
    assert "IMMUTA_PROD_KEY" in result.stderr
    assert "IMMUTA_API_KEY" not in result.stderr and "IMMUTA_URL" not in result.stderr


def test_a_forgotten_env_is_named_with_the_fix(repo: Path) -> None:
    (repo / "environments").mkdir()
    (repo / "environments" / "prod.yaml").write_text("url: https://acme.immuta.com\npaths: [integrations.d]\n")
    result = reconciler(repo, "plan")
    assert result.returncode == 1
    assert result.stderr.endswith("environments/ declares prod: did you forget --env NAME (e.g. --env prod)?\n")
