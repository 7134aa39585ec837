"""`--rotate`: secrets are write-only, so a rotated secret never shows as a change; rotation sends the
payload again on request, through the same plan → review → apply path as any other change."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.sandbox.api import Sandbox
from reconciler.sandbox.server import RunningServer, start_server

EXAMPLES = Path(__file__).resolve().parent.parent / "integrations.d"
SNOWFLAKE_FILE = "integrations.d/snowflake-prod.yaml"
SNOWFLAKE_KEY = "Snowflake[host=acme.us-east-1.snowflakecomputing.com]"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    shutil.copytree(EXAMPLES, tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    with start_server(Sandbox(api_key="k")) as server:
        monkeypatch.setenv("IMMUTA_URL", server.url)
        monkeypatch.setenv("IMMUTA_API_KEY", "k")
        for name in (
            "SNOWFLAKE_ADMIN_USER",
            "SNOWFLAKE_ADMIN_PASSWORD",
            "DATABRICKS_OAUTH_CLIENT_SECRET",
            "REDSHIFT_BOOTSTRAP_PASSWORD",
            "SYNAPSE_IMMUTA_PASSWORD",
            "BIGQUERY_IMMUTA_SA_KEY",
            "S3_IMMUTA_ACCESS_KEY_ID",
            "S3_IMMUTA_SECRET_ACCESS_KEY",
        ):
            monkeypatch.setenv(name, f"old-{name.lower()}")
        yield server


def puts(server: RunningServer) -> list[str]:
    return [path for method, path in server.sandbox.requests if method == "PUT"]


def test_a_rotated_secret_is_sent_on_request_only(
    tenant: RunningServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, "apply", "--auto-approve")[0] == 0
    monkeypatch.setenv("SNOWFLAKE_ADMIN_PASSWORD", "new-password-after-rotation")

    assert run(capsys, "plan", "--detailed-exitcode")[0] == 0  # nothing compared changed: no plan
    code, out, _ = run(capsys, "plan", "--detailed-exitcode", "--rotate", SNOWFLAKE_FILE)
    assert code == 2
    assert f"  ~ {SNOWFLAKE_KEY}" in out
    assert "--rotate: sends the payload again, secrets included" in out
    assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete, 6 unchanged." in out

    tenant.sandbox.reset_requests()
    code, out, err = run(capsys, "apply", "--auto-approve", "--rotate", SNOWFLAKE_KEY)
    assert code == 0
    assert len(puts(tenant)) == 1
    assert "new-password-after-rotation" not in out + err
    assert run(capsys, "plan", "--detailed-exitcode")[0] == 0


def test_a_rotation_that_names_nothing_is_an_error(tenant: RunningServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "plan", "--rotate", "integrations.d/snowflake-prd.yaml")

    assert code == 1
    assert "--rotate integrations.d/snowflake-prd.yaml: no file or integration key of that name" in err
    assert tenant.sandbox.requests == []  # refused before reading Immuta


def test_a_saved_plan_carries_its_rotation(tenant: RunningServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "apply", "--auto-approve")[0] == 0
    assert run(capsys, "plan", "--rotate", f"./{SNOWFLAKE_FILE}", "--out", "plan.json")[0] == 0
    assert json.loads(Path("plan.json").read_text())["rotate"] == [SNOWFLAKE_FILE]

    code, _, err = run(capsys, "apply", "plan.json", "--rotate", "integrations.d/trino.yaml")
    assert code == 64
    assert "plan.json fixes what is rotated" in err

    tenant.sandbox.reset_requests()
    assert run(capsys, "plan", "--check", "plan.json")[0] == 0
    assert run(capsys, "apply", "plan.json")[0] == 0
    assert len(puts(tenant)) == 1
