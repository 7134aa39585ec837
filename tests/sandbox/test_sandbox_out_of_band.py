"""Out-of-band changes ("someone in the UI") and manual bootstrap (issue 7)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sandbox_harness import KEY, Call, FakeClock, make_call
from sandbox_testdata import payload

from reconciler.sandbox import Sandbox
from reconciler.validation.schema import load


def test_oob_add_edit_and_remove(sandbox: Sandbox, call: Call) -> None:
    id_ = sandbox.oob_add(payload("Snowflake"))
    assert call("GET", f"/integrations/{id_}").json["status"] == "enabled"

    sandbox.oob_edit(id_, "config.audit.enabled", False)
    sandbox.oob_edit(id_, "config.lineage.lineageConfig.ingestBatchSize", 10)
    sandbox.oob_edit(id_, "autoBootstrap", False)
    body = call("GET", f"/integrations/{id_}").json
    assert body["config"]["audit"] == {"enabled": False}
    assert body["config"]["lineage"]["lineageConfig"] == {"ingestBatchSize": 10}
    assert body["autoBootstrap"] is False

    sandbox.oob_remove(id_)
    assert call("GET", "/integrations").json == []


def test_oob_add_refuses_what_the_api_would(sandbox: Sandbox) -> None:
    sandbox.oob_add(payload("Snowflake"))
    with pytest.raises(ValueError, match=r"already exists .* \(id = 1\)"):
        sandbox.oob_add(payload("Snowflake"))
    with pytest.raises(ValueError, match=re.escape('"config.warehouse" is required')):
        sandbox.oob_add(payload("Snowflake", host="x.snowflakecomputing.com", warehouse=None))


def test_oob_edit_refuses_secrets_and_unknown_ids(sandbox: Sandbox) -> None:
    id_ = sandbox.oob_add(payload("Snowflake"))
    with pytest.raises(ValueError, match="secret"):
        sandbox.oob_edit(id_, "config.password", "x")
    with pytest.raises(ValueError, match="only autoBootstrap and config"):
        sandbox.oob_edit(id_, "id", "9")
    with pytest.raises(LookupError):
        sandbox.oob_edit("99", "config.port", 1)
    with pytest.raises(LookupError):
        sandbox.oob_remove("99")


def test_oob_set_status(sandbox: Sandbox, call: Call) -> None:
    id_ = sandbox.oob_add(payload("Snowflake"))
    sandbox.oob_set_status(id_, "recurringValidationError")
    body = call("GET", f"/integrations/{id_}/status").json
    assert body["status"] == "recurringValidationError"
    assert body["validationResults"]["status"] == "failed"
    assert sandbox.list_integrations()[0]["status"] == "recurringValidationError"
    assert sandbox.payload(id_)["config"]["host"] == "acme.us-east-1.snowflakecomputing.com"


def test_manual_create_needs_its_setup_run_first(tmp_path: Path, clock: FakeClock) -> None:
    state = tmp_path / "tenant.json"
    sandbox = Sandbox(api_key=KEY, clock=clock, state_file=state, require_manual_setup=True)
    call = make_call(sandbox)
    manual = {**payload("Snowflake"), "autoBootstrap": False}

    assert call("POST", "/integrations", manual).status == 422
    assert call("POST", "/integrations", payload("Snowflake", host="auto.snowflakecomputing.com")).status == 200
    script = call("POST", "/integrations/scripts/create", manual)
    assert script.headers["content-type"] == "text/plain; charset=utf-8"  # [A7]

    # the person runs the script; another process (the CLI) records it in the shared state file
    Sandbox(api_key=KEY, clock=clock, state_file=state).mark_setup_run("Snowflake", manual)
    assert call("POST", "/integrations", manual).status == 200


def test_mark_setup_run_accepts_a_natural_key() -> None:
    sandbox = Sandbox(api_key=KEY, require_manual_setup=True)
    call = make_call(sandbox)
    key = load().types["Native S3"].key_of(payload("Native S3"))
    sandbox.mark_setup_run("Native S3", key)
    assert call("POST", "/integrations", payload("Native S3")).status == 200


def test_create_script_refuses_auto_bootstrap(call: Call) -> None:
    answer = call("POST", "/integrations/scripts/create", payload("Snowflake"))
    assert (answer.status, answer.json["message"]) == (400, '"autoBootstrap" must be [false]')


@pytest.mark.parametrize(
    ("type_name", "names"),
    [
        ("Snowflake", ['"IMMUTA_PROD"', "IMMUTA_WH", "IMMUTA_SYSTEM_ROLE", "acme.us-east-1.snowflakecomputing.com"]),
        ("Databricks", ["immuta_catalog"]),
        ("Redshift", ['"immuta_managed"', '"awsuser"']),
        ("Azure Synapse Analytics", ["[analytics]", "[immuta]", "[sqladmin]"]),
        ("Google BigQuery", ["immuta_role", "us-east1", "_secure"]),
        ("Native S3", ["s3://datalake/", "arn:aws:iam::123456789012:role/immuta-location"]),
        ("Trino", ["access-control.name=immuta"]),
    ],
)
def test_scripts_name_the_platform_resources(call: Call, type_name: str, names: list[str]) -> None:
    body = payload(type_name)
    if "autoBootstrap" in body:
        body["autoBootstrap"] = False
    text = call("POST", "/integrations/scripts/create", body).text
    for name in names:
        assert name in text
