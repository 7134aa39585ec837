"""Policy-ready plans: every change carries `before` and `after` payloads (defaults filled in, secrets
masked), and the example policy of docs/commands.md — run exactly as documented — judges a real plan
by them."""

from __future__ import annotations

import json
import re
import runpy
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.shown import shown
from reconciler.validation.schema import load

REPO = Path(__file__).resolve().parent.parent
COMMANDS = (REPO / "docs" / "commands.md").read_text(encoding="utf-8")
POLICY = re.search(r"```python\n(# policy\.py.*?)```", COMMANDS, re.S)
REGO = re.search(r"```rego\n(.*?)```", COMMANDS, re.S)
RunCli = Callable[..., Any]
MESSAGE = "Snowflake integrations must not use role ACCOUNTADMIN"


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    assert POLICY is not None, "docs/commands.md's policy.py block is missing"
    path = tmp_path / "policy.py"
    path.write_text(POLICY.group(1), encoding="utf-8")
    return path


def deny(policy: Path, plan: dict[str, Any]) -> list[str]:
    rules: Callable[[dict[str, Any]], list[str]] = runpy.run_path(str(policy))["deny"]
    return rules(plan)


def test_the_documented_policy_judges_the_golden_plan(policy: Path) -> None:
    plan = json.loads((REPO / "tests" / "golden" / "plan.json").read_text(encoding="utf-8"))
    assert plan["format_version"] == 2
    assert deny(policy, plan) == [
        f"Snowflake[host=acme-prod.us-east-1.snowflakecomputing.com]: {MESSAGE} (integrations.d/snowflake-prod.yaml)"
    ]


def test_the_documented_policy_as_a_script_on_a_sandbox_plan(
    policy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    """The shipped examples create a Snowflake integration with ACCOUNTADMIN (the README's own example):
    refused; with another role the same policy passes."""
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    result = run_cli("plan", "--sandbox", "--format", "json")
    assert result.exit_code == 0, result.stderr
    (tmp_path / "plan.json").write_text(result.stdout, encoding="utf-8")
    script = subprocess.run(
        [sys.executable, str(policy), "plan.json"], capture_output=True, text=True, check=False, timeout=60
    )
    assert (script.returncode, script.stdout) == (
        1,
        f"Snowflake[host=acme.us-east-1.snowflakecomputing.com]: {MESSAGE} (integrations.d/snowflake-prod.yaml)\n",
    )

    snowflake = tmp_path / "integrations.d" / "snowflake-prod.yaml"
    snowflake.write_text(snowflake.read_text(encoding="utf-8").replace("role: ACCOUNTADMIN", "role: SYSADMIN"))
    result = run_cli("plan", "--sandbox", "--format", "json")
    assert deny(policy, json.loads(result.stdout)) == []


def test_the_rego_policy_reads_the_same_fields() -> None:
    assert REGO is not None
    rego = REGO.group(1)
    for condition in (
        'change.action in {"create", "update", "replace"}',
        'change.type == "Snowflake"',
        'change.after.config.role == "ACCOUNTADMIN"',
    ):
        assert condition in rego


def test_create_has_an_after_with_defaults_and_no_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SNOWFLAKE_ADMIN_PASSWORD", "Sn0w-SHOULD-NOT-APPEAR")
    document = json.loads(run_cli("plan", "--sandbox", "--format", "json").stdout)
    snowflake = next(c for c in document["changes"] if c["type"] == "Snowflake")
    assert snowflake["action"] == "create"
    assert snowflake["before"] is None
    assert snowflake["after"]["config"]["port"] == 443  # the schema default, not written in the file
    assert snowflake["after"]["config"]["password"] == "(secret)"
    assert snowflake["after"]["config"]["host"] == "acme.us-east-1.snowflakecomputing.com"


def test_after_apply_before_equals_the_reported_payload_and_deletes_have_no_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    assert run_cli("apply", "--sandbox", "--auto-approve").exit_code == 0
    (tmp_path / "integrations.d" / "trino.yaml").unlink()
    document = json.loads(run_cli("plan", "--sandbox", "--format", "json", "--prune").stdout)
    by_type = {c["type"]: c for c in document["changes"]}
    assert by_type["Trino"]["action"] == "delete"
    assert (by_type["Trino"]["before"], by_type["Trino"]["after"]) == ({"type": "Trino"}, None)
    snowflake = by_type["Snowflake"]
    assert snowflake["action"] == "no-op"
    assert snowflake["before"]["config"]["role"] == snowflake["after"]["config"]["role"] == "ACCOUNTADMIN"
    assert "password" not in snowflake["before"]["config"]  # Immuta never returns it


def test_a_secret_immuta_returns_is_masked_and_an_unknown_field_named_in_before() -> None:
    snowflake = load().types["Snowflake"]
    reported = {"type": "Snowflake", "config": {"host": "h", "password": "hunter2", "role": "R", "apiKey": "k"}}
    assert shown(snowflake, reported) == {
        "type": "Snowflake",
        "config": {"host": "h", "password": "(secret)", "role": "R", "apiKey": "(not shown: unknown to the schemas)"},
    }


def test_an_unknown_field_never_takes_a_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    """A misspelt `pasword: ${env:…}` is not known to be a secret: the reference is refused, never resolved."""
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOME_TOKEN", "resolved-value")
    snowflake = tmp_path / "integrations.d" / "snowflake-prod.yaml"
    text = snowflake.read_text(encoding="utf-8")
    snowflake.write_text(text.replace("  role: ACCOUNTADMIN", "  role: ACCOUNTADMIN\n  pasword: ${env:SOME_TOKEN}"))
    result = run_cli("plan", "--sandbox", "--format", "json")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith(
        "integrations.d/snowflake-prod.yaml:28:3: $.config.pasword: ${env:SOME_TOKEN} is not allowed here: ${env:} "
        "and ${file:} give only secret (writeOnly) fields; write the value literally, or as ${var:NAME} from an "
        "environment file (environments/NAME.yaml)\n"
    )
    assert "resolved-value" not in result.stdout + result.stderr
