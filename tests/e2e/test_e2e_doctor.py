"""`reconciler doctor` against every simulator dialect over real HTTP: it names the dialect's choices, never a
secret's value, and changes nothing (GETs only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import MakeTenant
from e2e_kit import SHIPPED_SECRETS, RunCli

from reconciler.sandbox.dialects import Dialect, all_cases

pytestmark = pytest.mark.e2e

# switch=value → what the JSON document must then say (a path into it, and the value found there).
EXPECTED: dict[str, Any] = {
    "ids=string": lambda d: d["dialect"]["id_type"] == "string",
    "ids=number": lambda d: d["dialect"]["id_type"] == "number",
    "order=oldest": lambda d: d["dialect"]["list_order"] == "oldest first (ids ascending)",
    "order=newest": lambda d: d["dialect"]["list_order"] == "newest first (ids descending)",
    # Every create sends the schema defaults (issue 21) but lineage's, which the shipped file leaves to Immuta.
    "defaults=none": lambda d: _type(d, "Snowflake")["defaults_not_echoed"] == ["config.lineage.enabled"],
    "defaults=some": lambda d: _type(d, "Snowflake")["defaults_not_echoed"] == ["config.lineage.enabled"],
    # The shipped file leaves lineage to Immuta (ignoreChanges): the tenant's own default, true, shows.
    "defaults=many": lambda d: (
        [(x["path"], x["reported"]) for x in _type(d, "Snowflake")["defaults_differing"]]
        == [("config.audit.enabled", [True]), ("config.lineage.enabled", [True])]
    ),
    "secrets=omitted": lambda d: _type(d, "Snowflake")["secrets"] == {"*": "omitted"},
    "secrets=masked": lambda d: _type(d, "Snowflake")["secrets"]["config.password"] == "masked",
    "secrets=clear": lambda d: _type(d, "Snowflake")["secrets"]["config.password"] == "returned",
    "extra=extra": lambda d: d["dialect"]["top_level_fields"] != [] and _type(d, "Snowflake")["unknown_fields"] != [],
    "extra=none": lambda d: d["dialect"]["top_level_fields"] == [],
    "trino_key=config": lambda d: _type(d, "Trino")["unknown_fields"] == ["config.apiKey"],
    "trino_key=top": lambda d: "apiKey" in d["dialect"]["top_level_fields"],
    "profile=sparse": lambda d: (
        d["dialect"]["id_type"] == "string" and "config.lineage.enabled" in _type(d, "Snowflake")["defaults_not_echoed"]
    ),
    "profile=rich": lambda d: _type(d, "Snowflake")["secrets"]["config.password"] == "masked",
}


def _type(document: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [t for t in document["dialect"]["types"] if t["type"] == name]
    return found


@pytest.mark.parametrize("case", [pytest.param(c, id=",".join(c)) for c in all_cases()])
def test_doctor_names_the_dialect(case: tuple[str, ...], make_tenant: MakeTenant, files: Path, run_cli: RunCli) -> None:
    tenant = make_tenant(provisioning_seconds=0.01, dialect=Dialect.from_assignments(case))
    created = run_cli("apply", "--auto-approve", str(files))
    assert created.exit_code == 0, created.stdout + created.stderr
    writes = len(tenant.sandbox.writes())

    text = run_cli("doctor")
    result = run_cli("doctor", "--format", "json")

    assert (text.exit_code, result.exit_code) == (0, 0), text.stdout + text.stderr
    assert "Ready: plan, then apply." in text.stdout
    document = json.loads(result.stdout)
    assert document["format_version"] == 1 and document["ok"] is True and document["integrations"] == 7
    check = EXPECTED.get(case[0])
    if check is not None:
        assert check(document), json.dumps(document["dialect"], indent=1)
    assert len(tenant.sandbox.writes()) == writes  # read-only
    for value in SHIPPED_SECRETS.values():
        assert value not in text.stdout + result.stdout + text.stderr


def test_doctor_names_a_wrong_key_and_a_closed_port(make_tenant: MakeTenant, run_cli: RunCli, monkeypatch: Any) -> None:
    make_tenant()
    monkeypatch.setenv("IMMUTA_API_KEY", "not-the-key")
    wrong = run_cli("doctor")
    assert wrong.exit_code == 1
    assert "  FAIL credentials: 401:" in wrong.stdout
    assert "Not ready: fix the failed check above, then run doctor again." in wrong.stdout
