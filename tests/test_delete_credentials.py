"""The one DELETE-credential rule (docs/immuta-api.md §5, A16): decided at plan time from what Immuta reports
(`autoBootstrap`, `authenticationType`) and the tombstone's resolved fields; Immuta's 400 answers recognised."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.actual import read_actual
from reconciler.applying.outcome import explain
from reconciler.desired import SecretMode, load_desired
from reconciler.errors import InputError, ValidationFailed
from reconciler.planning import gate
from reconciler.planning.credentials import delete_body
from reconciler.planning.gate import GateOptions
from reconciler.planning.plan import Action, Plan, PlanOptions, make_plan
from reconciler.render import plan_markdown, plan_text
from reconciler.secrets import Lookup
from reconciler.validation.schema import load

HOST = "acme.snowflakecomputing.com"
KEY = f"Snowflake[host={HOST}]"


def reported(config: dict[str, Any], *, auto: bool = True, type_: str = "Snowflake") -> dict[str, Any]:
    return {"id": "7", "status": "enabled", "type": type_, "autoBootstrap": auto, "config": config}


def planned(tmp_path: Path, record: dict[str, Any], document: dict[str, Any]) -> Plan:
    (tmp_path / "tombstone.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    schemas = load()
    desired = load_desired(
        [str(tmp_path)], schemas, mode=SecretMode.REQUIRE, lookup=Lookup({"PW": "pw-1", "KEY": "pem-1", "EMPTY": ""})
    )
    actual = read_actual([record], schemas)
    return make_plan(desired, actual, target="t", options=PlanOptions(), schema_version="s", tool_version="v")


def tombstone(**config: Any) -> dict[str, Any]:
    return {"type": "Snowflake", "ensure": "absent", "config": {"host": HOST, **config}}


@pytest.mark.parametrize(
    ("authentication", "config", "missing"),
    [
        ("userPassword", {}, ("config.username", "config.password")),
        ("userPassword", {"username": "ADMIN"}, ("config.password",)),
        ("userPassword", {"username": "ADMIN", "password": "${env:PW}"}, ()),
        ("keyPair", {"username": "ADMIN", "password": "${env:PW}"}, ("config.privateKey",)),
        ("keyPair", {"username": "ADMIN", "privateKey": {"content": "${env:KEY}"}}, ()),
        ("oAuthClientCredentials", {"username": "ADMIN"}, ("config.oAuthClientConfig",)),
    ],
)
def test_the_fields_needed_follow_the_authentication_immuta_reports(
    tmp_path: Path, authentication: str, config: dict[str, Any], missing: tuple[str, ...]
) -> None:
    plan = planned(tmp_path, reported({"host": HOST, "authenticationType": authentication}), tombstone(**config))
    [change] = plan.writes
    assert (change.action, change.missing_credentials) == (Action.DELETE, missing)
    refusal = (
        f"{KEY}: Immuta needs the privileged credentials ({', '.join(missing)}) to delete an integration "
        f"bootstrapped automatically; add them to {change.file} as references"
    )
    assert gate.refusals(plan, GateOptions()) == ([refusal] if missing else [])


def test_the_plan_says_before_apply_that_credentials_are_missing(tmp_path: Path) -> None:
    plan = planned(tmp_path, reported({"host": HOST, "authenticationType": "keyPair"}), tombstone(username="A"))
    assert "apply will refuse: Immuta's DELETE needs config.privateKey" in plan_text.render(plan, color=False)
    assert "**apply will refuse: Immuta's DELETE needs config.privateKey**" in plan_markdown.render(plan)


def test_an_empty_secret_is_refused_before_any_plan(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"\$\{env:EMPTY\} is empty: a secret needs a value"):
        planned(
            tmp_path,
            reported({"host": HOST, "authenticationType": "userPassword"}),
            tombstone(username="ADMIN", password="${env:EMPTY}"),
        )


def test_what_is_sent_is_the_privileged_fields_the_tombstone_gives(tmp_path: Path) -> None:
    plan = planned(
        tmp_path,
        reported({"host": HOST, "authenticationType": "userPassword", "warehouse": "WH"}),
        tombstone(username="ADMIN", password="${env:PW}", role="ACCOUNTADMIN", warehouse="WH"),
    )
    [change] = plan.writes
    body = delete_body(change.actual, change.desired) or {}
    shown = {name: value.reveal() if hasattr(value, "reveal") else value for name, value in body.items()}
    assert shown == {"username": "ADMIN", "password": "pw-1", "role": "ACCOUNTADMIN"}


@pytest.mark.parametrize(
    ("record", "document"),
    [
        (reported({"host": HOST, "authenticationType": "userPassword"}, auto=False), tombstone(username="A")),
        (
            reported({"workspaceUrl": "dbc.cloud.databricks.com"}, type_="Databricks"),
            {"type": "Databricks", "ensure": "absent", "config": {"workspaceUrl": "dbc.cloud.databricks.com"}},
        ),
    ],
    ids=["manual-bootstrap", "databricks"],
)
def test_no_credentials_are_needed_or_sent(tmp_path: Path, record: dict[str, Any], document: dict[str, Any]) -> None:
    [change] = planned(tmp_path, record, document).writes
    assert change.missing_credentials == ()
    assert delete_body(change.actual, change.desired) is None


@pytest.mark.parametrize(
    ("message", "next_step"),
    [
        (
            "Integrations that are automatically configured require privileged credentials to disable. Please "
            "provide them in your payload.",
            "Immuta reports the integration as bootstrapped automatically: give the privileged credentials in "
            "its tombstone file (ensure: absent) as references, then apply again",
        ),
        *(
            (
                f"Credentials are not required to disable a {name} integration. If you need to update your "
                "integration credentials, use PUT to update the integration before disabling.",
                "Immuta did not want the credentials this version sent: plan again (Immuta's autoBootstrap may "
                "have changed since the plan); if it persists, report it with this message",
            )
            for name in ("Databricks Unity Catalog", "Databricks")
        ),
    ],
    ids=["required", "databricks-saas", "databricks-older"],
)
def test_immutas_delete_400_answers_are_recognised(tmp_path: Path, message: str, next_step: str) -> None:
    [change] = planned(
        tmp_path,
        reported({"host": HOST, "authenticationType": "userPassword"}, auto=False),
        tombstone(),
    ).writes
    failure = ValidationFailed("DELETE", "/integrations/7", 400, message)
    assert explain(change, failure) == f"DELETE /integrations/7 → 400: {message} — {next_step}"


@pytest.mark.parametrize(
    ("status", "message", "next_step"),
    [
        (
            409,
            "Conflict",
            # apply has already waited out a busy integration (applying/busy.py): this 409 is another conflict
            "Immuta refused it as a conflict while the integration was not busy: its message says with what",
        ),
        (
            422,
            "Unable to remove the integration's schema.",
            "Immuta could not process the delete: fix what its message names in Immuta, then apply again",
        ),
    ],
)
def test_a_delete_409_or_422_shows_immutas_message_and_a_next_step(
    tmp_path: Path, status: int, message: str, next_step: str
) -> None:
    [change] = planned(
        tmp_path, reported({"host": HOST, "authenticationType": "userPassword"}, auto=False), tombstone()
    ).writes
    failure = ValidationFailed("DELETE", "/integrations/7", status, message)
    assert explain(change, failure) == f"DELETE /integrations/7 → {status}: {message} — {next_step}"
