"""Server dialects (docs/immuta-api.md §8): each switch changes what the simulator answers, as its registry
line says."""

from __future__ import annotations

import pytest
from sandbox_harness import KEY, Call, FakeClock, make_call
from sandbox_testdata import DELETE_CREDENTIALS, SECRETS, payload

from reconciler.sandbox import Sandbox
from reconciler.sandbox.dialects import PROFILES, SWITCHES, Dialect


def dialect_call(*assignments: str, provisioning: float = 0.0) -> Call:
    sandbox = Sandbox(api_key=KEY, dialect=Dialect.from_assignments(assignments), provisioning_seconds=provisioning)
    return make_call(sandbox)


def config_of(call: Call, type_name: str, **changes: object) -> dict[str, object]:
    created = call("POST", "/integrations", payload(type_name, **changes))
    assert created.status < 300, created.text
    return dict(call("GET", f"/integrations/{created.json['id']}").json["config"])


def test_every_switch_has_a_default_first_and_a_description() -> None:
    for switch in SWITCHES:
        assert len(switch.values) >= 2 and switch.description
    assert Dialect.from_assignments([]) == Dialect()
    assert Dialect.from_assignments([f"{s.name}={s.default}" for s in SWITCHES]) == Dialect()


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("colour=red", "unknown dialect switch 'colour'; choose from: profile, defaults,"),
        ("ids=uuid", "dialect ids: 'uuid' is not one of string, number"),
        ("profile=medium", "dialect profile: 'medium' is not one of sparse, rich"),
        ("ids", "'ids' is not NAME=VALUE"),
    ],
)
def test_an_unknown_name_or_value_names_the_choices(assignment: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        Dialect.from_assignments([assignment])
    assert str(raised.value).startswith(message)


def test_a_profile_is_overridden_by_explicit_switches_whatever_their_order() -> None:
    dialect = Dialect.from_assignments(["ids=number", "profile=sparse"])
    assert dialect["ids"] == "number" and dialect["put"] == "merge"
    assert all(Dialect.of(values) for values in PROFILES.values())


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("documented", {"port": 443, "audit": {"enabled": True}, "impersonation": {"enabled": False}}),
        ("none", {"audit": {"enabled": True}}),
        ("some", {"port": 443, "audit": {"enabled": True}}),
    ],
)
def test_defaults(mode: str, expected: dict[str, object]) -> None:
    config = config_of(dialect_call(f"defaults={mode}"), "Snowflake")
    assert {k: config[k] for k in ("port", "audit", "impersonation") if k in config} == expected


def test_many_defaults_include_objects_the_file_never_mentions_with_other_values() -> None:
    config = config_of(dialect_call("defaults=many"), "Snowflake")
    assert config["userRolePattern"] == {"exclude": []}
    # lineage.enabled differs from the contract's default, false (§8; issue 21)
    assert config["lineage"] == {"enabled": True, "lineageConfig": {"ingestBatchSize": 1000, "tableFilter": ".*"}}
    assert config_of(dialect_call("defaults=many"), "Databricks")["audit"] == {"enabled": False}


def test_confirmed_fields_only() -> None:
    call = dialect_call("fields=confirmed")
    config = config_of(call, "Snowflake", impersonation={"enabled": True})
    assert "impersonation" not in config and config["warehouse"] == "IMMUTA_WH"


@pytest.mark.parametrize(
    ("mode", "shown"), [("omitted", None), ("masked", "********"), ("clear", SECRETS["Snowflake"])]
)
def test_secrets(mode: str, shown: str | None) -> None:
    assert config_of(dialect_call(f"secrets={mode}"), "Snowflake").get("password") == shown


@pytest.mark.parametrize(("mode", "where"), [("none", None), ("top", ("apiKey",)), ("config", ("config", "apiKey"))])
def test_trino_api_key(mode: str, where: tuple[str, ...] | None) -> None:
    call = dialect_call(f"trino_key={mode}")
    call("POST", "/integrations", {"type": "Trino"})
    body = call("GET", "/integrations/1").json
    found = body.get(where[0]) if where else None
    if where and len(where) == 2:
        found = found[where[1]]
    assert (found is not None) == (where is not None)
    assert "apiKey" not in str(call("GET", "/integrations/1/status").json)


def test_ids_order_and_extra_fields() -> None:
    call = dialect_call("ids=number", "order=newest", "extra=extra")
    for type_name in ("Snowflake", "Redshift"):
        call("POST", "/integrations", payload(type_name))
    listed = call("GET", "/integrations").json
    assert [i["id"] for i in listed] == [2, 1]
    assert "createdAt" in listed[0] and "connectArgs" in listed[0]["config"]


def test_shuffled_order_is_seeded() -> None:
    orders = []
    for _ in range(2):
        call = dialect_call("order=shuffled")
        for type_name in ("Snowflake", "Redshift", "Databricks", "Azure Synapse Analytics"):
            call("POST", "/integrations", payload(type_name))
        orders.append([[i["id"] for i in call("GET", "/integrations").json] for _ in range(3)])
    assert orders[0] == orders[1]
    assert len({tuple(o) for o in orders[0]}) > 1


@pytest.mark.parametrize("status", ["200", "201", "202"])
def test_create_status(status: str) -> None:
    assert dialect_call(f"create_status={status}")("POST", "/integrations", payload("Redshift")).status == int(status)


@pytest.mark.parametrize(("mode", "audit"), [("replace", {"enabled": False}), ("merge", {"enabled": True})])
def test_put_replaces_or_merges(mode: str, audit: dict[str, bool]) -> None:
    call = dialect_call(f"put={mode}")
    call("POST", "/integrations", payload("Snowflake"))
    assert call("PUT", "/integrations/1", payload("Snowflake", audit=None)).status == 200
    assert call("GET", "/integrations/1").json["config"]["audit"] == audit


@pytest.mark.parametrize(("status", "has_body"), [("200", True), ("202", True), ("204", False)])
def test_delete_status(status: str, has_body: bool) -> None:
    call = dialect_call(f"delete_status={status}")
    call("POST", "/integrations", payload("Google BigQuery"))
    answer = call("DELETE", "/integrations/1")
    assert (answer.status, bool(answer.text)) == (int(status), has_body)


@pytest.mark.parametrize(("mode", "listed"), [("linger", ["deleting"]), ("vanish", [])])
def test_deleted_record_lingers_or_vanishes(mode: str, listed: list[str]) -> None:
    clock = FakeClock()
    sandbox = Sandbox(api_key=KEY, dialect=Dialect.of({"deleted": mode}), provisioning_seconds=60.0, clock=clock)
    call = make_call(sandbox)
    call("POST", "/integrations", payload("Google BigQuery"))
    clock.advance(61)
    assert call("DELETE", "/integrations/1").status == 200
    assert [i["status"] for i in call("GET", "/integrations").json] == listed


def test_status_body_whole() -> None:
    call = dialect_call("status_body=whole")
    call("POST", "/integrations", payload("Redshift"))
    assert call("GET", "/integrations/1/status").json["config"]["host"].startswith("cluster.")


def test_free_text_errors() -> None:
    answer = dialect_call("errors=free")("POST", "/integrations", payload("Snowflake", warehouse=None))
    assert (answer.status, answer.json["message"]) == (
        400,
        "Invalid integration payload: config.warehouse is required.",
    )


@pytest.mark.parametrize(("mode", "status"), [("409", 409), ("422", 422), ("queued", 200)])
def test_transitional(mode: str, status: int) -> None:
    call = dialect_call(f"transitional={mode}", provisioning=60.0)
    call("POST", "/integrations", payload("Redshift"))
    assert call("PUT", "/integrations/1", payload("Redshift")).status == status


def test_delete_credentials_nested_under_config() -> None:
    call = dialect_call("delete_credentials=config")
    call("POST", "/integrations", payload("Snowflake"))
    top = call("DELETE", "/integrations/1", DELETE_CREDENTIALS["Snowflake"])
    assert (top.status, top.json["message"]) == (400, '"username" is not allowed')
    assert call("DELETE", "/integrations/1", {"config": DELETE_CREDENTIALS["Snowflake"]}).status == 200


def test_older_release_databricks_text() -> None:
    call = dialect_call("release=2024.2")
    call("POST", "/integrations", payload("Databricks"))
    answer = call("DELETE", "/integrations/1", {"token": "x"})
    assert answer.json["message"].startswith("Credentials are not required to disable a Databricks integration.")
