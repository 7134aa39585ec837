"""`reconciler schema`: the installed schema files, printed as they are, for editors and scripts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

RunCli = Callable[..., Any]  # tests/conftest.py's `run_cli`


SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
TYPES = ["Snowflake", "Databricks", "Redshift", "Azure Synapse Analytics", "Google BigQuery", "Native S3", "Trino"]


def test_list_names_every_type_one_a_line(run_cli: RunCli) -> None:
    result = run_cli("schema", "--list")

    assert (result.exit_code, result.stdout, result.stderr) == (0, "\n".join(TYPES) + "\n", "")


def test_without_a_type_it_prints_the_entry_schema(run_cli: RunCli) -> None:
    result = run_cli("schema")

    assert result.exit_code == 0
    printed = json.loads(result.stdout)
    written = json.loads((SCHEMAS / "integration.schema.json").read_text(encoding="utf-8"))
    # The file as written, completed with the dispatch on `type` the reconciler writes from the type schemas.
    assert {name: value for name, value in printed.items() if name != "allOf"} == written
    assert printed["allOf"][0] == {
        "if": {"properties": {"type": {"const": "Snowflake"}}, "required": ["type"]},
        "then": {
            "if": {"properties": {"ensure": {"const": "absent"}}, "required": ["ensure"]},
            "then": {"$ref": "snowflake.schema.json#/$defs/tombstone"},
            "else": {"$ref": "snowflake.schema.json"},
        },
    }
    assert len(printed["allOf"]) == 2 * len(TYPES)  # per type: its schema, and what `previously` may name


def test_a_type_prints_that_types_schema(run_cli: RunCli) -> None:
    result = run_cli("schema", "Native S3")

    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads((SCHEMAS / "native-s3.schema.json").read_text(encoding="utf-8"))


def test_an_unknown_type_is_a_usage_error_listing_the_types(run_cli: RunCli) -> None:
    result = run_cli("schema", "Postgres")

    assert result.exit_code == 64
    assert result.stdout == ""
    assert result.stderr.endswith(f"Error: Invalid value: unknown type 'Postgres'; one of: {', '.join(TYPES)}\n")
