"""Adding an integration type is its schema, its example, the simulator's contract entry and tests (README,
"Adding a type"): a throwaway type, from a temporary schema folder and an entry registered in the simulator's
contract table, goes through the whole lifecycle with no other change to the code.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox import contract
from reconciler.sandbox.fields import TypeContract, port, secret, text
from reconciler.validation import schema

RunCli = Callable[..., Any]  # the `run_cli` fixture of conftest.py
SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"

# Step 1: the type's schema, with its rules as keywords (natural key, immutable fields, key comparison).
THROWAWAY_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://reconciler.dev/schemas/throwaway-store.schema.json",
    "title": "Throwaway Store integration",
    "x-naturalKey": ["config.host"],
    "x-immutable": ["config.host"],
    "x-key-compare": {"config.host": "host"},
    "type": "object",
    "properties": {
        "type": {"const": "Throwaway Store"},
        "autoBootstrap": {"const": False},
        "config": {
            "type": "object",
            "properties": {
                "host": {"type": "string", "minLength": 1},
                "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 7000},
                "token": {"type": "string", "writeOnly": True},
            },
            "required": ["host", "token"],
        },
    },
    "required": ["type", "autoBootstrap", "config"],
    "$defs": {"tombstone": {"properties": {"config": {"required": ["host"]}}, "required": ["type", "config"]}},
}
# Step 3: the simulator's own reading of the same type.
THROWAWAY_CONTRACT = TypeContract(
    "Throwaway Store",
    {"host": text(required=True), "port": port(7000), "token": secret(required=True)},
    natural_key=("config.host",),
    immutable=("config.host",),
    auto_bootstrap="false",
)
TOKEN = "throwaway-token-4f1c9e"  # a real-looking secret value: it must reach the server and no output


@pytest.fixture
def throwaway_type(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, folder)
    (folder / "throwaway-store.schema.json").write_text(json.dumps(THROWAWAY_SCHEMA), encoding="utf-8")
    entry = json.loads((folder / "integration.schema.json").read_text(encoding="utf-8"))
    entry["properties"]["type"]["enum"].append("Throwaway Store")  # the type's name in the entry's list
    (folder / "integration.schema.json").write_text(json.dumps(entry), encoding="utf-8")
    monkeypatch.setattr(schema, "_schema_folder", lambda: folder)
    monkeypatch.setitem(contract.TYPES, "Throwaway Store", THROWAWAY_CONTRACT)
    schema.load.cache_clear()
    yield folder
    schema.load.cache_clear()


def _write(repo: Path, port_number: int) -> None:
    files = repo / "integrations.d"
    files.mkdir(exist_ok=True)
    # Step 2: its example.
    (files / "store.yaml").write_text(
        "type: Throwaway Store\nautoBootstrap: false\n"
        f"config:\n  host: Store.Example.com\n  port: {port_number}\n  token: ${{env:STORE_TOKEN}}\n",
        encoding="utf-8",
    )


def test_a_type_added_from_its_schema_goes_through_the_lifecycle(
    throwaway_type: Path, tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.chdir(repo)
    monkeypatch.setenv("STORE_TOKEN", TOKEN)
    _write(repo, 7001)
    outputs: list[str] = []

    def run(*args: str) -> tuple[int, str]:
        result = run_cli(*args)
        outputs.extend([result.stdout, result.stderr])
        return result.exit_code, result.stdout

    assert run("schema", "--list")[1].splitlines()[-1] == "Throwaway Store"
    code, _ = run("validate")
    assert (code, outputs[-1]) == (0, "1 file(s), 1 integration(s): valid (0 error(s), 0 warning(s))\n")

    code, planned = run("plan", "--sandbox", "--detailed-exitcode")
    assert code == 2
    assert (
        "  + Throwaway Store[host=Store.Example.com]  (integrations.d/store.yaml:4) — needs the setup script first"
        in planned
    )
    assert planned.endswith("Plan: 1 to create, 0 to update, 0 to replace, 0 to delete, 0 unchanged.\n")
    assert run("apply", "--sandbox", "--auto-approve")[0] == 0
    assert run("plan", "--sandbox", "--detailed-exitcode")[0] == 0  # settled: the server's answer compares equal

    _write(repo, 7002)  # a field the type can change: an update in place
    code, planned = run("plan", "--sandbox", "--detailed-exitcode")
    assert code == 2
    assert planned.endswith("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete, 0 unchanged.\n")
    assert run("apply", "--sandbox", "--auto-approve")[0] == 0
    assert run("plan", "--sandbox", "--detailed-exitcode")[0] == 0

    state = json.loads((repo / ".reconciler" / "sandbox.json").read_text(encoding="utf-8"))
    [stored] = state["integrations"].values()
    assert (stored["type"], stored["config"], list(stored["secrets"])) == (
        "Throwaway Store",
        {"host": "Store.Example.com", "port": 7002},
        ["config.token"],  # the secret was sent (the state file keeps no secret's value) ...
    )
    assert not any(TOKEN in output for output in outputs)  # ... and no output shows it


def test_a_type_validates_with_the_rules_of_its_schema(throwaway_type: Path, tmp_path: Path, run_cli: RunCli) -> None:
    files = tmp_path / "integrations.d"
    files.mkdir()
    (files / "store.yaml").write_text(
        "type: Throwaway Store\nautoBootstrap: false\nconfig:\n  host: a.example.com\n  token: literal\n",
        encoding="utf-8",
    )
    (files / "same.yaml").write_text(
        "type: Throwaway Store\nautoBootstrap: false\nconfig:\n  host: A.EXAMPLE.COM.\n  port: 0\n  token: ${env:T}\n",
        encoding="utf-8",
    )

    result = run_cli("validate", str(files))

    assert result.exit_code == 1
    assert result.stdout.replace(str(files), "FILES").splitlines() == [
        "FILES/same.yaml:5:3: $.config.port: must be at least 1, not 0",
        "FILES/store.yaml:4:3: $.config.host: Throwaway Store[host=a.example.com] is also declared in "
        "FILES/same.yaml:4; one integration, one file (it writes Throwaway Store[host=A.EXAMPLE.COM.]: host names "
        "compare without regard to letter case or a final dot)",
        "FILES/store.yaml:5:3: $.config.token: is a secret and must not be written in the file: use a reference "
        "such as `token: ${env:STORE_TOKEN}` (or `${file:PATH}`, read inside the repository)",
    ]


@pytest.mark.parametrize(
    ("keyword", "value", "message"),
    [
        ("x-key-compare", {"config.host": "hostname"}, "Throwaway Store: x-key-compare 'config.host': 'hostname' is"),
        ("x-key-compare", {"config.port": "host"}, "Throwaway Store: x-key-compare 'config.port': 'host' is not"),
        (
            "x-delete-credentials",
            {"fields": ["token"], "requiredBy": {"token": ["password"]}},
            "Throwaway Store: x-delete-credentials: requiredBy names a field not in fields",
        ),
        ("x-setup-script", ["pre-flight"], "Throwaway Store: x-setup-script: unknown stage(s) ['pre-flight']"),
    ],
)
def test_a_keyword_that_says_something_unknown_is_refused_when_the_schemas_load(
    keyword: str, value: Any, message: str
) -> None:
    """A contributor's typo in a rule fails loudly, instead of the rule silently taking its default."""
    documents = {doc["$id"]: doc for doc in schema.load().documents.values()}
    entry = documents[schema.ENTRY_ID]
    names = [*entry["properties"]["type"]["enum"], "Throwaway Store"]
    entry = {**entry, "properties": {**entry["properties"], "type": {"enum": names}}}
    documents = {**documents, schema.ENTRY_ID: entry, THROWAWAY_SCHEMA["$id"]: {**THROWAWAY_SCHEMA, keyword: value}}

    with pytest.raises(ValueError, match="^" + re.escape(message)):
        schema.SchemaSet(documents)
