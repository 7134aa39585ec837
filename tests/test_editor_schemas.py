"""Schemas for editors: one self-contained folder (relative `$ref`s, no network) that check-jsonschema and
yaml-language-server can use as they are, accepting a reference exactly where the reconciler does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.validation.schema import load
from reconciler.validation.schema_export import editor_schemas, write_schemas

REPO = Path(__file__).resolve().parent.parent
RunCli = Callable[..., Any]
FILES = [
    "azure-synapse-analytics.schema.json",
    "databricks.schema.json",
    "google-bigquery.schema.json",
    "integration.schema.json",
    "native-s3.schema.json",
    "redshift.schema.json",
    "snowflake.schema.json",
    "trino.schema.json",
]
# Any attempt to open a connection or resolve a name fails: the folder must be enough on its own.
NO_NETWORK = """
import socket

def _refused(*args, **kwargs):
    raise OSError("networking is disabled in this test")

socket.socket.connect = _refused
socket.socket.connect_ex = _refused
socket.getaddrinfo = _refused
socket.create_connection = _refused
"""
SNOWFLAKE = """\
type: Snowflake
autoBootstrap: true
config:
  host: {host}
  warehouse: IMMUTA_WH
  database: IMMUTA_PROD
  port: {port}
  authenticationType: userPassword
  username: immuta
  password: {password}
  role: ACCOUNTADMIN
"""
ENVIRONMENT = "url: https://acme-dev.immuta.com\nvalues: {PORT: 8443, BIG_PORT: 99999, ACCOUNT: acme-dev, PW: x}\n"


def check_jsonschema(folder: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema as a user runs it, in a process that cannot reach the network."""
    blocker = folder.parent / "no-network"
    blocker.mkdir(exist_ok=True)
    (blocker / "sitecustomize.py").write_text(NO_NETWORK, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    command = [sys.executable, "-c", "from check_jsonschema import main; main()"]
    args = ["-o", "json", "--schemafile", str(folder / "integration.schema.json"), *map(str, files)]
    return subprocess.run([*command, *args], capture_output=True, text=True, env=env, check=False, timeout=120)


def test_every_schema_is_written_without_an_address_that_does_not_exist(tmp_path: Path) -> None:
    written = write_schemas(tmp_path / "schemas", load())
    assert [p.name for p in written] == FILES
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert "reconciler.dev" not in text
        assert "$id" not in json.loads(text)
    refs = [r for doc in editor_schemas(load()).values() for r in _refs(doc)]
    assert refs and all(not r.startswith(("http:", "https:")) for r in refs)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_check_jsonschema_validates_the_examples_with_the_network_unavailable(tmp_path: Path) -> None:
    folder = tmp_path / "schemas"
    write_schemas(folder, load())
    result = check_jsonschema(folder, *sorted((REPO / "integrations.d").glob("*.yaml")))
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == {"status": "ok", "errors": []}


def test_the_blocker_really_blocks(tmp_path: Path) -> None:
    """Without this, the test above could pass by fetching https://reconciler.dev/… after all."""
    folder = tmp_path / "schemas"
    write_schemas(folder, load())
    (tmp_path / "doc.yaml").write_text("a: 1\n", encoding="utf-8")
    result = check_jsonschema(folder, tmp_path / "doc.yaml")
    assert result.returncode == 1  # no type: invalid, but answered offline
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "no-network")}
    fetch = subprocess.run(
        [sys.executable, "-c", "import urllib.request; urllib.request.urlopen('https://pypi.org', timeout=5)"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert "networking is disabled in this test" in fetch.stderr


# (case, host, port, password, the editor accepts it, the reconciler accepts it with the dev environment)
CASES = [
    ("literal values", "acme.snowflakecomputing.com", "443", "${env:PW}", True, True),
    ("a whole-value ${var:} number", "acme.snowflakecomputing.com", "${var:PORT}", "${env:PW}", True, True),
    ("a ${var:} inside a host", "${var:ACCOUNT}.snowflakecomputing.com", "443", "${env:PW}", True, True),
    ("${env:} where a number belongs", "acme.snowflakecomputing.com", "${env:PORT}", "${env:PW}", False, False),
    ("a literal secret", "acme.snowflakecomputing.com", "443", "hunter2", False, False),
    ("a secret from a values file", "acme.snowflakecomputing.com", "443", "${var:PW}", False, False),
    ("a port out of range", "acme.snowflakecomputing.com", "99999", "${env:PW}", False, False),
    # The editor cannot know the value; the reconciler checks it once filled in, as strictly as ever.
    (
        "a ${var:} whose value is out of range",
        "acme.snowflakecomputing.com",
        "${var:BIG_PORT}",
        "${file:pw}",
        True,
        False,
    ),
]


def test_references_are_accepted_where_the_reconciler_accepts_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    folder = tmp_path / "schemas"
    write_schemas(folder, load())
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "dev.yaml").write_text(ENVIRONMENT, encoding="utf-8")
    files = []
    for index, (_, host, port, password, _, _) in enumerate(CASES):
        path = tmp_path / f"case{index}.yaml"
        path.write_text(SNOWFLAKE.format(host=host, port=port, password=password), encoding="utf-8")
        files.append(path)
    result = check_jsonschema(folder, *files)
    failed = {Path(e["filename"]).name for e in json.loads(result.stdout)["errors"]}
    monkeypatch.chdir(tmp_path)
    seen = []
    for index, (case, *_) in enumerate(CASES):
        reconciler_ok = run_cli("validate", "--env", "dev", files[index].name).exit_code == 0
        seen.append((case, files[index].name not in failed, reconciler_ok))
    assert seen == [(case, editor, reconciler) for case, *_, editor, reconciler in CASES]


def test_the_installed_schemas_stay_strict() -> None:
    """Only the written copies accept `${var:…}`: the reconciler validates the filled-in value."""
    snowflake = load().types["Snowflake"]
    port = snowflake.field(("config", "port"))
    assert port is not None and port["type"] == "integer" and "anyOf" not in port


# (case, the username, a lifecycle block, editor and reconciler both accept it with the dev environment)
PLAIN_FIELDS = [
    ("a literal username", "immuta", "", True),
    ("a ${var:} username", "${var:ACCOUNT}", "", True),
    ("an ${env:} username", "${env:SNOWFLAKE_USER}", "", False),
    ("a ${file:} inside a username", "svc-${file:user.txt}", "", False),
    ("an ${env:} in lifecycle.previously", "immuta", "previously:\n    host: ${env:OLD}", False),
    ("a ${var:} in lifecycle.previously", "immuta", "previously:\n    host: ${var:ACCOUNT}", True),
    ("an ${env:} in lifecycle.ignoreChanges", "immuta", "ignoreChanges: ['${env:P}']", False),
    ("a ${var:} in lifecycle.ignoreChanges", "immuta", "ignoreChanges: ['config.${var:FIELD}']", True),
    ("an ${env:} as lifecycle.preventDestroy", "immuta", "preventDestroy: ${env:P}", False),
]


def test_env_and_file_references_are_refused_outside_secrets_as_the_reconciler_refuses_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    """The references gate: `${env:}`/`${file:}` give only secret fields; the editor says so before a push."""
    folder = tmp_path / "schemas"
    write_schemas(folder, load())
    (tmp_path / "environments").mkdir()
    values = ENVIRONMENT.replace("PW: x}", "PW: x, FIELD: lineage}")
    (tmp_path / "environments" / "dev.yaml").write_text(values, encoding="utf-8")
    (tmp_path / "user.txt").write_text("svc\n", encoding="utf-8")
    for name in ("SNOWFLAKE_USER", "OLD", "P", "PW"):
        monkeypatch.setenv(name, "set")
    files = []
    for index, (_, username, lifecycle, _) in enumerate(PLAIN_FIELDS):
        document = SNOWFLAKE.format(host="acme.snowflakecomputing.com", port="443", password="${env:PW}")
        document = document.replace("username: immuta", f"username: {username}")
        document += f"lifecycle:\n  {lifecycle}\n" if lifecycle else ""
        path = tmp_path / f"plain{index}.yaml"
        path.write_text(document, encoding="utf-8")
        files.append(path)
    result = check_jsonschema(folder, *files)
    failed = {Path(e["filename"]).name for e in json.loads(result.stdout)["errors"]}
    monkeypatch.chdir(tmp_path)
    seen = []
    for index, (case, *_) in enumerate(PLAIN_FIELDS):
        reconciler_ok = run_cli("validate", "--env", "dev", files[index].name).exit_code == 0
        seen.append((case, files[index].name not in failed, reconciler_ok))
    assert seen == [(case, accepted, accepted) for case, *_, accepted in PLAIN_FIELDS]
