"""Connections in the simulator (docs/immuta-api.md §10): the three /data reads in their dialects (C1 to C5, C8),
C7's refusal, the record of writes to connection-backed integrations, and connections in the state file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sandbox_harness import KEY, Call, make_call
from sandbox_testdata import payload

from reconciler.sandbox import Sandbox, SandboxRequest
from reconciler.sandbox.dialects import Dialect
from reconciler.sandbox.seeding import add_connection, connection_writes


def tenant(**switches: str) -> tuple[Sandbox, Call, str]:
    sandbox = Sandbox(api_key=KEY, dialect=Dialect.of(switches))
    native = add_connection(sandbox, "snow_prod", "Snowflake", payload("Snowflake"))
    assert native is not None
    for number in range(11):
        add_connection(sandbox, f"glue_{number:02d}", "Glue")
    return sandbox, make_call(sandbox), native


def keys(hits: list[dict[str, Any]]) -> list[Any]:
    return [hit["objectPath"] for hit in hits]


def test_the_search_pages_ten_at_a_time_whatever_size_asks() -> None:
    _, call, _ = tenant()
    first = call("POST", "/data/object/search", {"size": 50}).json
    assert first["count"] == 12 and len(first["hits"]) == 10
    assert keys(first["hits"])[0] == ["glue_00"]
    second = call("POST", "/data/object/search", {"offset": 10, "size": 10}).json
    assert keys(second["hits"]) == [["glue_10"], ["snow_prod"]]
    assert call("POST", "/data/object/search").json["hits"] == first["hits"]  # no body: the first page


def test_paging_in_the_query_string_ignores_the_body() -> None:
    _, call, _ = tenant(search_paging="query")
    assert keys(call("POST", "/data/object/search?offset=10", {"offset": 0}).json["hits"]) == [
        ["glue_10"],
        ["snow_prod"],
    ]


def test_a_bare_array_and_string_object_paths() -> None:
    _, call, _ = tenant(search_answer="array", object_path="string")
    answer = call("POST", "/data/object/search", {}).json
    assert isinstance(answer, list) and len(answer) == 12
    assert answer[-1] == {
        "objectPath": "snow_prod",
        "technology": "Snowflake",
        "state": "active",
        "settings": {"tableDiscovery": {"value": True, "hasDescendantsWithOverrides": False}},
        "overrides": {},
        "childCount": 0,
    }


@pytest.mark.parametrize(("ids", "expected"), [("number", 1), ("string", "1")])
def test_a_connection_names_its_native_integration(ids: str, expected: object) -> None:
    _, call, native = tenant(native_ids=ids)
    answer = call("GET", "/data/connection/snow_prod").json
    assert native == "1" and answer["nativeIntegrationId"] == expected
    assert answer["connection"]["technology"] == "Snowflake" and "password" not in answer["connection"]
    assert "nativeIntegrationId" not in call("GET", "/data/connection/glue_00").json  # C8: none behind it
    assert call("GET", "/data/connection/nope").status == 404


@pytest.mark.parametrize(
    ("mode", "status"), [("absent", 404), ("error", 500), ("unauthorized", 401), ("forbidden", 403)]
)
def test_an_unavailable_data_api_answers_the_same_everywhere(mode: str, status: int) -> None:
    _, call, _ = tenant(data_api=mode)
    for method, path in (("POST", "/data/object/search"), ("GET", "/data/connection/snow_prod")):
        assert call(method, path, {} if method == "POST" else None).status == status
    assert call("GET", "/integrations").status == 200  # the Integrations API still answers


def test_a_connection_backed_databricks_may_report_host() -> None:
    sandbox = Sandbox(api_key=KEY, dialect=Dialect.of({"databricks_key": "host"}))
    native = add_connection(sandbox, "dbx", "Databricks", payload("Databricks"))
    config = make_call(sandbox)("GET", f"/integrations/{native}").json["config"]
    assert "workspaceUrl" not in config and "httpPath" not in config
    assert config["host"] == payload("Databricks")["config"]["workspaceUrl"]


@pytest.mark.parametrize("writes", ["carried", "refused"])
def test_writes_to_a_connection_backed_integration_are_recorded(writes: str) -> None:
    sandbox, call, native = tenant(connection_writes=writes)
    answer = call("DELETE", f"/integrations/{native}")
    if writes == "refused":
        assert answer.status == 409
        assert answer.json["message"].startswith(f"Integration {native} is managed by connection snow_prod")
    else:
        assert answer.status == 200 and answer.json["status"] == "deleting"
    assert connection_writes(sandbox) == [f"DELETE /integrations/{native}"]


def test_connections_live_in_the_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = Sandbox(api_key=KEY, state_file=state)
    native = add_connection(first, "snow_prod", "Snowflake", payload("Snowflake"))
    again = Sandbox(api_key=KEY, state_file=state)
    answer = again.handle(SandboxRequest("GET", "/data/connection/snow_prod", {"authorization": KEY}))
    assert answer.status == 200 and b'"nativeIntegrationId":' + str(native).encode() in answer.body
    again.handle(SandboxRequest("PUT", f"/integrations/{native}", {"authorization": KEY}, b"{}"))
    assert connection_writes(again) == [f"PUT /integrations/{native}"]
