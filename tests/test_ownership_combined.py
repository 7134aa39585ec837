"""Issue 19: the ownership gate (reconciler/ownership.py, with discovery in reconciler/client/connections.py)
against answers an attacker in the middle, or a broken proxy, could give: ownership is known only when every
answer was read as the contract says; anything else holds the connection types (fail closed)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from reconciler.client.connections import discover
from reconciler.errors import ApiError, NotFoundError
from reconciler.sandbox.api import Sandbox
from reconciler.sandbox.seeding import add_connection

REPO = Path(__file__).resolve().parent.parent
REFERENCES = (
    "BIGQUERY_IMMUTA_SA_KEY",
    "DATABRICKS_OAUTH_CLIENT_SECRET",
    "REDSHIFT_BOOTSTRAP_PASSWORD",
    "S3_IMMUTA_ACCESS_KEY_ID",
    "S3_IMMUTA_SECRET_ACCESS_KEY",
    "SNOWFLAKE_ADMIN_PASSWORD",
    "SYNAPSE_IMMUTA_PASSWORD",
)
CONNECTED = {
    "type": "Snowflake",
    "config": {
        "host": "conn.snowflakecomputing.com",
        "warehouse": "W",
        "database": "D",
        "authenticationType": "userPassword",
        "username": "u",
        "password": "p",
        "role": "R",
    },
}


def test_a_404_after_a_first_page_is_not_a_tenant_without_connections() -> None:
    """Only a 404 on the first search means there is no connections API (C5): once a page answered, a 404 on
    the next one would otherwise make the connections of the first page writable."""
    pages: list[Any] = [{"count": 2, "hits": [{"objectPath": ["snow"], "technology": "Snowflake"}]}]

    def read(method: str, path: str, body: Mapping[str, Any] | None) -> Any:
        if pages:
            return pages.pop(0)
        raise NotFoundError(method, path, 404, "Not Found")

    with pytest.raises(ApiError) as raised:
        discover(read)
    assert str(raised.value) == "POST /data/object/search?offset=1&size=10 → 404: Not Found"


def test_a_rename_from_a_connection_backed_integration_is_refused(
    tmp_path: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lifecycle.previously` naming what a connection holds would be a rename of it (a delete the client
    refuses mid-apply, or a silent create beside it): the file is refused before anything is planned."""
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    for name in REFERENCES:
        monkeypatch.setenv(name, f"{name.lower()}-value")
    native = add_connection(Sandbox(state_file=tmp_path / "state.json"), "snow_conn", "Snowflake", CONNECTED)
    document = tmp_path / "integrations.d" / "snowflake-prod.yaml"
    text = document.read_text(encoding="utf-8").replace("preventDestroy: true", "preventDestroy: false")
    document.write_text(text + "  previously:\n    host: conn.snowflakecomputing.com\n", encoding="utf-8")

    for args in (("plan",), ("apply", "--auto-approve")):
        result = run_cli(*args, "--sandbox", "--sandbox-state", "state.json")

        assert (result.exit_code, result.stdout) == (3, ""), args
        assert result.stderr == (
            "refused: nothing was planned: these files name what Immuta holds for a connection:\n"
            "  integrations.d/snowflake-prod.yaml:36:3: lifecycle.previously names "
            f"Snowflake[host=conn.snowflakecomputing.com], integration {native}, connection-managed (read-only): it "
            "belongs to connection snow_conn, and a rename would delete it. Manage it as a connection in Immuta "
            "(PUT /data/connection/…), and remove lifecycle.previously.\n"
        )
    state = json.loads((tmp_path / "state.json").read_text(encoding="utf-8"))
    assert sorted(state["integrations"]) == [native]
