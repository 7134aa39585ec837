"""POST/PUT bodies: Joi-style 400 messages naming the field [A14], and server defaults filled in [A10]."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_harness import Call
from sandbox_testdata import TYPES, payload


def message(call: Call, body: Any, method: str = "POST", path: str = "/integrations") -> str:
    answer = call(method, path, body)
    assert answer.status == 400, answer.text
    assert answer.json["error"] == "Bad Request"
    return str(answer.json["message"])


@pytest.mark.parametrize("type_name", TYPES)
def test_every_example_payload_is_accepted(call: Call, type_name: str) -> None:
    assert call("POST", "/integrations", payload(type_name)).status == 200


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (payload("Snowflake", warehouse=None), '"config.warehouse" is required'),
        (payload("Snowflake", port="443"), '"config.port" must be a number'),
        (payload("Snowflake", port=44.5), '"config.port" must be an integer'),
        (payload("Snowflake", port=70000), '"config.port" must be less than or equal to 65535'),
        (payload("Snowflake", warehouse=""), '"config.warehouse" is not allowed to be empty'),
        (payload("Snowflake", warehouse=5), '"config.warehouse" must be a string'),
        (payload("Snowflake", audit=True), '"config.audit" must be of type object'),
        (payload("Snowflake", audit={"enabled": "yes"}), '"config.audit.enabled" must be a boolean'),
        (payload("Snowflake", workspaces={"warehouses": [1]}), '"config.workspaces.warehouses[0]" must be a string'),
        (payload("Snowflake", foo="bar"), '"config.foo" is not allowed'),
        (payload("Snowflake", audit={"enabled": True, "extra": 1}), '"config.audit.extra" is not allowed'),
        (
            payload("Snowflake", authenticationType="kerberos"),
            '"config.authenticationType" must be one of [userPassword, keyPair, oAuthClientCredentials]',
        ),
        (payload("Snowflake", password=None), '"config.password" is required'),
        (  # §7: keyPair needs keyName, userFilename and content
            payload("Snowflake", authenticationType="keyPair", password=None, privateKey={"keyName": "PRIV_KEY_FILE"}),
            '"config.privateKey.userFilename" is required',
        ),
        (
            payload(
                "Snowflake",
                authenticationType="keyPair",
                password=None,
                privateKey={"keyName": "PRIV_KEY_FILE", "userFilename": "rsa_key.p8"},
            ),
            '"config.privateKey.content" is required',
        ),
        (
            payload("Snowflake", authenticationType="keyPair", password=None, privateKey={"content": "x"}),
            '"config.privateKey.keyName" is required',
        ),
        (
            payload("Snowflake", authenticationType="keyPair", password=None, privateKey={"keyName": "KEY"}),
            '"config.privateKey.keyName" must be [PRIV_KEY_FILE]',
        ),
        (  # §7: oAuthClientCredentials needs useCertificate
            payload(
                "Snowflake",
                authenticationType="oAuthClientCredentials",
                password=None,
                oAuthClientConfig={
                    "provider": "Okta",
                    "clientId": "c",
                    "authorityUrl": "https://idp/token",
                    "clientSecret": "s",
                },
            ),
            '"config.oAuthClientConfig.useCertificate" is required',
        ),
        (
            payload("Snowflake", host="https://acme.snowflakecomputing.com"),
            '"config.host" with value "https://acme.snowflakecomputing.com" fails to match the required pattern: '
            "/^[^/:\\s]+$/",
        ),
        (payload("Redshift", initialDatabase=None), '"config.initialDatabase" is required'),
        (
            payload("Databricks", catalog="1catalog"),
            '"config.catalog" with value "1catalog" fails to match the required pattern: /^[A-Za-z_][A-Za-z0-9_]*$/',
        ),
        ({**payload("Google BigQuery"), "autoBootstrap": True}, '"autoBootstrap" must be [false]'),
        ({**payload("Snowflake"), "autoBootstrap": "true"}, '"autoBootstrap" must be a boolean'),
        ({"type": "Snowflake", "autoBootstrap": True}, '"config" is required'),
        ({"type": "Snowflake", "config": payload("Snowflake")["config"]}, '"autoBootstrap" is required'),
        ({"autoBootstrap": True, "config": {}}, '"type" is required'),
        ({"type": "Trino", "config": {}}, '"config" is not allowed'),
        ({"type": "Trino", "autoBootstrap": False}, '"autoBootstrap" is not allowed'),
        ({**payload("Snowflake"), "lifecycle": {"preventDestroy": True}}, '"lifecycle" is not allowed'),
        ({**payload("Snowflake"), "ensure": "present"}, '"ensure" is not allowed'),
        ([payload("Snowflake")], '"value" must be of type object'),
        (None, '"value" must be of type object'),
    ],
)
def test_joi_style_message_names_the_field(call: Call, body: Any, expected: str) -> None:
    assert message(call, body) == expected


def test_first_problem_in_schema_order_is_answered(call: Call) -> None:
    body = payload("Snowflake", warehouse=None, port="x", zzz=1)
    assert message(call, body) == '"config.warehouse" is required'


def test_invalid_json(call: Call) -> None:
    answer = call("POST", "/integrations", raw=b"{not json")
    assert answer.status == 400
    assert answer.json["message"] == "Invalid request payload JSON format"


def test_put_bodies_are_validated_like_post(call: Call) -> None:
    assert call("POST", "/integrations", payload("Snowflake")).status == 200
    assert message(call, payload("Snowflake", foo=1), "PUT", "/integrations/1") == '"config.foo" is not allowed'


def test_a_secret_value_never_appears_in_a_message(call: Call) -> None:
    secret = "do-not-echo-me"
    body = payload("Snowflake", password=secret, port="bad")
    answer = call("POST", "/integrations", body)
    assert answer.status == 400
    assert secret not in answer.text
    assert secret not in call("POST", "/integrations", payload("Snowflake", password=[secret])).text


def test_server_defaults_are_filled_in(call: Call) -> None:
    call("POST", "/integrations", payload("Azure Synapse Analytics"))
    config = call("GET", "/integrations/1").json["config"]
    assert config["port"] == 1433
    assert config["metadataDelimiters"] == {"hashDelimiter": "|", "hashKeyDelimiter": ":", "arrayDelimiter": ","}
    assert config["impersonation"] == {"enabled": False}


def test_native_s3_gets_no_port_default(call: Call) -> None:  # §7: port is not a documented S3 field
    call("POST", "/integrations", payload("Native S3"))
    assert "port" not in call("GET", "/integrations/1").json["config"]


def test_defaults_fill_nested_objects_the_user_gave_partly(call: Call) -> None:
    call("POST", "/integrations", payload("Snowflake", lineage={"lineageConfig": {"ingestBatchSize": 5}}))
    config = call("GET", "/integrations/1").json["config"]
    assert config["port"] == 443
    assert config["audit"] == {"enabled": True}
    assert config["lineage"] == {"enabled": False, "lineageConfig": {"ingestBatchSize": 5}}
    assert config["workspaces"] == {"enabled": False}
