"""The schema files in schemas/ and the examples in integrations.d/: valid, consistent, and saying what the
contract (`docs/immuta-api.md` §3) says."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from reconciler.validation.schema import SchemaSet

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "schemas"
EXAMPLE_DIR = ROOT / "integrations.d"
BASE_URI = "https://reconciler.dev/schemas/"
ENTRY = "integration.schema.json"

TYPE_FILES = {
    "Snowflake": "snowflake.schema.json",
    "Databricks": "databricks.schema.json",
    "Redshift": "redshift.schema.json",
    "Azure Synapse Analytics": "azure-synapse-analytics.schema.json",
    "Google BigQuery": "google-bigquery.schema.json",
    "Native S3": "native-s3.schema.json",
    "Trino": "trino.schema.json",
}

# Contract §3.1, fields marked S: write-only secrets.
SECRETS = {
    "snowflake.schema.json": {
        "config.password",
        "config.privateKey.content",
        "config.privateKeyPassword",
        "config.oAuthClientConfig.clientSecret",
        "config.oAuthClientConfig.oauthPrivateKey",
    },
    "databricks.schema.json": {
        "config.token",
        "config.oAuthClientConfig.clientSecret",
        "config.proxyOptions.password",
    },
    "redshift.schema.json": {"config.password"},
    "azure-synapse-analytics.schema.json": {"config.password"},
    "google-bigquery.schema.json": {"config.credential"},
    "native-s3.schema.json": {"config.awsAccessKeyId", "config.awsSecretAccessKey"},
    "trino.schema.json": set(),
}

SCHEMAS: dict[str, dict[str, Any]] = {
    path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(SCHEMA_DIR.glob("*.json"))
}
# The entry as the reconciler completes it: its dispatch on `type` is written from the type schemas.
SCHEMAS[ENTRY] = SchemaSet({doc["$id"]: doc for doc in SCHEMAS.values()}).documents[SCHEMAS[ENTRY]["$id"]]
REGISTRY: Registry[Any] = Registry().with_resources(
    (schema["$id"], Resource.from_contents(schema)) for schema in SCHEMAS.values()
)
VALIDATOR = Draft202012Validator(SCHEMAS[ENTRY], registry=REGISTRY)
EXAMPLES = {path.name: yaml.safe_load(path.read_text(encoding="utf-8")) for path in EXAMPLE_DIR.glob("*.yaml")}
EXAMPLE_BY_TYPE = {example["type"]: example for example in EXAMPLES.values()}


def problems(document: Any) -> list[tuple[str, str]]:
    return sorted((error.json_path, error.message) for error in VALIDATOR.iter_errors(document))


def variant(type_name: str, **changes: Any) -> dict[str, Any]:
    """The example of `type_name` with changes applied: `config__host="h"` sets config.host, `...` deletes."""
    document = copy.deepcopy(EXAMPLE_BY_TYPE[type_name])
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = document
        for part in parents:
            node = node.setdefault(part, {})
        if value is ...:
            del node[last]
        else:
            node[last] = value
    return document


def properties_of(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """The `properties` a node declares, following local `$ref`s and `allOf`."""
    found = dict(node.get("properties", {}))
    if "$ref" in node:
        target: Any = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        found |= properties_of(schema, target)
    for branch in node.get("allOf", []):
        found |= properties_of(schema, branch)
    return found


def walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every subschema with the dotted path of the properties leading to it."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key == "properties":
                for name, sub in value.items():
                    yield from walk(sub, f"{path}.{name}".lstrip("."))
            else:
                yield from walk(value, path)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item, path)


def test_the_schema_folder_holds_the_entry_and_one_schema_per_type() -> None:
    assert set(SCHEMAS) == {ENTRY, *TYPE_FILES.values()}
    assert SCHEMAS[ENTRY]["properties"]["type"]["enum"] == list(TYPE_FILES)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_is_valid_2020_12_with_id_matching_its_file_name(name: str) -> None:
    schema = SCHEMAS[name]
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == BASE_URI + name
    assert schema["title"] and schema["description"]


def test_there_is_one_example_per_type() -> None:
    assert sorted(example["type"] for example in EXAMPLES.values()) == sorted(TYPE_FILES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_is_valid(name: str) -> None:
    assert problems(EXAMPLES[name]) == []


def test_an_unknown_type_yields_one_error_listing_the_seven_types() -> None:
    [(path, message)] = problems({"type": "Oracle", "autoBootstrap": True, "config": {"host": "h"}})
    assert path == "$.type"
    assert all(repr(name) in message for name in TYPE_FILES)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param(
            variant("Snowflake", config__authenticationType="keyPair"),
            [("$.config", "'privateKey' is a required property")],
            id="snowflake-keyPair-without-privateKey",
        ),
        pytest.param(
            variant(
                "Snowflake",
                config__authenticationType="keyPair",
                config__privateKey={"keyName": "PRIV_KEY_FILE", "userFilename": "k.p8"},
            ),
            [("$.config.privateKey", "'content' is a required property")],
            id="snowflake-keyPair-without-key-content",
        ),
        pytest.param(
            variant("Snowflake", config__authenticationType="keyPair", config__privateKey={"content": "${env:K}"}),
            [
                ("$.config.privateKey", "'keyName' is a required property"),
                ("$.config.privateKey", "'userFilename' is a required property"),
            ],
            id="snowflake-keyPair-without-key-name-and-file-name",
        ),
        pytest.param(
            variant(
                "Snowflake",
                config__authenticationType="oAuthClientCredentials",
                config__oAuthClientConfig={
                    "provider": "Okta",
                    "clientId": "c",
                    "authorityUrl": "https://idp",
                    "useCertificate": True,
                },
            ),
            [
                ("$.config.oAuthClientConfig", "'oauthPrivateKey' is a required property"),
                ("$.config.oAuthClientConfig", "'publicCertificateThumbprint' is a required property"),
            ],
            id="snowflake-oauth-certificate-without-key",
        ),
        pytest.param(
            variant(
                "Snowflake",
                config__authenticationType="oAuthClientCredentials",
                config__oAuthClientConfig={
                    "clientId": "c",
                    "authorityUrl": "https://idp",
                    "useCertificate": True,
                },
            ),
            [
                ("$.config.oAuthClientConfig", "'oauthPrivateKey' is a required property"),
                ("$.config.oAuthClientConfig", "'provider' is a required property"),  # docs/immuta-api.md §9.9
                ("$.config.oAuthClientConfig", "'publicCertificateThumbprint' is a required property"),
            ],
            id="snowflake-oauth-without-provider",
        ),
        pytest.param(
            variant("Snowflake", config__host="https://acme.snowflakecomputing.com"),
            [("$.config.host", "does not match")],
            id="snowflake-host-with-scheme",
        ),
        pytest.param(
            variant("Databricks", config__catalog="1abc"),
            [("$.config.catalog", "'1abc' does not match")],
            id="databricks-catalog-starting-with-digit",
        ),
        pytest.param(
            variant("Databricks", config__oAuthClientConfig__clientSecret=...),
            [("$.config.oAuthClientConfig", "'clientSecret' is a required property")],
            id="databricks-oauth-without-secret",
        ),
        pytest.param(
            variant("Redshift", config__initialDatabase=...),
            [("$.config", "'initialDatabase' is a required property")],
            id="redshift-autoBootstrap-without-initialDatabase",
        ),
        pytest.param(
            variant("Redshift", config__port=70000),
            [("$.config.port", "70000 is greater than the maximum of 65535")],
            id="redshift-port-out-of-range",
        ),
        pytest.param(
            variant("Azure Synapse Analytics", config__schema=...),
            [("$.config", "'schema' is a required property")],
            id="synapse-without-schema",
        ),
        pytest.param(
            variant("Google BigQuery", autoBootstrap=True),
            [("$.autoBootstrap", "False was expected")],
            id="bigquery-autoBootstrap-true",
        ),
        pytest.param(
            variant("Google BigQuery", config__datasetSuffix="x"),
            [("$.config.datasetSuffix", "'x' does not match '^_'")],
            id="bigquery-suffix-without-underscore",
        ),
        pytest.param(
            variant("Native S3", config__awsAccountId=123456789012),
            [("$.config.awsAccountId", "123456789012 is not of type 'string'")],
            id="s3-account-id-as-number",
        ),
        pytest.param(
            variant("Trino", config={}),
            [("$", "should not be valid under")],
            id="trino-with-config",
        ),
        pytest.param(
            variant("Trino", autoBootstrap=False),
            [("$", "should not be valid under")],
            id="trino-with-autoBootstrap",
        ),
        pytest.param(
            variant("Snowflake", lifecycle__ignoreChanges=["lineage"]),
            [("$.lifecycle.ignoreChanges[0]", "'lineage' does not match")],
            id="ignoreChanges-path-not-under-config",
        ),
        pytest.param(
            variant("Redshift", lifecycles={}),
            [("$", "Additional properties are not allowed ('lifecycles' was unexpected)")],
            id="unknown-top-level-key",
        ),
        pytest.param(
            {"type": "Snowflake", "ensure": "absent", "config": {}},
            [("$.config", "'host' is a required property")],
            id="snowflake-tombstone-without-host",
        ),
        pytest.param(
            {"type": "Azure Synapse Analytics", "ensure": "absent", "config": {"host": "h", "database": "d"}},
            [("$.config", "'schema' is a required property")],
            id="synapse-tombstone-without-schema",
        ),
    ],
)
def test_invalid_documents_fail_with_exactly_these_errors(
    document: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    found = problems(document)
    assert [path for path, _ in found] == [path for path, _ in expected], found
    for (_, message), (_, fragment) in zip(found, expected, strict=True):
        assert fragment in message


@pytest.mark.parametrize(
    "document",
    [
        pytest.param({"type": "Snowflake", "ensure": "absent", "config": {"host": "h"}}, id="snowflake-tombstone"),
        pytest.param({"type": "Trino", "ensure": "absent"}, id="trino-tombstone"),
        pytest.param({"type": "Trino", "ensure": "present"}, id="trino-present"),
        pytest.param(variant("Snowflake", config__someNewerField=1), id="unknown-config-field-is-left-to-code"),
        pytest.param(variant("Redshift", autoBootstrap=False, config__initialDatabase=...), id="redshift-manual"),
        pytest.param(
            variant(
                "Native S3",
                config__authenticationType="auto",
                config__awsAccessKeyId=...,
                config__awsSecretAccessKey=...,
                config__awsRoleToAssume="arn:aws:iam::123456789012:role/immuta",
            ),
            id="s3-auto",
        ),
    ],
)
def test_valid_documents(document: dict[str, Any]) -> None:
    assert problems(document) == []


@pytest.mark.parametrize("name", sorted(TYPE_FILES.values()))
def test_secrets_are_exactly_the_contracts_and_are_write_only_strings(name: str) -> None:
    config = SCHEMAS[name].get("$defs", {}).get("config", {})
    write_only = {path: node for path, node in walk(config, "config") if node.get("writeOnly")}
    assert set(write_only) == SECRETS[name]
    assert len(write_only) == sum(1 for _, node in walk(SCHEMAS[name]) if node.get("writeOnly"))
    for node in write_only.values():
        assert node["type"] == "string"
        assert node["minLength"] == 1
        assert "pattern" not in node  # the value in a file is a ${env:…} reference


@pytest.mark.parametrize("name", sorted(TYPE_FILES.values()))
def test_key_immutable_and_unique_paths_exist(name: str) -> None:
    schema = SCHEMAS[name]
    natural_key, immutable = schema["x-naturalKey"], schema["x-immutable"]
    assert natural_key
    assert immutable == ["*"] or set(natural_key) <= set(immutable)
    credentials = schema.get("x-delete-credentials", {}).get("fields", [])
    paths = [*natural_key, *immutable, *schema.get("x-unique", []), *schema.get("x-user-only", [])]
    for dotted in [*paths, *schema.get("x-key-compare", {}), *(f"config.{name}" for name in credentials)]:
        if dotted == "*":
            continue
        node = schema
        for part in dotted.split("."):
            node = properties_of(schema, node)[part]
    key_fields = [dotted.removeprefix("config.") for dotted in natural_key if dotted.startswith("config.")]
    if key_fields:  # a tombstone needs the natural key to find the integration
        assert schema["$defs"]["tombstone"]["properties"]["config"]["allOf"][1] == {"required": key_fields}


@pytest.mark.parametrize("name", sorted(TYPE_FILES.values()))
def test_defaults_are_valid_and_object_defaults_agree_with_their_fields(name: str) -> None:
    for path, node in walk(SCHEMAS[name]):
        if "default" not in node:
            continue
        assert Draft202012Validator(node).is_valid(node["default"]), path
        if node.get("type") == "object":
            field_defaults = {field: sub["default"] for field, sub in node["properties"].items() if "default" in sub}
            assert node["default"] == field_defaults, path


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(variant("Azure Synapse Analytics", config__authenticationType="entraId"), id="synapse-other-auth"),
        pytest.param(variant("Native S3", config__authenticationType="auto"), id="s3-auto-without-role"),
        pytest.param(variant("Google BigQuery", config__location="US"), id="bigquery-multi-region-US"),
        pytest.param(variant("Google BigQuery", config__location="EU"), id="bigquery-multi-region-EU"),
        pytest.param(variant("Google BigQuery", config__location="nam4"), id="bigquery-dual-region"),
        pytest.param(variant("Google BigQuery", config__location="europe-west2"), id="bigquery-region"),
    ],
)
def test_what_the_docs_leave_open_is_valid(document: dict[str, Any]) -> None:
    """Contract §7: the docs contradict themselves or allow more than the first reading said; the reconciler
    warns (validate.py `x-warnings`) instead of refusing."""
    assert problems(document) == []
