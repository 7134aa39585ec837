"""`reconciler export`: existing integrations → files that validate and plan to no changes, for every type
and authentication type; deterministic names; secrets only as ${env:…}; no overwrite without --force."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler import export as export_module
from reconciler.actual import read_actual
from reconciler.sandbox.api import Sandbox
from reconciler.validation.schema import load

REPO = Path(__file__).resolve().parent.parent
STATE = ".reconciler/sandbox.json"
RunCli = Callable[..., Any]  # the `run_cli` fixture of conftest.py

# Authentication types the repository's examples do not use, added "in the UI" with their secrets.
OTHER_AUTH = [
    {"type": "Snowflake", "autoBootstrap": True, "config": {
        "host": "keypair.eu-west-1.snowflakecomputing.com", "warehouse": "WH", "database": "IMMUTA_KP",
        "authenticationType": "keyPair", "username": "IMMUTA_SYSTEM",
        "privateKey": {"keyName": "PRIV_KEY_FILE", "userFilename": "k.p8", "content": "-----BEGIN PRIVATE KEY-----x"}}},
    {"type": "Snowflake", "autoBootstrap": True, "config": {
        "host": "oauth.eu-west-1.snowflakecomputing.com", "warehouse": "WH", "database": "IMMUTA_OA",
        "authenticationType": "oAuthClientCredentials",
        "oAuthClientConfig": {"provider": "Okta", "clientId": "abc", "authorityUrl": "https://login.example.com/token",
                              "useCertificate": True, "oauthPrivateKey": "-----BEGIN PRIVATE KEY-----y",
                              "publicCertificateThumbprint": "AB12"}}},
    {"type": "Databricks", "autoBootstrap": True, "config": {
        "workspaceUrl": "dbc-token.cloud.databricks.com", "httpPath": "/sql/1.0/warehouses/abc",
        "catalog": "immuta_token", "authenticationType": "token", "token": "dapi-secret",
        "proxyOptions": {"host": "proxy.internal", "port": 3128, "username": "immuta", "password": "proxy-pw"}}},
    {"type": "Native S3", "autoBootstrap": False, "config": {
        "name": "datalake-auto", "awsAccountId": "123456789012", "awsRegion": "us-east-1",
        "awsLocationRole": "arn:aws:iam::123456789012:role/loc", "awsLocationPath": "s3://auto-bucket/",
        "authenticationType": "auto", "awsRoleToAssume": "arn:aws:iam::123456789012:role/assume"}},
]  # fmt: skip
SECRET_VALUES = ("-----BEGIN PRIVATE KEY-----", "dapi-secret", "proxy-pw", "sandbox-placeholder-secret")


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli) -> Sandbox:
    """Every type (the repository's examples) plus the other authentication types, in a fresh sandbox."""
    shutil.copytree(REPO / "integrations.d", tmp_path / "original")
    monkeypatch.chdir(tmp_path)
    assert run_cli("apply", "original", "--sandbox", "--auto-approve").exit_code == 0
    simulator = Sandbox(state_file=str(tmp_path / STATE))
    for payload in OTHER_AUTH:
        simulator.oob_add(payload)
    return simulator


@pytest.mark.parametrize("with_defaults", [False, True])
def test_export_then_plan_reports_no_changes_for_every_type(
    tenant: Sandbox, run_cli: RunCli, tmp_path: Path, with_defaults: bool
) -> None:
    args = ["export", "--sandbox", "--out", "exported", *(["--with-defaults"] if with_defaults else [])]
    result = run_cli(*args)
    assert result.exit_code == 0, result.stderr
    files = sorted(p.name for p in (tmp_path / "exported").iterdir())
    assert len(files) == 11
    types = {yaml.safe_load((tmp_path / "exported" / name).read_text())["type"] for name in files}
    assert types == set(load().type_names)

    validated = run_cli("validate", "exported")
    assert validated.exit_code == 0, validated.stdout + validated.stderr
    assert "warning" not in validated.stdout

    planned = run_cli("plan", "exported", "--sandbox", "--detailed-exitcode")
    assert planned.exit_code == 0, planned.stdout
    assert "Plan: 0 to create, 0 to update, 0 to replace, 0 to delete, 11 unchanged." in planned.stdout


def test_names_and_secret_placeholders(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    assert run_cli("export", "--sandbox", "--out", "exported").exit_code == 0
    folder = tmp_path / "exported"
    keypair = yaml.safe_load((folder / "snowflake-keypair-eu-west-1-snowflakecomputing-com.yaml").read_text())
    assert keypair["config"]["privateKey"] == {
        "keyName": "PRIV_KEY_FILE",
        "userFilename": "k.p8",
        "content": "${env:SNOWFLAKE_KEYPAIR_EU_WEST_1_SNOWFLAKECOMPUTING_COM_PRIVATE_KEY_CONTENT}",
    }
    assert "password" not in keypair["config"]
    oauth = yaml.safe_load((folder / "snowflake-oauth-eu-west-1-snowflakecomputing-com.yaml").read_text())
    assert oauth["config"]["oAuthClientConfig"]["oauthPrivateKey"] == (
        "${env:SNOWFLAKE_OAUTH_EU_WEST_1_SNOWFLAKECOMPUTING_COM_O_AUTH_CLIENT_CONFIG_OAUTH_PRIVATE_KEY}"
    )
    assert "clientSecret" not in oauth["config"]["oAuthClientConfig"]
    token = yaml.safe_load((folder / "databricks-dbc-token-cloud-databricks-com.yaml").read_text())
    assert token["config"]["token"] == "${env:DATABRICKS_DBC_TOKEN_CLOUD_DATABRICKS_COM_TOKEN}"
    assert token["config"]["proxyOptions"]["password"] == (
        "${env:DATABRICKS_DBC_TOKEN_CLOUD_DATABRICKS_COM_PROXY_OPTIONS_PASSWORD}"
    )
    assert (
        "proxyOptions"
        not in yaml.safe_load((folder / "databricks-dbc-a1b2c3d4-e5f6-cloud-databricks-com.yaml").read_text())["config"]
    )
    auto = yaml.safe_load((folder / "native-s3-datalake-auto.yaml").read_text())
    assert "awsAccessKeyId" not in auto["config"]
    s3 = yaml.safe_load((folder / "native-s3-datalake-prod.yaml").read_text())
    assert s3["config"]["awsSecretAccessKey"] == "${env:NATIVE_S3_DATALAKE_PROD_AWS_SECRET_ACCESS_KEY}"
    assert (folder / "trino.yaml").exists()
    for path in folder.iterdir():
        text = path.read_text()
        assert not any(secret in text for secret in SECRET_VALUES), path.name


def test_defaults_are_left_out_unless_asked(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    assert run_cli("export", "--sandbox", "--out", "bare").exit_code == 0
    assert run_cli("export", "--sandbox", "--out", "full", "--with-defaults").exit_code == 0
    name = "snowflake-acme-us-east-1-snowflakecomputing-com.yaml"
    bare = yaml.safe_load((tmp_path / "bare" / name).read_text())
    full = yaml.safe_load((tmp_path / "full" / name).read_text())
    assert "port" not in bare["config"]
    assert full["config"]["port"] == 443
    assert bare["config"]["audit"] == {"enabled": True}  # differs from the default: kept


def test_existing_files_are_never_overwritten_without_force(tenant: Sandbox, run_cli: RunCli, tmp_path: Path) -> None:
    folder = tmp_path / "exported"
    folder.mkdir()
    mine = folder / "trino.yaml"
    mine.write_text("# my own file\n")
    result = run_cli("export", "--sandbox", "--out", "exported")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: not overwriting existing file(s) (pass --force to replace them): exported/trino.yaml\n"
    )
    assert mine.read_text() == "# my own file\n"
    assert [p.name for p in folder.iterdir()] == ["trino.yaml"]  # all or nothing
    assert run_cli("export", "--sandbox", "--out", "exported", "--force").exit_code == 0
    assert yaml.safe_load(mine.read_text()) == {"type": "Trino"}


def test_env_names_are_deterministic_upper_snake() -> None:
    schemas = load()
    record = {"id": "1", "type": "Google BigQuery", "status": "enabled", "config": {"dataset": "d", "location": "US"}}
    integration = read_actual([record], schemas).integrations[0]
    assert export_module.file_name(integration) == "google-bigquery-d-us.yaml"
    assert export_module.env_name(integration, ("config", "credential")) == "GOOGLE_BIGQUERY_D_US_CREDENTIAL"
