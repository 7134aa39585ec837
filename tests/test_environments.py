"""`--env NAME`: one repository driving several tenants, without copy-paste and without crossing over."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.sandbox.api import Sandbox
from reconciler.sandbox.server import RunningServer, start_server

SNOWFLAKE = """\
type: Snowflake
autoBootstrap: true
config:
  host: ${var:SNOWFLAKE_HOST}
  warehouse: ${var:WAREHOUSE}
  database: IMMUTA_${var:SUFFIX}
  port: ${var:PORT}
  authenticationType: userPassword
  username: admin
  password: ${env:SNOWFLAKE_PASSWORD}
"""


def env_file(url: str, host: str, suffix: str, extra: str = "") -> str:
    return (
        textwrap.dedent(
            f"""\
        url: {url}
        apiKeyEnv: IMMUTA_KEY_{suffix}
        paths: [integrations.d, environments/{suffix.lower()}.d]
        values:
          SNOWFLAKE_HOST: {host}
          WAREHOUSE: {suffix}_WH
          SUFFIX: {suffix}
          PORT: 443
        """
        )
        + extra
    )


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "integrations.d").mkdir()
    (tmp_path / "integrations.d" / "snowflake.yaml").write_text(SNOWFLAKE)
    (tmp_path / "environments" / "dev.d").mkdir(parents=True)
    (tmp_path / "environments" / "prod.d").mkdir(parents=True)
    (tmp_path / "environments" / "dev.d" / "trino.yaml").write_text("type: Trino\n")
    (tmp_path / "environments" / "dev.yaml").write_text(
        env_file("https://acme-dev.immuta.com", "acme-dev.snowflakecomputing.com", "DEV")
    )
    (tmp_path / "environments" / "prod.yaml").write_text(
        env_file("https://acme.immuta.com", "acme.snowflakecomputing.com", "PROD")
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SNOWFLAKE_PASSWORD", "env-test-password")
    for name in ("IMMUTA_URL", "IMMUTA_API_KEY", "IMMUTA_TOKEN", "GITHUB_ACTIONS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_var_references_need_an_environment_and_say_where(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A forgotten --env is one error with the fix, not one error per ${var:…} reference."""
    code, out, err = run(capsys, "validate")

    assert (code, out) == (1, "")
    assert err == (
        "error: these files use ${var:…} values and environments/ declares dev, prod: run with "
        "--env NAME, e.g. `reconciler validate --env dev`; nothing was changed\n"
    )
    for name in ("dev", "prod"):  # without environments, the message on each reference says what to do
        (repo / "environments" / f"{name}.yaml").unlink()
    code, out, _ = run(capsys, "validate")
    lines = out.splitlines()
    assert lines[0] == (
        "integrations.d/snowflake.yaml:4:3: $.config.host: ${var:…} needs an environment: pass --env NAME "
        "(values come from environments/NAME.yaml)"
    )
    assert len(lines) == 4  # host, warehouse, database, port — no schema error repeating each of them


def test_an_environment_fills_values_before_validation_keeping_their_types(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "validate", "--env", "dev")
    assert (code, out) == (0, "")
    assert "2 integration(s): valid" in err  # the shared file plus dev's own folder

    code, out, _ = run(capsys, "plan", "--env", "dev", "--sandbox", "--format", "json")
    assert code == 0
    plan = json.loads(out)
    assert [c["key"] for c in plan["changes"]] == ["Snowflake[host=acme-dev.snowflakecomputing.com]", "Trino"]


def test_a_secret_never_comes_from_a_values_file(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = SNOWFLAKE.replace("${env:SNOWFLAKE_PASSWORD}", "${var:PASSWORD}")
    (repo / "integrations.d" / "snowflake.yaml").write_text(text)

    code, out, _ = run(capsys, "validate", "--env", "dev")

    assert code == 1
    assert "integrations.d/snowflake.yaml:10:3: $.config.password: a secret cannot come from a values file" in out


def test_a_missing_value_is_named(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "integrations.d" / "snowflake.yaml").write_text(SNOWFLAKE.replace("${var:WAREHOUSE}", "${var:WH}"))

    code, out, _ = run(capsys, "validate", "--env", "dev")

    assert code == 1
    assert out == (
        "integrations.d/snowflake.yaml:5:3: $.config.warehouse: ${var:WH} is not in the environment's values\n"
    )


def test_each_environment_has_its_own_sandbox_tenant(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "apply", "--env", "dev", "--sandbox", "--auto-approve")[0] == 0

    code, out, _ = run(capsys, "plan", "--env", "prod", "--sandbox", "--detailed-exitcode")
    assert code == 2
    assert "Plan: 1 to create" in out  # prod's tenant is untouched by dev's apply
    assert run(capsys, "plan", "--env", "dev", "--sandbox", "--detailed-exitcode")[0] == 0
    assert sorted(p.name for p in (repo / ".reconciler").glob("*.json")) == ["sandbox-dev.json", "sandbox-prod.json"]


@pytest.fixture
def tenants() -> Iterator[tuple[RunningServer, RunningServer]]:
    with (
        start_server(Sandbox(api_key="dev-key")) as dev,
        start_server(Sandbox(api_key="prod-key")) as prod,
    ):
        yield dev, prod


def test_an_apply_for_one_environment_never_touches_another_tenant(
    repo: Path,
    tenants: tuple[RunningServer, RunningServer],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dev, prod = tenants
    (repo / "environments" / "dev.yaml").write_text(env_file(dev.url, "acme-dev.snowflakecomputing.com", "DEV"))
    (repo / "environments" / "prod.yaml").write_text(env_file(prod.url, "acme.snowflakecomputing.com", "PROD"))
    monkeypatch.setenv("IMMUTA_KEY_DEV", "dev-key")
    monkeypatch.setenv("IMMUTA_KEY_PROD", "prod-key")

    assert run(capsys, "plan", "--env", "dev", "--out", "dev-plan.json")[0] == 0
    assert run(capsys, "apply", "dev-plan.json", "--env", "dev")[0] == 0

    assert len(dev.sandbox.list_integrations()) == 2
    assert prod.sandbox.requests == []
    code, _, err = run(capsys, "apply", "dev-plan.json", "--env", "prod")
    assert code == 3
    assert f"the plan was made against {dev.url}; this run targets {prod.url}" in err
    assert [m for m, p in prod.sandbox.requests if m != "GET" and p != "/data/object/search"] == []


def test_immuta_url_that_disagrees_with_the_environment_is_an_error(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMMUTA_URL", "https://acme.immuta.com")
    monkeypatch.setenv("IMMUTA_KEY_DEV", "k")

    code, _, err = run(capsys, "plan", "--env", "dev")

    assert code == 1
    assert "IMMUTA_URL is https://acme.immuta.com but environment 'dev'" in err


def test_environment_files_are_checked(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "environments" / "bad.yaml").write_text("url: acme.immuta.com\nvalue: {}\n")

    code, _, err = run(capsys, "plan", "--env", "bad", "--sandbox")
    assert code == 1
    assert "environments/bad.yaml:1:1: $.url: required: the tenant's http(s) URL" in err
    assert "environments/bad.yaml:2:1: $.value: unknown field" in err

    code, _, err = run(capsys, "plan", "--env", "staging", "--sandbox")
    assert code == 1
    assert "no environment 'staging' (environments/staging.yaml not found); known: bad, dev, prod" in err


def test_file_roots_must_be_a_list_of_folders(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "environments" / "roots.yaml").write_text("url: https://r.example.com\nfileRoots: /run/secrets\n")

    code, _, err = run(capsys, "plan", "--env", "roots", "--sandbox")

    assert code == 1
    assert "environments/roots.yaml:2:1: $.fileRoots: must be a list of folders" in err
