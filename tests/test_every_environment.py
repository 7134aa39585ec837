"""The pre-commit hook's check: every environment in environments/ validated with its own paths and values."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.loading.every_environment import check_every_environment, environment_names
from reconciler.validation.schema import load

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


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "integrations.d").mkdir()
    (tmp_path / "integrations.d" / "snowflake.yaml").write_text(SHARED, encoding="utf-8")
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "dev.yaml").write_text(
        "url: https://acme-dev.immuta.com\nvalues: {HOST: acme-dev.snowflakecomputing.com, PORT: 443}\n"
    )
    (tmp_path / "environments" / "prod.yaml").write_text(
        "url: https://acme.immuta.com\nvalues: {HOST: acme.snowflakecomputing.com, PORT: 70000}\n"
    )
    (tmp_path / "environments" / "README.md").write_text("not an environment\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_names_are_the_yaml_files_sorted(repo: Path) -> None:
    assert environment_names() == ["dev", "prod"]
    assert environment_names(str(repo / "missing")) == []


def test_each_environment_is_checked_with_its_values(repo: Path) -> None:
    checks = check_every_environment(load())
    assert [(c.name, c.valid, c.documents, c.files) for c in checks] == [("dev", True, 1, 1), ("prod", False, 1, 1)]
    assert [str(p) for p in checks[1].problems] == [
        "integrations.d/snowflake.yaml:7:3: $.config.port: must be at most 65535, not 70000"
    ]


def test_without_environments_the_default_folder_is_checked(repo: Path) -> None:
    checks = check_every_environment(load(), folder="nowhere")
    assert [(c.name, c.valid) for c in checks] == [(None, False)]
    assert all("${var:…} needs an environment" in p.message for p in checks[0].problems)


def test_a_broken_environment_file_is_that_environments_problem(repo: Path) -> None:
    (repo / "environments" / "qa.yaml").write_text("url: ftp://nope\n")
    checks = {c.name: c for c in check_every_environment(load())}
    assert not checks["qa"].valid and checks["dev"].valid
    assert [p.message for p in checks["qa"].problems] == ["required: the tenant's http(s) URL"]
