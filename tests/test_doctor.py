"""doctor's reading of a tenant: the checks it names and the dialect an answer shows (docs/immuta-api.md §8)."""

from __future__ import annotations

import json
from typing import Any

from reconciler.doctor import diagnose, examine
from reconciler.errors import ApiError, AuthError
from reconciler.render import doctor_json, doctor_text
from reconciler.validation.schema import load

SCHEMAS = load()
SECRET = "s3cr3t-value-never-printed"


def snowflake(integration_id: Any, host: str, **config: Any) -> dict[str, Any]:
    base = {"host": host, "warehouse": "WH", "database": "DB", "authenticationType": "userPassword", "username": "u"}
    return {
        "id": integration_id,
        "status": "enabled",
        "type": "Snowflake",
        "autoBootstrap": True,
        "config": base | config,
    }


def test_a_sparse_tenant_string_ids_newest_first_nothing_echoed_secrets_omitted() -> None:
    records = [snowflake("9", "b.example.com"), snowflake("3", "a.example.com")]
    dialect = examine(records, SCHEMAS)
    assert (dialect.id_type, dialect.list_order) == ("string", "newest first (ids descending)")
    [found] = dialect.types
    assert found.defaults_echoed == ()
    assert "config.port" in found.defaults_not_echoed
    assert dict(found.secrets) == {"*": "omitted"}
    assert found.unknown_fields == ()


def test_a_rich_tenant_numbers_oldest_first_defaults_echoed_secrets_masked_extra_fields() -> None:
    records = [
        snowflake(1, "a.example.com", port=443, audit={"enabled": False}, password="********", connectArgs="x")
        | {"createdAt": "2026-01-01"},
        snowflake(2, "b.example.com", port=443, password="********"),
    ]
    dialect = examine(records, SCHEMAS)
    assert (dialect.id_type, dialect.list_order) == ("number", "oldest first (ids ascending)")
    [found] = dialect.types
    assert {"config.port", "config.audit.enabled"} <= set(found.defaults_echoed)
    assert dict(found.secrets)["config.password"] == "masked"
    assert found.unknown_fields == ("config.connectArgs",)
    assert dialect.top_level_fields == ("createdAt",)


def test_a_returned_secret_is_named_but_its_value_is_never_printed() -> None:
    records = [snowflake(1, "a.example.com", password=SECRET)]
    report = diagnose("https://acme.immuta.example", lambda: records, SCHEMAS, auth_kind="API key")
    assert dict(report.dialect.types[0].secrets)["config.password"] == "returned"  # type: ignore[union-attr]
    for text in (doctor_text.render(report), doctor_json.render(report)):
        assert SECRET not in text
    assert "config.password returned" in doctor_text.render(report)


def test_unknown_statuses_and_colliding_keys_are_flagged() -> None:
    records = [snowflake(1, "a.example.com"), snowflake(2, "A.EXAMPLE.COM") | {"status": "quarantined"}]
    dialect = examine(records, SCHEMAS)
    assert dialect.unknown_statuses == ("quarantined",)
    assert dialect.collisions == ("Snowflake[host=a.example.com]: ids 1, 2",)
    text = doctor_text.render(diagnose("u", lambda: records, SCHEMAS, auth_kind="API key"))
    assert "  ! status 'quarantined' is unknown to this version: reported as not healthy, never as enabled" in text


def refusing(error: Exception) -> Any:
    def call() -> Any:
        raise error

    return call


def test_each_failure_is_a_named_failed_check() -> None:
    forbidden = diagnose("u", refusing(AuthError("GET", "/integrations", 403, "Forbidden")), SCHEMAS, auth_kind="k")
    assert not forbidden.ok
    assert [(c.name, c.ok) for c in forbidden.checks] == [
        ("reachable", True),
        ("credentials", True),
        ("permission", False),
    ]
    assert "lacks APPLICATION_ADMIN" in forbidden.checks[-1].detail
    wrong_key = diagnose("u", refusing(AuthError("GET", "/integrations", 401, "Unauthorized")), SCHEMAS, auth_kind="k")
    assert [(c.name, c.ok) for c in wrong_key.checks] == [("reachable", True), ("credentials", False)]
    down = diagnose(
        "u",
        refusing(ApiError("GET", "/integrations", None, "connection refused", hint="is it running?")),
        SCHEMAS,
        auth_kind="k",
    )
    assert [(c.name, c.ok, c.detail) for c in down.checks] == [
        ("reachable", False, "connection refused — is it running?")
    ]
    assert "Not ready: fix the failed check above, then run doctor again." in doctor_text.render(down)


def test_the_json_document_is_versioned() -> None:
    report = diagnose("u", lambda: [snowflake(1, "a.example.com")], SCHEMAS, auth_kind="API key")
    document = doctor_json.document(report)
    assert document["format_version"] == 1
    assert document["ok"] is True
    assert document["dialect"]["types"][0]["type"] == "Snowflake"
    assert document["dialect"]["statuses"] == {"enabled": 1}


def test_a_default_the_tenant_reports_otherwise_is_named_with_both_values() -> None:
    records = [
        snowflake(1, "a.example.com", port=443, lineage={"enabled": True}, audit={"enabled": True}),
        snowflake(2, "b.example.com", port=443, lineage={"enabled": True}, audit={"enabled": False}),
    ]
    report = diagnose("https://acme.immuta.example", lambda: records, SCHEMAS, auth_kind="API key")
    [found] = report.dialect.types  # type: ignore[union-attr]
    differing = {d.path: (d.schema_default, d.reported, d.integrations) for d in found.defaults_differing}
    assert differing == {"config.lineage.enabled": (False, (True,), 2), "config.audit.enabled": (False, (True,), 1)}
    text = doctor_text.render(report)
    assert (
        "    ! config.lineage.enabled: reported true by 2 of 2, the schema's default is false — where no file "
        "writes it, this tenant's default differs: the reconciler sends the schema's on every create and update"
    ) in text
    document = json.loads(doctor_json.render(report))
    assert document["dialect"]["types"][0]["defaults_differing"][1] == {
        "path": "config.lineage.enabled",
        "schema_default": False,
        "reported": [True],
        "integrations": 2,
    }
