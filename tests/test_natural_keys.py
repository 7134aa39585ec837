"""A17: natural keys compare as the platforms do — host names without regard to case or a final dot, the
other key fields exactly — and keep their written spelling for messages."""

from reconciler.model import IntegrationKey


def test_host_names_compare_as_dns_does() -> None:
    written = IntegrationKey.of("Snowflake", [("host", "KEEP1.snowflakecomputing.com.")])
    reported = IntegrationKey.of("Snowflake", [("host", "keep1.snowflakecomputing.com")])
    assert written == reported
    assert hash(written) == hash(reported)
    assert str(written) == "Snowflake[host=KEEP1.snowflakecomputing.com.]"
    assert IntegrationKey.of("Databricks", [("workspaceUrl", "DBC-1.cloud.databricks.com")]) == IntegrationKey.of(
        "Databricks", [("workspaceUrl", "dbc-1.cloud.databricks.com")]
    )


def test_only_the_host_part_of_a_composite_key_ignores_case() -> None:
    lower = IntegrationKey.of("Redshift", [("host", "rs.example.com"), ("database", "immuta")])
    assert lower == IntegrationKey.of("Redshift", [("host", "RS.EXAMPLE.COM"), ("database", "immuta")])
    assert lower != IntegrationKey.of("Redshift", [("host", "rs.example.com"), ("database", "IMMUTA")])
    assert (
        lower.loosely() == IntegrationKey.of("Redshift", [("host", "rs.example.com"), ("database", "IMMUTA")]).loosely()
    )


def test_other_key_fields_compare_exactly() -> None:
    assert IntegrationKey.of("Native S3", [("name", "lake")]) != IntegrationKey.of("Native S3", [("name", "LAKE")])
    assert IntegrationKey.of("Google BigQuery", [("dataset", "d"), ("location", "US")]) != IntegrationKey.of(
        "Google BigQuery", [("dataset", "d"), ("location", "us")]
    )
