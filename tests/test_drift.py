"""`reconciler drift`: every class of difference, every format, the exit codes, and a failed read."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler import drift as drift_module
from reconciler.actual import read_actual
from reconciler.client.immuta import ImmutaClient
from reconciler.errors import ApiError
from reconciler.model import IntegrationKey
from reconciler.planning.plan import Action, Change, Plan
from reconciler.render import drift_markdown, drift_text
from reconciler.sandbox.api import Sandbox
from reconciler.validation.schema import load

REPO = Path(__file__).resolve().parent.parent
STATE = ".reconciler/sandbox.json"
RunCli = Callable[..., Any]  # the `run_cli` fixture of conftest.py


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli) -> Sandbox:
    """The repository's examples applied to a fresh sandbox in tmp_path, which is the working directory."""
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    result = run_cli("apply", "--sandbox", "--auto-approve")
    assert result.exit_code == 0, result.stderr
    return Sandbox(state_file=str(tmp_path / STATE))


def ids(tenant: Sandbox) -> dict[str, str]:
    return {record["type"]: str(record["id"]) for record in tenant.list_integrations()}


def test_clean_is_exit_0(tenant: Sandbox, run_cli: RunCli) -> None:
    result = run_cli("drift", "--sandbox")
    assert result.exit_code == 0
    assert "No drift: Immuta matches Git (7 integration(s) checked)." in result.stdout


def test_changed_outside_git_shows_each_field_git_to_immuta(tenant: Sandbox, run_cli: RunCli) -> None:
    snowflake = ids(tenant)["Snowflake"]
    tenant.oob_edit(snowflake, "config.warehouse", "OTHER_WH")
    tenant.oob_edit(snowflake, "config.audit.enabled", False)
    result = run_cli("drift", "--sandbox")
    assert result.exit_code == 2
    assert "1 changed outside Git:" in result.stdout
    assert '~ config.warehouse: "IMMUTA_WH" (Git) → "OTHER_WH" (Immuta)' in result.stdout
    assert "~ config.audit.enabled: true (Git) → false (Immuta)" in result.stdout
    assert "Drift: 1 changed outside Git, 0 deleted outside Git, 0 created outside Git, 0 unhealthy." in result.stdout


def test_deleted_outside_git(tenant: Sandbox, run_cli: RunCli) -> None:
    tenant.oob_remove(ids(tenant)["Trino"])
    result = run_cli("drift", "--sandbox")
    assert result.exit_code == 2
    assert "1 deleted outside Git:" in result.stdout
    assert "- Trino  (integrations.d/trino.yaml:" in result.stdout


def test_created_outside_git(tenant: Sandbox, run_cli: RunCli) -> None:
    payload = tenant.payload(ids(tenant)["Snowflake"])
    payload["config"]["host"] = "other.eu-west-1.snowflakecomputing.com"
    payload["config"]["password"] = "typed-in-the-ui"
    new_id = tenant.oob_add({"type": "Snowflake", **payload})
    result = run_cli("drift", "--sandbox")
    assert result.exit_code == 2
    assert "1 created outside Git:" in result.stdout
    assert f"+ Snowflake[host=other.eu-west-1.snowflakecomputing.com]  (id {new_id})" in result.stdout
    assert "typed-in-the-ui" not in result.stdout


@pytest.mark.parametrize("status", ["recurringValidationError", "editError"])
def test_unhealthy_status(tenant: Sandbox, run_cli: RunCli, status: str) -> None:
    tenant.oob_set_status(ids(tenant)["Redshift"], status)
    result = run_cli("drift", "--sandbox")
    assert result.exit_code == 2
    assert "1 unhealthy:" in result.stdout
    assert f"status {status}" in result.stdout


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        ("migrateError", "status migrateError: a background migration failed in Immuta, which rolled it back"),
        (
            "quarantined",
            "status 'quarantined': a status this version of the reconciler does not know (treated as not healthy)",
        ),
    ],
)
def test_a_failed_or_unknown_status_is_unhealthy(status: str, detail: str) -> None:
    record = {"id": "9", "type": "Trino", "status": status, "validationResults": {"status": "passed"}}
    actual = read_actual([record], load()).integrations[0]
    change = Change(Action.NOOP, IntegrationKey.of("Trino", []), "Trino", actual_id="9", actual=actual)
    report = drift_module.detect(Plan((change,), "t", False, "d", "s", "v"))
    assert [(i.kind, i.detail) for i in report.items] == [(drift_module.DriftKind.UNHEALTHY, detail)]


def test_failed_validation_tests_are_unhealthy_even_when_enabled() -> None:
    schemas = load()
    record = {
        "id": "9",
        "type": "Trino",
        "status": "enabled",
        "validationResults": {
            "status": "failed",
            "validationTests": [{"name": "Connection", "status": "passed"}, {"name": "Catalog", "status": "failed"}],
        },
    }
    actual = read_actual([record], schemas).integrations[0]
    change = Change(Action.NOOP, IntegrationKey.of("Trino", []), "Trino", actual_id="9", actual=actual)
    report = drift_module.detect(Plan((change,), "t", False, "d", "s", "v"))
    assert [(i.kind, i.detail, i.failed_tests) for i in report.items] == [
        (drift_module.DriftKind.UNHEALTHY, "failed validation tests: Catalog", ("Catalog",))
    ]


def test_json_format(tenant: Sandbox, run_cli: RunCli) -> None:
    tenant.oob_remove(ids(tenant)["Trino"])
    tenant.oob_edit(ids(tenant)["Snowflake"], "config.warehouse", "OTHER_WH")
    result = run_cli("drift", "--sandbox", "--format", "json")
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["format_version"] == 1
    assert document["has_drift"] is True
    assert document["summary"] == {"changed": 1, "deleted": 1, "created": 0, "unhealthy": 0}
    changed = next(i for i in document["items"] if i["kind"] == "changed")
    assert changed["change"]["fields"][0] | {"file": None, "line": None} == {
        "path": "config.warehouse",
        "kind": "changed",
        "old": "OTHER_WH",
        "new": "IMMUTA_WH",
        "immutable": False,
        "file": None,
        "line": None,
    }


def test_markdown_format_starts_with_the_marker(tenant: Sandbox, run_cli: RunCli) -> None:
    tenant.oob_edit(ids(tenant)["Snowflake"], "config.warehouse", "OTHER_WH")
    result = run_cli("drift", "--sandbox", "--format", "markdown")
    assert result.exit_code == 2
    assert result.stdout.startswith(drift_markdown.DRIFT_MARKER + "\n### reconciler drift\n")
    assert '| `config.warehouse` | `"IMMUTA_WH"` | `"OTHER_WH"` |' in result.stdout


def test_markdown_clean_report_keeps_the_marker(tenant: Sandbox, run_cli: RunCli) -> None:
    result = run_cli("drift", "--sandbox", "--format", "markdown")
    assert result.exit_code == 0
    assert result.stdout.startswith(drift_markdown.DRIFT_MARKER)
    assert "**No drift" in result.stdout
    # Found by the GitOps scenario: a clean night's job summary said how to resolve drift it did not find.
    assert "To resolve" not in result.stdout and "closes itself" not in result.stdout


def test_markdown_fits_the_limit_with_a_note() -> None:
    schemas = load()
    records = [
        {"id": str(n), "type": "Redshift", "status": "enabled", "autoBootstrap": True,
         "config": {"host": f"h{n}.example.com", "database": "d" * 40, "port": 5439}}
        for n in range(3000)
    ]  # fmt: skip
    actual = read_actual(records, schemas)
    changes = tuple(
        Change(Action.ORPHAN, a.key, a.key.type, actual_id=a.id, reason="no file declares it", actual=a)
        for a in actual.integrations
    )
    report = drift_module.detect(Plan(changes, "t", False, "d", "s", "v"))
    text = drift_markdown.render(report)
    assert len(text) <= drift_markdown.LIMIT
    assert "**Truncated:**" in text
    assert "3000 created outside Git" in text


def test_text_of_a_clean_report() -> None:
    report = drift_module.detect(Plan((), "sandbox://x", False, "d", "s", "v"))
    assert drift_text.render(report) == (
        "Target: sandbox://x\n\nNo drift: Immuta matches Git (0 integration(s) checked).\n"
    )


def test_a_failed_read_is_an_error_never_all_deleted(
    tenant: Sandbox, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_list(self: ImmutaClient) -> list[dict[str, object]]:
        raise ApiError("GET", "/integrations", 503, "Service Unavailable")

    monkeypatch.setattr(ImmutaClient, "list_integrations", failing_list)
    result = run_cli("drift", "--sandbox")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "error: GET /integrations → 503: Service Unavailable" in result.stderr


def test_a_partial_read_is_an_error(tenant: Sandbox, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImmutaClient, "list_integrations", lambda self: [{"no": "id"}])
    result = run_cli("drift", "--sandbox", "--format", "markdown")
    assert result.exit_code == 1
    assert "deleted outside Git" not in result.stdout


def test_a_mistyped_flag_is_a_usage_error_not_drift(tenant: Sandbox, run_cli: RunCli) -> None:
    assert run_cli("drift", "--sandbx").exit_code == 64
