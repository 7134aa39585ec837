"""Valid payloads for every integration type, with recognisable secret values to hunt for in answers."""

from __future__ import annotations

import copy
from typing import Any

SECRETS = {
    "Snowflake": "snowflake-pw-7f3a9c",
    "Databricks": "dapi-token-51b2e8",
    "Redshift": "redshift-pw-c0ffee",
    "Azure Synapse Analytics": "synapse-pw-88d1aa",
    "Google BigQuery": '{"type": "service_account", "private_key": "bq-key-4e4e4e"}',
    "Native S3": "s3-secret-access-key-9911",
    "Native S3 id": "AKIA-s3-access-key-id-42",
}

_PAYLOADS: dict[str, dict[str, Any]] = {
    "Snowflake": {
        "type": "Snowflake",
        "autoBootstrap": True,
        "config": {
            "host": "acme.us-east-1.snowflakecomputing.com",
            "warehouse": "IMMUTA_WH",
            "database": "IMMUTA_PROD",
            "authenticationType": "userPassword",
            "username": "IMMUTA_ADMIN",
            "password": SECRETS["Snowflake"],
            "role": "ACCOUNTADMIN",
            "audit": {"enabled": True},
        },
    },
    "Databricks": {
        "type": "Databricks",
        "autoBootstrap": True,
        "config": {
            "workspaceUrl": "dbc-a1b2c3d4-e5f6.cloud.databricks.com",
            "httpPath": "/sql/1.0/warehouses/abc123",
            "authenticationType": "token",
            "token": SECRETS["Databricks"],
            "catalog": "immuta_catalog",
        },
    },
    "Redshift": {
        "type": "Redshift",
        "autoBootstrap": True,
        "config": {
            "host": "cluster.abc123.us-east-1.redshift.amazonaws.com",
            "database": "immuta_managed",
            "initialDatabase": "dev",
            "authenticationType": "userPassword",
            "username": "awsuser",
            "password": SECRETS["Redshift"],
        },
    },
    "Azure Synapse Analytics": {
        "type": "Azure Synapse Analytics",
        "autoBootstrap": True,
        "config": {
            "host": "acme.sql.azuresynapse.net",
            "database": "analytics",
            "schema": "immuta",
            "authenticationType": "userPassword",
            "username": "sqladmin",
            "password": SECRETS["Azure Synapse Analytics"],
        },
    },
    "Google BigQuery": {
        "type": "Google BigQuery",
        "autoBootstrap": False,
        "config": {
            "role": "immuta_role",
            "datasetSuffix": "_secure",
            "dataset": "immuta",
            "location": "us-east1",
            "credential": SECRETS["Google BigQuery"],
        },
    },
    "Native S3": {
        "type": "Native S3",
        "autoBootstrap": False,
        "config": {
            "name": "datalake",
            "awsAccountId": "123456789012",
            "awsRegion": "us-east-1",
            "awsLocationRole": "arn:aws:iam::123456789012:role/immuta-location",
            "awsLocationPath": "s3://datalake/",
            "authenticationType": "accessKey",
            "awsAccessKeyId": SECRETS["Native S3 id"],
            "awsSecretAccessKey": SECRETS["Native S3"],
        },
    },
    "Trino": {"type": "Trino"},
}

TYPES = tuple(_PAYLOADS)

# The DELETE body of an automatically bootstrapped integration [A16].
DELETE_CREDENTIALS = {
    "Snowflake": {"username": "IMMUTA_ADMIN", "password": SECRETS["Snowflake"], "role": "ACCOUNTADMIN"},
    "Redshift": {"username": "awsuser", "password": SECRETS["Redshift"]},
    "Azure Synapse Analytics": {"username": "sqladmin", "password": SECRETS["Azure Synapse Analytics"]},
}


def payload(type_name: str, **config: Any) -> dict[str, Any]:
    """A fresh valid payload of one type; keyword arguments replace config fields (None removes one)."""
    result = copy.deepcopy(_PAYLOADS[type_name])
    for name, value in config.items():
        if value is None:
            result["config"].pop(name, None)
        else:
            result["config"][name] = value
    return result
