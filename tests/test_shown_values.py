"""Issue 19, item 2: one gate decides what any output may hold (reconciler/shown.py). Immuta answers with
fields the schemas do not know — Trino's API key under any name, anywhere — holding a sentinel that changes on
every answer: no output of any command (text, JSON, Markdown, saved plan, show, drift, export, apply's report,
the `-v` trace, doctor) holds it, and since such fields are never compared nor fingerprinted, the plan settles
and `apply` accepts the saved plan. The tool's own API key never appears either.

Issue 20's surviving mutant: a field the schemas do not know, written in a file, is warned about and never
compared, so the plan settles even when Immuta reports another value for it."""

from __future__ import annotations

import itertools
import json
import logging
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.actual import read_actual
from reconciler.sandbox import api, operations, views
from reconciler.shown import shown
from reconciler.validation.schema import load

REPO = Path(__file__).resolve().parent.parent
RunCli = Callable[..., Any]
SENTINEL = "SENTINEL-UNKNOWN-7f3a"
OWN_KEY = "SENTINEL-OWN-KEY-91c0"
SANDBOX = ("--sandbox", "--sandbox-state", "state.json")
SHIPPED_REFERENCES = (
    "BIGQUERY_IMMUTA_SA_KEY",
    "DATABRICKS_OAUTH_CLIENT_SECRET",
    "REDSHIFT_BOOTSTRAP_PASSWORD",
    "S3_IMMUTA_ACCESS_KEY_ID",
    "S3_IMMUTA_SECRET_ACCESS_KEY",
    "SNOWFLAKE_ADMIN_PASSWORD",
    "SYNAPSE_IMMUTA_PASSWORD",
)
HIDDEN = "(not shown: unknown to the schemas)"


def answering(extra: Callable[[dict[str, Any]], None], monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulator's GET answers, each changed by `extra` after it is built."""
    original = views.view

    def view(integration: Any, dialect: Any) -> dict[str, Any]:
        body = original(integration, dialect)
        extra(body)
        return body

    for module in (views, operations, api):
        monkeypatch.setattr(module, "view", view)


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator[Path]:
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    for name in SHIPPED_REFERENCES:
        monkeypatch.setenv(name, f"{name.lower()}-value")
    monkeypatch.setenv("IMMUTA_API_KEY", OWN_KEY)
    caplog.set_level(logging.DEBUG, logger="reconciler")
    yield tmp_path


def test_unknown_fields_immuta_returns_are_shown_by_name_only_everywhere(
    work: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    counter = itertools.count()

    def unknown_fields(body: dict[str, Any]) -> None:
        value = f"{SENTINEL}-{next(counter)}"  # another value on every answer
        body.update(apiKey=value, immutaApiKey=value, key={"nested": value})
        if isinstance(body.get("config"), dict):
            body["config"].update(apiKey=value, token=value, key=value, connection=[{"password": value}])
            if isinstance(body["config"].get("audit"), dict):
                body["config"]["audit"]["secretThing"] = value
        else:
            body["config"] = {"apiKey": value}  # Trino: a config it never has

    assert run_cli("apply", *SANDBOX, "--auto-approve").exit_code == 0
    answering(unknown_fields, monkeypatch)
    snowflake = work / "integrations.d" / "snowflake-prod.yaml"
    snowflake.write_text(snowflake.read_text().replace("warehouse: IMMUTA_WH", "warehouse: IMMUTA_WH_XL"))

    results = [
        run_cli("plan", *SANDBOX, "-v"),
        run_cli("plan", *SANDBOX, "--format", "json"),
        run_cli("plan", *SANDBOX, "--format", "markdown"),
        run_cli("plan", *SANDBOX, "--out", "saved.plan"),
        run_cli("show", "saved.plan"),
        run_cli("show", "saved.plan", "--format", "json"),
        run_cli("drift", *SANDBOX, "--format", "json"),
        run_cli("drift", *SANDBOX, "--format", "markdown"),
        run_cli("drift", *SANDBOX),
        run_cli("export", *SANDBOX, "--out", "exported"),
        run_cli("doctor", *SANDBOX, "--format", "json"),
        run_cli("doctor", *SANDBOX, "-v"),
        run_cli("apply", *SANDBOX, "saved.plan", "-v", "--report", "report.json"),
        run_cli("plan", *SANDBOX, "--detailed-exitcode"),
    ]

    codes = [r.exit_code for r in results]
    assert codes == [0, 0, 0, 0, 0, 0, 2, 2, 2, 0, 0, 0, 0, 0], [r.stderr for r in results]
    plan_json = results[1].stdout
    assert f'"apiKey": "{HIDDEN}"' in plan_json and f'"immutaApiKey": "{HIDDEN}"' in plan_json
    written = [p.read_text() for p in [work / "saved.plan", work / "report.json", *(work / "exported").iterdir()]]
    everything = [*(r.stdout + r.stderr for r in results), *written, caplog.text]
    for text in everything:
        assert SENTINEL not in text
        assert OWN_KEY not in text


def test_an_unknown_field_written_in_a_file_is_never_compared(
    work: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A newer Immuta knows `config.futureSetting` and reports `theirs`; the file, read by this version, writes
    `mine` (a warning): it is not compared, so the plan settles rather than planning an update on every run."""
    assert run_cli("apply", *SANDBOX, "--auto-approve").exit_code == 0
    snowflake = work / "integrations.d" / "snowflake-prod.yaml"
    snowflake.write_text(
        snowflake.read_text().replace("  role: ACCOUNTADMIN", "  role: ACCOUNTADMIN\n  futureSetting: mine")
    )

    def reports_its_own(body: dict[str, Any]) -> None:
        if body.get("type") == "Snowflake":
            body["config"]["futureSetting"] = "theirs"

    answering(reports_its_own, monkeypatch)
    planned = run_cli("plan", *SANDBOX, "--detailed-exitcode")
    drift = run_cli("drift", *SANDBOX)
    document = json.loads(run_cli("plan", *SANDBOX, "--format", "json").stdout)

    warning = (
        "integrations.d/snowflake-prod.yaml:28:3: $.config.futureSetting: warning: unknown field for Snowflake "
        "(sent to Immuta as written)\n"
    )
    assert (planned.exit_code, planned.stderr) == (0, warning)
    assert "Plan: 0 to create, 0 to update, 0 to replace, 0 to delete, 7 unchanged." in planned.stdout
    assert "theirs" not in planned.stdout
    assert drift.exit_code == 0, drift.stdout
    [change] = [c for c in document["changes"] if c["type"] == "Snowflake"]
    assert (change["action"], change["fields"], change["not_compared"]) == ("no-op", [], ["config.password"])
    assert change["after"]["config"]["futureSetting"] == HIDDEN  # the file's unknown field: by name only
    assert change["before"]["config"]["futureSetting"] == HIDDEN  # Immuta's value: by name only


def test_what_immuta_reports_beyond_the_schemas_never_enters_the_actual_state() -> None:
    record = {
        "id": "7",
        "status": "enabled",
        "type": "Trino",
        "token": SENTINEL,
        "config": {"immutaApiKey": SENTINEL, "nested": {"key": SENTINEL}},
    }
    [trino] = read_actual([record], load()).integrations
    assert (trino.payload, trino.unknown) == ({"type": "Trino"}, (("token",), ("config",)))
    assert shown(trino.type_schema, trino.payload, trino.unknown) == {
        "type": "Trino",
        "token": HIDDEN,
        "config": HIDDEN,
    }
    assert SENTINEL not in trino.fingerprint + repr(trino)


def test_the_fields_of_an_object_the_schemas_do_not_describe_are_shown_by_name_only() -> None:
    """Databricks' `additionalWorkspaceConnections` items: "fields not documented", so one may hold a token."""
    record = {
        "id": "3",
        "status": "enabled",
        "type": "Databricks",
        "autoBootstrap": True,
        "config": {
            "workspaceUrl": "dbc-1.cloud.databricks.com",
            "additionalWorkspaceConnections": [{"workspaceUrl": "dbc-2.cloud.databricks.com", "token": SENTINEL}],
        },
    }
    [databricks] = read_actual([record], load()).integrations
    view = shown(databricks.type_schema, databricks.payload, databricks.unknown)
    assert view["config"]["additionalWorkspaceConnections"] == [{"workspaceUrl": HIDDEN, "token": HIDDEN}]
    assert view["config"]["workspaceUrl"] == "dbc-1.cloud.databricks.com"
    assert SENTINEL not in json.dumps(view) + databricks.fingerprint
