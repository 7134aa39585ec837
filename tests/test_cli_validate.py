"""`reconciler validate` as a command: the JSON report, GitHub annotations, exit codes, paths, the summary."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import Problem
from reconciler.model import SourceLocation
from reconciler.render.problems import REPORT_FORMAT_VERSION, as_json, github_annotations

RunCli = Callable[..., Any]  # the `run_cli` fixture of conftest.py

TRINO_WITH_CONFIG = "type: Trino\nconfig: {}\n"
SNOWFLAKE_WITH_TYPO = """\
type: Snowflake
autoBootstrap: false
config:
  host: acme.snowflakecomputing.com
  warehouse: WH
  database: DB
  authenticationType: userPassword
  username: immuta
  password: ${env:SNOWFLAKE_PASSWORD}
  warehose: XS
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with one warning (snowflake.yaml) and one error (in a file whose name needs escaping)."""
    (tmp_path / "snowflake.yaml").write_text(SNOWFLAKE_WITH_TYPO, encoding="utf-8")
    (tmp_path / "odd,name:1.yaml").write_text(TRINO_WITH_CONFIG, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_text_report_and_summary(project: Path, run_cli: RunCli) -> None:
    result = run_cli("validate", ".")

    assert result.stdout == (
        "odd,name:1.yaml:2:1: $.config: Trino takes no config and no autoBootstrap: "
        "the whole payload is {type: Trino}.\n"
        "snowflake.yaml:10:3: $.config.warehose: warning: unknown field for Snowflake; "
        "did you mean 'warehouse'? (sent to Immuta as written)\n"
    )
    assert result.stderr == "2 file(s), 2 integration(s): invalid (1 error(s), 1 warning(s))\n"
    assert result.exit_code == 1


def test_json_report(project: Path, run_cli: RunCli) -> None:
    result = run_cli("validate", "--format", "json", ".")

    report = json.loads(result.stdout)
    assert report == {
        "format_version": REPORT_FORMAT_VERSION,
        "valid": False,
        "files": 2,
        "integrations": 2,
        "problems": [
            {
                "file": "odd,name:1.yaml",
                "line": 2,
                "column": 1,
                "path": "$.config",
                "severity": "error",
                "message": "Trino takes no config and no autoBootstrap: the whole payload is {type: Trino}.",
            },
            {
                "file": "snowflake.yaml",
                "line": 10,
                "column": 3,
                "path": "$.config.warehose",
                "severity": "warning",
                "message": "unknown field for Snowflake; did you mean 'warehouse'? (sent to Immuta as written)",
            },
        ],
    }
    assert REPORT_FORMAT_VERSION == 1
    assert result.stderr == ""
    assert result.exit_code == 1


def test_json_report_of_valid_files(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "trino.yaml").write_text("type: Trino\n", encoding="utf-8")

    result = run_cli("validate", "--format=json", str(tmp_path))

    assert json.loads(result.stdout) == {
        "format_version": 1,
        "valid": True,
        "files": 1,
        "integrations": 1,
        "problems": [],
    }
    assert result.exit_code == 0


def test_github_annotations(project: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")

    result = run_cli("validate", ".")

    # On stderr, which the runner reads for workflow commands too, so stdout stays the report alone.
    annotations = [line for line in result.stderr.splitlines() if line.startswith("::")]
    assert annotations == [
        "::error file=odd%2Cname%3A1.yaml,line=2,col=1,title=$.config::"
        "Trino takes no config and no autoBootstrap: the whole payload is {type: Trino}.",
        "::warning file=snowflake.yaml,line=10,col=3,title=$.config.warehose::"
        "unknown field for Snowflake; did you mean 'warehouse'? (sent to Immuta as written)",
    ]
    assert result.exit_code == 1


def test_no_annotations_outside_github_actions(project: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "false")

    result = run_cli("validate", ".")

    output = result.stdout + result.stderr
    assert "::" not in "".join(line[:2] for line in output.splitlines())


def test_json_stays_parseable_under_github_actions(
    project: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")

    result = run_cli("validate", "--format", "json", ".")

    json.loads(result.stdout)


def test_annotation_escaping() -> None:
    problems = [
        Problem(SourceLocation("dir,with:odd/100%.yaml", 3, 5), "$.config.a", "first line\nsecond: 100%\r"),
        Problem(None, "", "no location, a, b: c", "warning"),
    ]

    assert github_annotations(problems) == (
        "::error file=dir%2Cwith%3Aodd/100%25.yaml,line=3,col=5,title=$.config.a::"
        "first line%0Asecond: 100%25%0D\n"
        "::warning::no location, a, b: c\n"
    )


def test_json_of_a_problem_without_location() -> None:
    report = json.loads(as_json([Problem(None, "", "nothere: no such file or directory")], 0, 0))

    assert report["problems"] == [
        {
            "file": None,
            "line": None,
            "column": None,
            "path": "",
            "severity": "error",
            "message": "nothere: no such file or directory",
        }
    ]


def test_missing_path_is_an_error(tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "trino.yaml").write_text("type: Trino\n", encoding="utf-8")

    result = run_cli("validate", "trino.yaml", "nothere")

    assert (result.exit_code, result.stdout) == (1, "nothere: no such file or directory\n")


def test_default_path_is_integrations_d(tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "integrations.d").mkdir()
    (tmp_path / "integrations.d" / "trino.yaml").write_text("type: Trino\nx: 1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    result = run_cli("validate")

    assert result.stdout.startswith("integrations.d/trino.yaml:2:1: $.x: unknown field")
    assert result.exit_code == 1


def test_an_empty_folder_is_valid(tmp_path: Path, run_cli: RunCli) -> None:
    result = run_cli("validate", str(tmp_path))

    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "0 file(s), 0 integration(s): valid (0 error(s), 0 warning(s))\n"


@pytest.mark.parametrize(
    "args",
    [
        ("validate", "--no-such-option", "."),
        ("validate", "--format", "xml", "."),
        ("no-such-command",),
    ],
    ids=["unknown option", "bad choice", "unknown command"],
)
def test_usage_errors_exit_64(args: tuple[str, ...], run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli(*args)

    assert result.exit_code == 64
    assert result.stdout == ""
    assert "Usage: reconciler" in result.stderr


def test_strict_turns_warnings_into_errors(project: Path, run_cli: RunCli) -> None:
    (project / "odd,name:1.yaml").unlink()

    relaxed = run_cli("validate", ".")
    strict = run_cli("validate", "--strict", ".")

    assert relaxed.exit_code == 0
    assert ": warning: unknown field" in relaxed.stdout
    assert strict.exit_code == 1
    assert strict.stdout == relaxed.stdout.replace("warning: ", "")


def test_python_dash_m(tmp_path: Path) -> None:
    (tmp_path / "trino.yaml").write_text("type: Trino\nautoBootstrap: true\n", encoding="utf-8")

    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", "trino.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert done.returncode == 1
    assert done.stdout == (
        "trino.yaml:2:1: $.autoBootstrap: Trino takes no config and no autoBootstrap: "
        "the whole payload is {type: Trino}.\n"
    )
