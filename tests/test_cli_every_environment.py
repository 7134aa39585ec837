"""`reconciler validate --all-environments` (the pre-commit hook's command) and `reconciler schema --out DIR`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

RunCli = Callable[..., Any]  # tests/conftest.py's `run_cli`

SHARED = """\
type: Snowflake
autoBootstrap: true
config:
  host: ${var:HOST}
  warehouse: IMMUTA_WH
  database: IMMUTA_DB
  port: ${var:PORT}
  authenticationType: userPassword
  username: immuta
  password: ${env:SNOWFLAKE_PASSWORD}
  role: ACCOUNTADMIN
"""
SCHEMA_FILES = [
    "azure-synapse-analytics.schema.json",
    "databricks.schema.json",
    "google-bigquery.schema.json",
    "integration.schema.json",
    "native-s3.schema.json",
    "redshift.schema.json",
    "snowflake.schema.json",
    "trino.schema.json",
]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "integrations.d").mkdir()
    (tmp_path / "integrations.d" / "snowflake.yaml").write_text(SHARED, encoding="utf-8")
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "dev.yaml").write_text(
        "url: https://acme-dev.immuta.com\nvalues: {HOST: acme-dev.snowflakecomputing.com, PORT: 443}\n"
    )
    (tmp_path / "environments" / "prod.yaml").write_text(
        "url: https://acme.immuta.com\nvalues: {HOST: acme.snowflakecomputing.com, PORT: 443}\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IMMUTA_URL", raising=False)
    return tmp_path


def test_every_environment_valid_exits_0_naming_each(repo: Path, run_cli: RunCli) -> None:
    result = run_cli("validate", "--all-environments")
    assert (result.exit_code, result.stdout) == (0, "environment dev:\nenvironment prod:\n")
    assert result.stderr == (
        "environment dev: 1 file(s), 1 integration(s): valid (0 error(s), 0 warning(s))\n"
        "environment prod: 1 file(s), 1 integration(s): valid (0 error(s), 0 warning(s))\n"
    )


def test_one_invalid_environment_exits_1_with_its_problems_under_its_name(repo: Path, run_cli: RunCli) -> None:
    (repo / "environments" / "prod.yaml").write_text(
        "url: https://acme.immuta.com\nvalues: {HOST: acme.snowflakecomputing.com, PORT: 70000}\n"
    )
    result = run_cli("validate", "--all-environments")
    assert result.exit_code == 1
    assert result.stdout == (
        "environment dev:\n"
        "environment prod:\n"
        "integrations.d/snowflake.yaml:7:3: $.config.port: must be at most 65535, not 70000\n"
    )
    assert "environment prod: 1 file(s), 1 integration(s): invalid (1 error(s), 0 warning(s))\n" in result.stderr


def test_strict_applies_to_every_environment(repo: Path, run_cli: RunCli) -> None:
    (repo / "integrations.d" / "snowflake.yaml").write_text(SHARED + "  colour: blue\n", encoding="utf-8")
    assert run_cli("validate", "--all-environments").exit_code == 0
    strict = run_cli("validate", "--all-environments", "--strict")
    assert strict.exit_code == 1
    assert strict.stdout.count("$.config.colour") == 2, strict.stdout


def test_without_environments_the_default_folder_is_checked_without_a_heading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    (tmp_path / "integrations.d").mkdir()
    (tmp_path / "integrations.d" / "broken.yaml").write_text("type: Snowflake\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run_cli("validate", "--all-environments")
    assert result.exit_code == 1
    assert result.stdout.startswith("integrations.d/broken.yaml:1:1: ")
    assert "environment" not in result.stdout


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (("--env", "dev"), "--env"),
        (("integrations.d",), "PATH"),
        (("--resolve-secrets",), "--resolve-secrets"),
        (("--format", "json"), "--format json"),
    ],
)
def test_all_environments_with_one_environments_choice_is_a_usage_error(
    repo: Path, run_cli: RunCli, extra: tuple[str, ...], named: str
) -> None:
    result = run_cli("validate", "--all-environments", *extra)
    assert (result.exit_code, result.stdout) == (64, "")
    assert result.stderr.endswith(f"Error: --all-environments cannot be combined with {named}\n")


def test_schema_out_writes_every_schema_and_names_each_file(tmp_path: Path, run_cli: RunCli) -> None:
    folder = tmp_path / "editor" / "schemas"
    result = run_cli("schema", "--out", str(folder))
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == "".join(f"Wrote {folder / name}\n" for name in SCHEMA_FILES)
    assert sorted(p.name for p in folder.iterdir()) == SCHEMA_FILES
    entry = json.loads((folder / "integration.schema.json").read_text(encoding="utf-8"))
    assert "$id" not in entry


@pytest.mark.parametrize("extra", [("Snowflake",), ("--list",)])
def test_schema_out_with_a_type_or_list_is_a_usage_error(
    tmp_path: Path, run_cli: RunCli, extra: tuple[str, ...]
) -> None:
    result = run_cli("schema", "--out", str(tmp_path / "schemas"), *extra)
    assert (result.exit_code, result.stdout) == (64, "")
    assert result.stderr.endswith("Error: --out writes every schema; it takes no TYPE and no --list\n")
    assert not (tmp_path / "schemas").exists()
