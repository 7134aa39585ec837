"""`reconciler export` never loses or leaks (issue 11, part 4): keys that read alike get distinct files and
variables, nothing is overwritten, over-long keys get short names, secrets and unknown fields are never
written as values whatever the server returns, Trino's API key never shows anywhere, and the next plan is
empty under every dialect tried."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.sandbox.api import Sandbox

STATE = ".reconciler/sandbox.json"
RunCli = Callable[..., Any]  # the `run_cli` fixture of conftest.py
S3_SECRET = "s3-secret-Value-9f8e"
S3_KEY_ID = "AKIA-key-id-4242"
SNOWFLAKE_PASSWORD = "snowflake-pw-77aa"


def s3(name: str, bucket: str) -> dict[str, Any]:
    return {
        "type": "Native S3",
        "autoBootstrap": False,
        "config": {
            "name": name,
            "awsAccountId": "123456789012",
            "awsRegion": "us-east-1",
            "awsLocationRole": "arn:aws:iam::123456789012:role/loc",
            "awsLocationPath": f"s3://{bucket}/",
            "authenticationType": "accessKey",
            "awsAccessKeyId": S3_KEY_ID,
            "awsSecretAccessKey": S3_SECRET,
        },
    }


SNOWFLAKE = {
    "type": "Snowflake",
    "autoBootstrap": True,
    "config": {
        "host": "acme.snowflakecomputing.com",
        "warehouse": "WH",
        "database": "IMMUTA",
        "authenticationType": "userPassword",
        "username": "ADMIN",
        "password": SNOWFLAKE_PASSWORD,
        "role": "ACCOUNTADMIN",
    },
}
VALUES = (S3_SECRET, S3_KEY_ID, SNOWFLAKE_PASSWORD, "********")


def tenant(run_cli: RunCli, tmp_path: Path, *dialect: str, payloads: list[dict[str, Any]]) -> Sandbox:
    """A sandbox speaking `dialect` (configured before the integrations are added, so that a `secrets=clear`
    server keeps, and returns, the secrets it was sent)."""
    if dialect:
        flags = [part for assignment in dialect for part in ("--dialect", assignment)]
        assert run_cli("sandbox", "configure", *flags).exit_code == 0
    simulator = Sandbox(state_file=str(tmp_path / STATE))
    for payload in payloads:
        simulator.oob_add(payload)
    return simulator


def outputs(folder: Path, *results: Any) -> str:
    texts = [path.read_text() for path in sorted(folder.iterdir())] if folder.exists() else []
    return "\n".join([*texts, *(r.stdout + r.stderr for r in results)])


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_keys_that_read_alike_get_distinct_files_and_variables(run_cli: RunCli, tmp_path: Path) -> None:
    tenant(run_cli, tmp_path, payloads=[s3("lake_a", "bucket-1"), s3("lake-a", "bucket-2"), s3("Lake.A", "b-3")])
    result = run_cli("export", "--sandbox", "--out", "integrations.d")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "Exported 3 integration(s) to integrations.d."
    files = {p.name: yaml.safe_load(p.read_text()) for p in (tmp_path / "integrations.d").iterdir()}
    assert sorted(files) == [
        "native-s3-lake-a-8a45f59e.yaml",  # the first 8 hex digits of SHA-256("Native S3\0name=Lake.A")
        "native-s3-lake-a-e03bfbad.yaml",
        "native-s3-lake-a-fac4924a.yaml",
    ]
    assert sorted(doc["config"]["name"] for doc in files.values()) == ["Lake.A", "lake-a", "lake_a"]
    variables = [doc["config"]["awsSecretAccessKey"] for doc in files.values()]
    assert len(set(variables)) == 3
    assert "${env:NATIVE_S3_LAKE_A_FAC4924A_AWS_SECRET_ACCESS_KEY}" in variables
    # Nothing was lost: the next plan, pruning included, is empty.
    planned = run_cli("plan", "integrations.d", "--sandbox", "--prune", "--detailed-exitcode")
    assert planned.exit_code == 0, planned.stdout + planned.stderr
    assert "Plan: 0 to create, 0 to update, 0 to replace, 0 to delete, 3 unchanged." in planned.stdout


def test_a_hashed_name_stays_when_the_integration_is_exported_alone(run_cli: RunCli, tmp_path: Path) -> None:
    """Without a collision the readable name is kept: adopting one more integration never renames others
    unless it reads like them."""
    tenant(run_cli, tmp_path, payloads=[s3("lake_a", "bucket-1")])
    assert run_cli("export", "--sandbox", "--out", "integrations.d").exit_code == 0
    assert [p.name for p in (tmp_path / "integrations.d").iterdir()] == ["native-s3-lake-a.yaml"]


def test_an_over_long_key_gets_a_short_name_with_a_hash(run_cli: RunCli, tmp_path: Path) -> None:
    long_name = "datalake-" + "x" * 400
    tenant(run_cli, tmp_path, payloads=[s3(long_name, "bucket-1")])
    result = run_cli("export", "--sandbox", "--out", "integrations.d")
    assert result.exit_code == 0, result.stderr
    [path] = (tmp_path / "integrations.d").iterdir()
    assert len(path.name) == 120
    assert path.name == "native-s3-datalake-" + "x" * 87 + "-3521e550.yaml"
    variable = yaml.safe_load(path.read_text())["config"]["awsSecretAccessKey"]
    assert variable == "${env:NATIVE_S3_DATALAKE_" + "X" * 52 + "_3521E550_AWS_SECRET_ACCESS_KEY}"
    planned = run_cli("plan", "integrations.d", "--sandbox", "--detailed-exitcode")
    assert planned.exit_code == 0, planned.stdout + planned.stderr


def test_a_second_export_never_overwrites_the_first(run_cli: RunCli, tmp_path: Path) -> None:
    tenant(run_cli, tmp_path, payloads=[s3("lake_a", "bucket-1"), s3("lake-a", "bucket-2")])
    assert run_cli("export", "--sandbox", "--out", "integrations.d").exit_code == 0
    before = {p.name: p.read_text() for p in (tmp_path / "integrations.d").iterdir()}
    again = run_cli("export", "--sandbox", "--out", "integrations.d")
    assert again.exit_code == 1
    assert again.stderr.startswith("error: not overwriting existing file(s) (pass --force to replace them): ")
    assert {p.name: p.read_text() for p in (tmp_path / "integrations.d").iterdir()} == before


@pytest.mark.parametrize("secrets", ["omitted", "masked", "clear"])
def test_secret_fields_become_references_whatever_the_server_returns(
    run_cli: RunCli, tmp_path: Path, secrets: str
) -> None:
    tenant(run_cli, tmp_path, f"secrets={secrets}", payloads=[s3("lake", "bucket-1"), SNOWFLAKE])
    result = run_cli("export", "--sandbox", "--out", "integrations.d", "-v")
    assert result.exit_code == 0, result.stderr
    folder = tmp_path / "integrations.d"
    lake = yaml.safe_load((folder / "native-s3-lake.yaml").read_text())["config"]
    assert lake["awsAccessKeyId"] == "${env:NATIVE_S3_LAKE_AWS_ACCESS_KEY_ID}"
    assert lake["awsSecretAccessKey"] == "${env:NATIVE_S3_LAKE_AWS_SECRET_ACCESS_KEY}"
    snowflake = yaml.safe_load((folder / "snowflake-acme-snowflakecomputing-com.yaml").read_text())["config"]
    assert snowflake["password"] == "${env:SNOWFLAKE_ACME_SNOWFLAKECOMPUTING_COM_PASSWORD}"
    text = outputs(folder, result)
    assert [value for value in VALUES if value in text] == []


def test_unknown_fields_are_named_in_a_comment_never_written(run_cli: RunCli, tmp_path: Path) -> None:
    tenant(run_cli, tmp_path, "extra=extra", payloads=[SNOWFLAKE])
    assert run_cli("export", "--sandbox", "--out", "integrations.d").exit_code == 0
    text = (tmp_path / "integrations.d" / "snowflake-acme-snowflakecomputing-com.yaml").read_text()
    assert (
        "# Not exported: fields Immuta reports that the schemas do not know (never compared):\n"
        "#   config.connectArgs, config.createdAt, createdAt, createdBy, updatedAt\n"
    ) in text
    document = yaml.safe_load(text)
    assert set(document) == {"type", "autoBootstrap", "config"}
    assert "connectArgs" not in document["config"] and "createdAt" not in document["config"]


@pytest.mark.parametrize("where", ["none", "top", "config"])
def test_the_trino_api_key_is_never_written_printed_logged_or_saved(
    run_cli: RunCli, tmp_path: Path, where: str
) -> None:
    simulator = tenant(run_cli, tmp_path, f"trino_key={where}", payloads=[{"type": "Trino"}])
    [record] = simulator.list_integrations()
    key = record.get("apiKey") or record.get("config", {}).get("apiKey")
    assert (key is None) == (where == "none")
    exported = run_cli("export", "--sandbox", "--out", "integrations.d", "-v")
    assert exported.exit_code == 0, exported.stderr
    assert yaml.safe_load((tmp_path / "integrations.d" / "trino.yaml").read_text()) == {"type": "Trino"}
    planned = run_cli("plan", "integrations.d", "--sandbox", "-v", "--out", "saved.plan", "--detailed-exitcode")
    assert planned.exit_code == 0, planned.stdout + planned.stderr
    shown = run_cli("show", "saved.plan") if (tmp_path / "saved.plan").exists() else planned
    text = outputs(tmp_path / "integrations.d", exported, planned, shown) + (tmp_path / "saved.plan").read_text()
    if key is not None:
        assert key not in text
        assert key[:8] not in text


def test_a_reported_value_holding_a_reference_is_refused(run_cli: RunCli, tmp_path: Path) -> None:
    """A hostile server's `${file:…}` in a field would make apply read a local file and send it."""
    hostile = {**SNOWFLAKE, "config": {**SNOWFLAKE["config"], "warehouse": "${file:/etc/passwd}"}}
    tenant(run_cli, tmp_path, payloads=[hostile, s3("lake", "bucket-1")])
    result = run_cli("export", "--sandbox", "--out", "integrations.d")
    assert (result.exit_code, result.stderr) == (
        1,
        "error: cannot export Snowflake[host=acme.snowflakecomputing.com] (id 1): Immuta reports config.warehouse "
        "with a `${` in the value, which a desired-state file would read as a reference; nothing was written\n",
    )
    assert not (tmp_path / "integrations.d").exists()


@pytest.mark.parametrize(
    "dialect",
    [
        ("secrets=clear",),
        ("secrets=masked",),
        ("extra=extra",),
        ("profile=rich",),
        ("profile=sparse",),
        ("profile=rich", "secrets=clear", "trino_key=config"),
    ],
)
def test_right_after_an_export_the_plan_is_empty(run_cli: RunCli, tmp_path: Path, dialect: tuple[str, ...]) -> None:
    payloads = [s3("lake_a", "bucket-1"), s3("lake-a", "bucket-2"), SNOWFLAKE, {"type": "Trino"}]
    tenant(run_cli, tmp_path, *dialect, payloads=payloads)
    exported = run_cli("export", "--sandbox", "--out", "integrations.d")
    assert exported.exit_code == 0, exported.stderr
    planned = run_cli("plan", "integrations.d", "--sandbox", "--prune", "--detailed-exitcode")
    assert planned.exit_code == 0, planned.stdout + planned.stderr
    assert "Plan: 0 to create, 0 to update, 0 to replace, 0 to delete, 4 unchanged." in planned.stdout
    assert [value for value in VALUES if value in outputs(tmp_path / "integrations.d", exported, planned)] == []
