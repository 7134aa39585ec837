"""Golden files for the three plan formats, over one plan that has every kind of change.

The tenant is built deterministically (an in-memory simulator filled out of band, ids 1, 2, 3… in order)
and the files live in `integrations.d/` under the working directory, so every path in the output is
relative and stable. Regenerate the goldens after an intended change of output with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_plan_golden.py

and review the diff of `tests/golden/` like any other change. Under CI=true that is refused.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import sys
from pathlib import Path

import pytest
from regenerating import regenerating

from reconciler.cli import main
from reconciler.client.immuta import Auth, ImmutaClient
from reconciler.planning import engine
from reconciler.planning.plan import Action, Plan
from reconciler.render import plan_json, plan_markdown, plan_text
from reconciler.sandbox.api import Sandbox
from reconciler.sandbox.transport import SandboxTransport
from reconciler.target import Target
from reconciler.validation.schema import load

GOLDEN = Path(__file__).parent / "golden"
TARGET = "https://acme.immuta.example"
COMMIT = "3f2c1e0d9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e"
KEY = "golden-key"
ESCAPE = "\x1b["

FILES = {
    # update: several fields, a nested one, a list, a removed field, values from schema defaults,
    # an ignored field and a secret that is not compared
    "snowflake-prod.yaml": """\
type: Snowflake
autoBootstrap: true
config:
  host: acme-prod.us-east-1.snowflakecomputing.com
  warehouse: IMMUTA_WH_XL
  database: IMMUTA_PROD
  authenticationType: userPassword
  username: immuta_admin
  password: ${env:SNOWFLAKE_PASSWORD}
  role: ACCOUNTADMIN
  audit:
    enabled: true
  workspaces:
    enabled: true
    warehouses: [WH_A, WH_B, WH_C]
lifecycle:
  ignoreChanges: [config.lineage]
""",
    # create
    "databricks-analytics.yaml": """\
type: Databricks
autoBootstrap: true
config:
  workspaceUrl: dbc-a1b2c3d4-e5f6.cloud.databricks.com
  httpPath: /sql/1.0/warehouses/4b9b1c2d3e4f5a6b
  catalog: immuta_analytics
  authenticationType: token
  token: ${env:DATABRICKS_TOKEN}
""",
    # replace: an immutable field changed
    "synapse-finance.yaml": """\
type: Azure Synapse Analytics
autoBootstrap: false
config:
  host: finance-ws.sql.azuresynapse.net
  database: finance_dw
  schema: immuta
  authenticationType: userPassword
  username: immuta_system
  password: ${env:SYNAPSE_PASSWORD}
  metadataDelimiters:
    hashDelimiter: "#"
""",
    # update: the integration is in createError in Immuta, repaired with PUT (docs/immuta-api.md §9.6)
    "bigquery-marketing.yaml": """\
type: Google BigQuery
autoBootstrap: false
config:
  role: immuta_marketing
  datasetSuffix: _secure
  dataset: immuta_marketing
  location: us-east1
  credential: ${env:BIGQUERY_KEY}
""",
    # delete: a tombstone
    "s3-datalake.yaml": """\
type: Native S3
ensure: absent
config:
  name: datalake-prod
""",
    # no-op, while Immuta is still editing it (a transitional status)
    "redshift-warehouse.yaml": """\
type: Redshift
autoBootstrap: false
config:
  host: warehouse.c1a2b3c4d5e6.us-east-1.redshift.amazonaws.com
  database: immuta_warehouse
  authenticationType: userPassword
  username: immuta_system
  password: ${env:REDSHIFT_PASSWORD}
""",
}


def build_tenant() -> Sandbox:
    """Immuta as it is before the plan; ids follow the order of the adds."""
    sandbox = Sandbox(api_key=KEY)
    snowflake = sandbox.oob_add(
        {
            "type": "Snowflake",
            "autoBootstrap": True,
            "config": {
                "host": "acme-prod.us-east-1.snowflakecomputing.com",
                "warehouse": "IMMUTA_WH",
                "database": "IMMUTA_PROD",
                "port": 444,
                "authenticationType": "userPassword",
                "username": "immuta_admin",
                "password": "never-stored",
                "role": "ACCOUNTADMIN",
                "impersonation": {"enabled": True, "role": "IMPERSONATOR"},
                "workspaces": {"enabled": True, "warehouses": ["WH_A", "WH_B"]},
                "lineage": {"enabled": True},
            },
        }
    )
    sandbox.oob_edit(snowflake, "config.someNewField", {"from": "a newer Immuta"})  # never a change
    sandbox.oob_add(
        {
            "type": "Azure Synapse Analytics",
            "autoBootstrap": False,
            "config": {
                "host": "finance-ws.sql.azuresynapse.net",
                "database": "finance_dw",
                "schema": "immuta",
                "authenticationType": "userPassword",
                "username": "immuta_system",
                "password": "never-stored",
            },
        }
    )
    bigquery = sandbox.oob_add(
        {
            "type": "Google BigQuery",
            "autoBootstrap": False,
            "config": {
                "role": "immuta_marketing",
                "datasetSuffix": "_secure",
                "dataset": "immuta_marketing",
                "location": "us-east1",
                "credential": "never-stored",
            },
        }
    )
    sandbox.oob_set_status(bigquery, "createError")
    sandbox.oob_add(
        {
            "type": "Native S3",
            "autoBootstrap": False,
            "config": {
                "name": "datalake-prod",
                "awsAccountId": "123456789012",
                "awsRegion": "us-east-1",
                "awsLocationRole": "arn:aws:iam::123456789012:role/immuta",
                "awsLocationPath": "s3://acme-datalake-prod/",
                "authenticationType": "auto",
                "awsRoleToAssume": "arn:aws:iam::123456789012:role/immuta-assume",
            },
        }
    )
    redshift = sandbox.oob_add(
        {
            "type": "Redshift",
            "autoBootstrap": False,
            "config": {
                "host": "warehouse.c1a2b3c4d5e6.us-east-1.redshift.amazonaws.com",
                "database": "immuta_warehouse",
                "authenticationType": "userPassword",
                "username": "immuta_system",
                "password": "never-stored",
            },
        }
    )
    sandbox.oob_set_status(redshift, "editing")
    sandbox.oob_add({"type": "Trino"})  # an orphan: no file declares it
    return sandbox


def make_golden_plan(workdir: Path, *, prune: bool) -> Plan:
    """The plan for FILES against `build_tenant()`, made from `workdir` (the working directory)."""
    folder = workdir / "integrations.d"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    sandbox = build_tenant()
    transport = SandboxTransport(sandbox.handle)
    previous = Path.cwd()
    os.chdir(workdir)
    try:
        with ImmutaClient("http://sandbox.invalid", Auth.api_key(KEY), transport=transport) as client:
            planned = engine.build(engine.PlanRequest(["integrations.d"], prune=prune), load(), Target(TARGET), client)
    finally:
        os.chdir(previous)
    # The schema version is a hash of every schema file: pinned so that an unrelated schema edit does not
    # churn the goldens (the checksum does not include it).
    return dataclasses.replace(planned.plan, schema_version="(schemas)")


def rendered(plan: Plan) -> dict[str, str]:
    return {
        "txt": plan_text.render(plan, color=False),
        "json": plan_json.render(plan),
        "md": plan_markdown.render(plan, commit=COMMIT),
    }


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if regenerating("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
        return
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs from the golden file; if intended, regenerate with UPDATE_GOLDEN=1"


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Plan]:
    return {prune: make_golden_plan(tmp_path_factory.mktemp(f"golden-{prune}"), prune=prune) for prune in (False, True)}


def test_the_plan_has_every_kind_of_change(plans: dict[bool, Plan]) -> None:
    plan = plans[False]
    by_key = {str(c.key).split("[")[0]: c for c in plan.changes}
    assert {k: c.action for k, c in by_key.items()} == {
        "Azure Synapse Analytics": Action.REPLACE,
        "Databricks": Action.CREATE,
        "Google BigQuery": Action.UPDATE,  # in createError: repaired with PUT (docs/immuta-api.md §9.6)
        "Native S3": Action.DELETE,
        "Redshift": Action.NOOP,
        "Snowflake": Action.UPDATE,
        "Trino": Action.ORPHAN,
    }
    snowflake = by_key["Snowflake"]
    kinds = {".".join(map(str, f.path)): f.kind for f in snowflake.fields}
    assert kinds == {
        "config.audit.enabled": "changed",
        "config.impersonation.enabled": "changed",  # from the schema default (false)
        "config.port": "changed",  # from the schema default (443)
        "config.warehouse": "changed",
        "config.workspaces.warehouses": "changed",  # a list, shown whole
    }
    assert snowflake.ignored == 1
    assert snowflake.not_compared == (("config", "password"),)
    assert by_key["Google BigQuery"].actual_status == "createError"
    assert by_key["Redshift"].actual_status == "editing"
    assert by_key["Azure Synapse Analytics"].fields[0].immutable
    assert {str(c.key).split("[")[0]: c.action for c in plans[True].changes}["Trino"] is Action.DELETE


@pytest.mark.parametrize("prune", [False, True], ids=["plan", "plan-prune"])
@pytest.mark.parametrize("suffix", ["txt", "json", "md"])
def test_golden(plans: dict[bool, Plan], prune: bool, suffix: str) -> None:
    name = ("plan-prune" if prune else "plan") + f".{suffix}"
    check_golden(name, rendered(plans[prune])[suffix])


def test_the_same_inputs_give_byte_identical_output(tmp_path: Path, plans: dict[bool, Plan]) -> None:
    again = make_golden_plan(tmp_path / "elsewhere", prune=False)  # another folder, another sandbox
    assert rendered(again) == rendered(plans[False])
    assert again.checksum == plans[False].checksum


def test_no_escape_codes_without_colour_and_some_with(plans: dict[bool, Plan]) -> None:
    plan = plans[False]
    assert ESCAPE not in plan_text.render(plan, color=False)
    coloured = plan_text.render(plan, color=True)
    assert ESCAPE in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plan_text.render(plan, color=False)
    for text in (plan_json.render(plan), plan_markdown.render(plan)):
        assert ESCAPE not in text


def test_the_closing_line_counts_every_action(plans: dict[bool, Plan]) -> None:
    text = plan_text.render(plans[False])
    assert "Plan: 1 to create, 2 to update, 1 to replace, 1 to delete, 1 unchanged." in text
    assert "1 integration(s) in Immuta have no file; --prune would delete them." in text
    assert "Plan: 1 to create, 2 to update, 1 to replace, 2 to delete, 1 unchanged." in plan_text.render(plans[True])


class Terminal(io.StringIO):
    """A stdout that says it is a terminal: colour is on unless told otherwise."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("no_color_env", "flag", "coloured"),
    [(None, None, True), ("1", None, False), (None, "--no-color", False)],
    ids=["terminal", "NO_COLOR=1", "--no-color"],
)
def test_cli_colour_on_a_terminal_unless_no_color(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_color_env: str | None,
    flag: str | None,
    coloured: bool,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "integrations.d").mkdir()
    (tmp_path / "integrations.d" / "trino.yaml").write_text("type: Trino\n", encoding="utf-8")
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    if no_color_env is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color_env)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    with pytest.raises(SystemExit) as stopped:
        main(["plan", "--sandbox", "--sandbox-state", "state.json", *([flag] if flag else [])])
    assert stopped.value.code == 0
    output = terminal.getvalue()
    assert "+ Trino" in output
    assert (ESCAPE in output) is coloured


@pytest.mark.parametrize("variable", ["UPDATE_GOLDEN", "RECONCILER_REGEN_FIXTURES"])
def test_expected_output_is_never_regenerated_in_ci(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "1")
    monkeypatch.setenv("CI", "true")

    with pytest.raises(pytest.fail.Exception) as refused:
        regenerating(variable)

    assert str(refused.value).startswith(f"{variable}=1 is refused when CI=true: expected output is regenerated")
    monkeypatch.setenv("CI", "false")
    assert regenerating(variable) is True
    monkeypatch.delenv(variable)
    assert regenerating(variable) is False


def test_a_golden_file_is_left_alone_when_regenerating_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPDATE_GOLDEN", "1")
    monkeypatch.setenv("CI", "true")
    before = (GOLDEN / "plan.txt").read_bytes()

    with pytest.raises(pytest.fail.Exception):
        check_golden("plan.txt", "anything else")

    assert (GOLDEN / "plan.txt").read_bytes() == before
