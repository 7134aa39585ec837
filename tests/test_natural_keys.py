"""A17: natural keys compare as the platforms do — host names without regard to case or a final dot, the
other key fields exactly — and keep their written spelling for messages."""

from collections.abc import Iterable

from reconciler.model import IntegrationKey
from reconciler.validation.schema import load


def _key(type_name: str, parts: Iterable[tuple[str, object]]) -> IntegrationKey:
    """A key compared as the type's schema says (`x-key-compare`)."""
    return IntegrationKey.of(type_name, parts, load().type(type_name).rules.key_compare)


def test_host_names_compare_as_dns_does() -> None:
    written = _key("Snowflake", [("host", "KEEP1.snowflakecomputing.com.")])
    reported = _key("Snowflake", [("host", "keep1.snowflakecomputing.com")])
    assert written == reported
    assert hash(written) == hash(reported)
    assert str(written) == "Snowflake[host=KEEP1.snowflakecomputing.com.]"
    assert _key("Databricks", [("workspaceUrl", "DBC-1.cloud.databricks.com")]) == _key(
        "Databricks", [("workspaceUrl", "dbc-1.cloud.databricks.com")]
    )


def test_only_the_host_part_of_a_composite_key_ignores_case() -> None:
    lower = _key("Redshift", [("host", "rs.example.com"), ("database", "immuta")])
    assert lower == _key("Redshift", [("host", "RS.EXAMPLE.COM"), ("database", "immuta")])
    assert lower != _key("Redshift", [("host", "rs.example.com"), ("database", "IMMUTA")])
    assert lower.loosely() == _key("Redshift", [("host", "rs.example.com"), ("database", "IMMUTA")]).loosely()


def test_other_key_fields_compare_exactly() -> None:
    assert _key("Native S3", [("name", "lake")]) != _key("Native S3", [("name", "LAKE")])
    assert _key("Google BigQuery", [("dataset", "d"), ("location", "US")]) != _key(
        "Google BigQuery", [("dataset", "d"), ("location", "us")]
    )
