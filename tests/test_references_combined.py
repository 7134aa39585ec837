"""Issue 19: the references gate (reconciler/references.py) against combinations of features, as an attacker
who read the README would try them: a value from an environment file that holds a reference of its own, a
reference in the reconciler's own blocks (`lifecycle`), a credential's name in another case. Each case: the
exact message, the exit code, and that nothing was sent or shown."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
RunCli = Callable[..., Any]
API_KEY = "sentinel-own-api-key-3e7b"
SNOWFLAKE = "integrations.d/snowflake-prod.yaml"
NOT_SECRET = (
    " is not allowed here: ${env:} and ${file:} give only secret (writeOnly) fields; write the value literally, "
    "or as ${var:NAME} from an environment file (environments/NAME.yaml)"
)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    work = tmp_path / "repo"
    shutil.copytree(REPO / "integrations.d", work / "integrations.d")
    monkeypatch.chdir(work)
    for name in (
        "BIGQUERY_IMMUTA_SA_KEY",
        "DATABRICKS_OAUTH_CLIENT_SECRET",
        "REDSHIFT_BOOTSTRAP_PASSWORD",
        "S3_IMMUTA_ACCESS_KEY_ID",
        "S3_IMMUTA_SECRET_ACCESS_KEY",
        "SNOWFLAKE_ADMIN_PASSWORD",
        "SYNAPSE_IMMUTA_PASSWORD",
    ):
        monkeypatch.setenv(name, f"{name.lower()}-value")
    monkeypatch.setenv("IMMUTA_API_KEY", API_KEY)
    monkeypatch.delenv("IMMUTA_URL", raising=False)
    yield work


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def environment(repo: Path, text: str) -> None:
    (repo / "environments").mkdir(exist_ok=True)
    (repo / "environments" / "dev.yaml").write_text("url: https://dev.example.com\n" + text, encoding="utf-8")


def nothing_sent(repo: Path) -> bool:
    states = list((repo / ".reconciler").glob("*.json"))
    return all(json.loads(s.read_text(encoding="utf-8"))["integrations"] == {} for s in states)


@pytest.mark.parametrize(
    "args",
    [("validate", "--env", "dev"), ("plan", "--env", "dev"), ("apply", "--env", "dev", "--sandbox", "--auto-approve")],
    ids=" ".join,
)
def test_a_value_that_holds_a_var_reference_of_its_own_is_refused(
    repo: Path, run_cli: RunCli, args: tuple[str, ...]
) -> None:
    """Values are filled in once: `${var:OTHER}` inside a value would otherwise reach the plan unread (a field
    the plan never compares) and apply as an error about a value the file does define."""
    environment(repo, "values:\n  WH: ${var:OTHER}\n  OTHER: IMMUTA_WH\n")
    edit(repo / SNOWFLAKE, "warehouse: IMMUTA_WH", "warehouse: ${var:WH}")

    result = run_cli(*args)

    assert result.exit_code == 1
    assert (result.stdout + result.stderr).startswith(
        f"{SNOWFLAKE}:21:3: $.config.warehouse: ${{var:OTHER}} comes from an environment file's value, which is "
        "filled in once and never holds a reference: write the value itself\n"
    )
    assert nothing_sent(repo)


def test_a_type_from_an_environment_file_still_decides_which_fields_are_secret(
    repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`type: ${var:T}` once made every field of the document 'of an unknown type' to the gate, so a CI secret
    in a plain field was read, shown in the plan and sent."""
    monkeypatch.setenv("CI_DEPLOY_SECRET", "ci-deploy-secret-0b9e")
    environment(repo, "values:\n  T: Snowflake\n")
    edit(repo / SNOWFLAKE, "type: Snowflake", "type: ${var:T}")
    edit(repo / SNOWFLAKE, "username: IMMUTA_BOOTSTRAP", "username: ${env:CI_DEPLOY_SECRET}")

    for args in (("validate", "--env", "dev"), ("plan", "--env", "dev", "--sandbox", "--format", "json")):
        result = run_cli(*args)

        assert result.exit_code == 1, args
        assert (result.stdout + result.stderr).startswith(
            f"{SNOWFLAKE}:25:3: $.config.username: ${{env:CI_DEPLOY_SECRET}}{NOT_SECRET}\n"
        )
        assert "ci-deploy-secret-0b9e" not in result.stdout + result.stderr
    assert nothing_sent(repo)


def test_a_type_from_an_environment_file_keeps_secrets_out_of_values_files(repo: Path, run_cli: RunCli) -> None:
    environment(repo, "values:\n  T: Snowflake\n  PW: committed-password-77c1\n")
    edit(repo / SNOWFLAKE, "type: Snowflake", "type: ${var:T}")
    edit(repo / SNOWFLAKE, "password: ${env:SNOWFLAKE_ADMIN_PASSWORD}", "password: ${var:PW}")

    result = run_cli("validate", "--env", "dev")

    assert result.exit_code == 1
    assert result.stdout.startswith(
        f"{SNOWFLAKE}:26:3: $.config.password: a secret cannot come from a values file (it is in Git): use "
        "${env:NAME} or ${file:PATH}\n"
    )
    assert "committed-password-77c1" not in result.stdout + result.stderr
