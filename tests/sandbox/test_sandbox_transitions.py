"""Asynchronous transitions (docs/immuta-api.md §4, A4, A5), settled lazily on the sandbox clock."""

from __future__ import annotations

import pytest
from sandbox_harness import KEY, Call, FakeClock, make_call
from sandbox_testdata import DELETE_CREDENTIALS, payload

from reconciler.sandbox import Faults, Sandbox


@pytest.fixture
def slow(clock: FakeClock) -> Sandbox:
    return Sandbox(api_key=KEY, clock=clock, provisioning_seconds=30)


def status(call: Call, id_: str) -> str:
    return str(call("GET", f"/integrations/{id_}/status").json["status"])


def test_zero_provisioning_settles_by_the_next_read(call: Call) -> None:
    assert call("POST", "/integrations", payload("Snowflake")).json["status"] == "creating"
    assert status(call, "1") == "enabled"


def test_create_is_creating_until_the_provisioning_time_passed(slow: Sandbox, clock: FakeClock) -> None:
    call = make_call(slow)
    call("POST", "/integrations", payload("Snowflake"))
    assert status(call, "1") == "creating"
    clock.advance(29.9)
    assert status(call, "1") == "creating"
    clock.advance(0.1)
    assert status(call, "1") == "enabled"


def test_put_is_editing_then_enabled(slow: Sandbox, clock: FakeClock) -> None:
    call = make_call(slow)
    call("POST", "/integrations", payload("Snowflake"))
    clock.advance(30)
    assert call("PUT", "/integrations/1", payload("Snowflake", warehouse="WH2")).json["status"] == "editing"
    assert call("GET", "/integrations/1").json["config"]["warehouse"] == "WH2"
    assert status(call, "1") == "editing"
    clock.advance(30)
    assert status(call, "1") == "enabled"


def test_delete_is_deleting_and_still_counts_until_gone(slow: Sandbox, clock: FakeClock) -> None:
    call = make_call(slow)
    call("POST", "/integrations", payload("Snowflake"))
    clock.advance(30)
    assert call("DELETE", "/integrations/1", DELETE_CREDENTIALS["Snowflake"]).json["status"] == "deleting"
    assert [i["status"] for i in call("GET", "/integrations").json] == ["deleting"]
    assert call("POST", "/integrations", payload("Snowflake")).status == 409
    clock.advance(30)
    assert call("GET", "/integrations").json == []
    assert call("POST", "/integrations", payload("Snowflake")).json["id"] == "2"


def test_create_error_leaves_the_integration_listed_with_failed_validation(call: Call, sandbox: Sandbox) -> None:
    sandbox.faults = Faults(rate_create_error=1.0)
    call("POST", "/integrations", payload("Snowflake"))
    body = call("GET", "/integrations/1").json
    assert body["status"] == "createError"
    assert body["validationResults"]["status"] == "failed"
    assert body["validationResults"]["validationTests"][-1]["status"] == "failed"
    # not transitional: it can be deleted (or edited) again
    assert call("DELETE", "/integrations/1", DELETE_CREDENTIALS["Snowflake"]).status == 200


def test_edit_error_rolls_back_to_the_previous_state(call: Call, sandbox: Sandbox) -> None:
    call("POST", "/integrations", payload("Snowflake"))
    before = call("GET", "/integrations/1").json["config"]
    sandbox.faults = Faults(rate_edit_error=1.0)
    answer = call("PUT", "/integrations/1", payload("Snowflake", warehouse="WH2", audit={"enabled": False}))
    assert answer.json["config"]["warehouse"] == "WH2"
    after = call("GET", "/integrations/1").json
    assert after["status"] == "editError"
    assert after["config"] == before


def test_delete_error_keeps_the_integration(call: Call, sandbox: Sandbox) -> None:
    call("POST", "/integrations", payload("Databricks"))
    sandbox.faults = Faults(rate_delete_error=1.0)
    call("DELETE", "/integrations/1")
    body = call("GET", "/integrations/1").json
    assert body["status"] == "deleteError"
    assert body["config"]["catalog"] == "immuta_catalog"


def test_trino_cannot_be_edited_and_type_cannot_change(call: Call) -> None:
    call("POST", "/integrations", {"type": "Trino"})
    call("POST", "/integrations", payload("Snowflake"))
    trino = call("PUT", "/integrations/1", {"type": "Trino"})
    assert (trino.status, trino.json["message"]) == (
        422,
        "Trino integrations cannot be edited; delete and re-create the integration instead.",
    )
    retyped = call("PUT", "/integrations/2", payload("Redshift"))
    assert (retyped.status, retyped.json["message"]) == (
        422,
        '"type" cannot be changed from Snowflake to Redshift; delete and re-create the integration instead.',
    )


def test_immutable_object_field_change_is_refused(call: Call) -> None:
    call("POST", "/integrations", payload("Azure Synapse Analytics"))
    changed = payload("Azure Synapse Analytics", metadataDelimiters={"hashDelimiter": "#"})
    answer = call("PUT", "/integrations/1", changed)
    assert answer.status == 422
    assert answer.json["message"].startswith('"config.metadataDelimiters" cannot be changed')
    # the same delimiters as the defaults are no change at all
    same = payload("Azure Synapse Analytics", metadataDelimiters={"hashDelimiter": "|"})
    assert call("PUT", "/integrations/1", same).status == 200


def test_s3_location_path_must_be_unique(call: Call) -> None:
    call("POST", "/integrations", payload("Native S3"))
    answer = call("POST", "/integrations", payload("Native S3", name="other"))
    assert (answer.status, answer.json["message"]) == (
        409,
        "Native S3 integration already exists with awsLocationPath s3://datalake/ (id = 1).",
    )
    call("POST", "/integrations", payload("Native S3", name="other", awsLocationPath="s3://other/"))
    moved = call("PUT", "/integrations/2", payload("Native S3", name="other"))
    assert moved.status == 409


def test_only_one_trino(call: Call) -> None:
    call("POST", "/integrations", {"type": "Trino"})
    answer = call("POST", "/integrations", {"type": "Trino"})
    assert (answer.status, answer.json["message"]) == (409, "Trino integration already exists (id = 1).")
