"""The lifecycle under a sample of server dialects that covers every pair of values of ALL the simulator's
switches — the integration switches of docs/immuta-api.md §8 and §9 and the connection switches of §10.6, a
missing and a failing `/data` API included (issue 21) — over real HTTP on 127.0.0.1.

`pairwise.all_pairs` draws the combinations from `SWITCHES` itself, so a new switch or value joins the matrix by
itself. Every tenant but those without the `/data` API holds a Snowflake and a Databricks connection (and nine
Glue ones, so the search pages), with their native integrations. In each combination: the seven shipped files
applied (the Snowflake file's lineage compared, so a tenant whose lineage default differs from the schema's must
settle at once) → `plan` empty → one field edited → `apply` → `plan` empty → a defaulted field removed from a
file (Immuta goes back to the default) → `apply` → `plan` empty → a manual integration turned into a tombstone →
`apply` → `plan` empty → `drift` clean → Databricks `groupPattern` removed from its file: gone on a tenant whose
PUT replaces, named plainly (exit 1, never "Verified") on one whose PUT merges, nothing to do on one that does
not report it. Where the tenant's token exchange takes the API key only in the header or only in the body
(§9.13), the reconciler calls with a bearer token from that form.

Where `/data` fails, the reconciler fails closed by design (§10.5): the Snowflake, Databricks and Trino files
are never written, every plan says why and names each file it left out, apply exits 1 saying three files wait,
and the other four types go through the same lifecycle (a Redshift edit stands in for the Snowflake ones).

In every run: zero writes to an integration behind a connection or under `/data` (the simulator's record), no
POST after the first apply and no DELETE but the tombstone's, no id changes unless the plan said replace, no
duplicate, no secret or unknown server value in any output, and apply's verification agrees with the next plan.

The reconciler runs in process (tests/conftest.py's `run_cli`), the simulator in a server thread with 10 ms
provisioning.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import MakeTenant
from e2e_kit import KEY, SHIPPED_SECRETS, RunCli, Tenant, edit, tombstone
from pairwise import all_pairs, row_id, uncovered_pairs

from reconciler.sandbox.dialects import SWITCH_BY_NAME, SWITCHES, Dialect
from reconciler.sandbox.seeding import add_connection, connection_writes

SERVER_FIELDS = {"id", "status", "validationResults", "type", "autoBootstrap", "config"}
GROUP_PATTERN = (
    "  groupPattern:\n    deny: immuta_exempt          # members of this group are exempt from Immuta's policies\n"
)
ALL_TYPES = ["Azure Synapse Analytics", "Databricks", "Google BigQuery", "Native S3", "Redshift", "Snowflake", "Trino"]
CONNECTION_TYPES = ("Databricks", "Snowflake", "Trino")  # never written while ownership is unknown (§10.5)
CONNECTION_SECRETS = {"snowflake": "conn-snowflake-e2e-secret", "databricks": "conn-databricks-e2e-secret"}
SNOWFLAKE_CONNECTION = "Snowflake[host=conn.snowflakecomputing.com]"
DATABRICKS_CONNECTION = "Databricks[workspaceUrl=dbc-conn.cloud.databricks.com]"
WITHHELD = "error: 3 file(s) not applied: the tenant's connections could not be checked (see the notes)\n"
FAILING = SWITCH_BY_NAME["data_api"].failing
ROWS = all_pairs(SWITCHES)


def test_the_sample_covers_every_pair_of_switch_values() -> None:
    assert uncovered_pairs(SWITCHES, ROWS) == []
    assert {s.name for s in SWITCHES} >= {"defaults", "put", "search_answer", "databricks_key", "data_api"}
    assert set(SWITCH_BY_NAME["data_api"].values) == {"available", "absent", *FAILING}  # every /data value drawn
    widest = sorted(len(s.values) for s in SWITCHES)[-2:]
    assert widest[0] * widest[1] <= len(ROWS) <= 2 * widest[0] * widest[1]  # near the least possible
    assert all_pairs(SWITCHES) == ROWS  # deterministic


def seed_connections(tenant: Tenant) -> dict[str, str]:
    """A Snowflake and a Databricks connection with their native integrations (on accounts no shipped file
    names), and nine Glue connections without one: the ids behind connections, with their labels."""
    snowflake = {
        "type": "Snowflake",
        "config": {
            "host": "conn.snowflakecomputing.com",
            "warehouse": "CONN_WH",
            "database": "IMMUTA_CONN",
            "authenticationType": "userPassword",
            "username": "conn_user",
            "password": CONNECTION_SECRETS["snowflake"],
        },
    }
    databricks = {
        "type": "Databricks",
        "config": {
            "workspaceUrl": "dbc-conn.cloud.databricks.com",
            "httpPath": "/sql/1.0/warehouses/conn",
            "authenticationType": "token",
            "token": CONNECTION_SECRETS["databricks"],
            "catalog": "immuta_conn",
        },
    }
    ids = {
        str(add_connection(tenant.sandbox, "snow_conn", "Snowflake", snowflake)): SNOWFLAKE_CONNECTION,
        str(add_connection(tenant.sandbox, "dbx_conn", "Databricks", databricks)): DATABRICKS_CONNECTION,
    }
    for number in range(9):
        add_connection(tenant.sandbox, f"glue_{number}", "Glue")
    tenant.sandbox.reset_requests()
    return ids


def exchange(tenant: Tenant, form: str) -> str:
    """A bearer token from `POST /bim/apikey/authenticate`, the API key in the header or in the body."""
    request = {"header": {"headers": {"Authorization": KEY}}, "body": {"json": {"apikey": KEY}}}[form]
    answer = httpx.post(f"{tenant.url}/bim/apikey/authenticate", timeout=10, **request)
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["token"]
    return token


def fails_closed(row: dict[str, str]) -> bool:
    """Whether the reconciler cannot read the connections under `row`, and so must leave the Snowflake,
    Databricks and Trino files out (§10.5). A `count` its pages never reach (`short`) needs a paged answer: a
    tenant answering a bare array of every object (`search_answer=array`, C2) has no `count` to fall short of."""
    if row["data_api"] == "short":
        return row["search_answer"] == "paged"
    return row["data_api"] in FAILING


class Run:
    """Runs reconciler commands against one tenant, checking what every run must hold."""

    def __init__(self, run_cli: RunCli, tenant: Tenant, files: Path, behind: dict[str, str], closed: bool) -> None:
        self.run_cli = run_cli
        self.tenant = tenant
        self.files = files
        self.behind = behind  # the integrations behind connections: id → label
        self.closed = closed  # /data fails: the connection types' files are left out of every plan
        self.outputs: list[str] = []
        self.ids = self.current_ids()

    def command(self, *args: str) -> Any:
        result = self.run_cli(*args)
        self.outputs.append(result.stdout + result.stderr)
        return result

    def current_ids(self) -> dict[str, str]:
        """The ids of the integrations the files manage, by type: each type once."""
        listed = [r for r in self.tenant.sandbox.list_integrations() if str(r["id"]) not in self.behind]
        counts = Counter(record["type"] for record in listed)
        assert all(n == 1 for n in counts.values()), f"duplicate integrations: {counts}"
        return {record["type"]: str(record["id"]) for record in listed}

    def apply(self) -> None:
        """`apply`, then `plan`: empty, and apply's verification said so too; ids kept unless replaced."""
        result = self.command("apply", str(self.files), "--auto-approve")
        replaced = {_type_of(line) for line in result.stdout.splitlines() if line.lstrip().startswith("-/+ ")}
        converged = "Did not converge" not in result.stdout + result.stderr
        follow = self.command("plan", str(self.files), "--detailed-exitcode")
        disagree = f"apply's verification and the next plan disagree:\n{result.stdout}\n{follow.stdout}"
        assert (follow.exit_code == 0) == converged, disagree
        if self.closed:  # the other types applied; the three files wait for the connections, and CI shows it
            assert result.exit_code == 1, result.stdout + result.stderr
            assert result.stderr.endswith(WITHHELD), result.stderr
        else:
            assert result.exit_code == 0, result.stdout + result.stderr
        assert follow.exit_code == 0, follow.stdout + follow.stderr
        for output in (result.stdout, follow.stdout):
            self.says_why(output)
        after = self.current_ids()
        for type_name, id_ in self.ids.items():
            if type_name in after and type_name not in replaced:
                assert after[type_name] == id_, f"{type_name} got a new id without a planned replace"
        self.ids = after

    def says_why(self, output: str) -> None:
        """Fail closed: the plan says why, and names each file it leaves out; otherwise it leaves none out."""
        if not self.closed:
            assert "Not planned, ownership unknown" not in output, output
            if not self.behind:  # a tenant without the /data API
                assert "Note: Connections not checked: this tenant has no connections API (/data answered 404)." in (
                    output
                )
            for id_, label in self.behind.items():
                assert f"Note: connection-managed (read-only): {label} (id {id_}) belongs to connection " in output
            return
        assert "Connections could not be checked (" in output, output
        assert "no Snowflake, Databricks or Trino integration is written or deleted in this run." in output
        for name, label in (
            ("snowflake-prod.yaml", "Snowflake[host=acme.us-east-1.snowflakecomputing.com]"),
            ("databricks-analytics.yaml", "Databricks[workspaceUrl=dbc-a1b2c3d4-e5f6.cloud.databricks.com]"),
            ("trino.yaml", "Trino"),
        ):
            assert f"Not planned, ownership unknown: {self.files / name} ({label})." in output, output

    def nothing_shown_that_must_not_be(self) -> None:
        """No secret (the files', the connections', Trino's API key), no value of a field the schemas do not
        know."""
        secrets = [*SHIPPED_SECRETS.values(), *CONNECTION_SECRETS.values()]
        api_keys = [i.api_key for i in self.tenant.sandbox.tenant._state.integrations.values() if i.api_key]
        unknown = [str(v) for r in self.tenant.sandbox.list_integrations() for v in _unknown_values(r)]
        for output in self.outputs:
            for value in [*secrets, *api_keys, *(u for u in unknown if len(u) >= 8)]:
                assert value not in output

    def nothing_written_behind_a_connection(self) -> None:
        """The simulator's record: no write reached an integration behind a connection, nor `/data`."""
        assert connection_writes(self.tenant.sandbox) == []
        touched = {
            e.path.split("/")[2]
            for e in self.tenant.sandbox.exchanges
            if e.method != "GET" and e.path.startswith("/integrations/")
        }
        assert touched.isdisjoint(self.behind), touched & set(self.behind)


def _unknown_values(record: dict[str, Any]) -> list[Any]:
    extra = [v for k, v in record.items() if k not in SERVER_FIELDS]
    config = record.get("config") or {}
    return extra + [v for k, v in config.items() if k in ("connectArgs", "createdAt", "apiKey")]


def _type_of(line: str) -> str:
    """`  -/+ Snowflake[host=…]  (id 3, …)` → `Snowflake`."""
    return line.lstrip()[4:].split("[")[0].split("  ")[0].strip()


@pytest.fixture(autouse=True)
def quick_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Provisioning takes 10 ms here: apply's status polling need not wait its real interval."""
    real_sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda seconds: real_sleep(min(seconds, 0.02)))


# A row runs a whole lifecycle (about 15 CLI runs over HTTP): 3-8 s alone, several times that beside the rest of
# the suite on 2 loaded cores, so its bound is 180 s rather than the suite's 60.
@pytest.mark.timeout(180)
@pytest.mark.parametrize("row", [pytest.param(row, id=f"{n:02d}:{row_id(row)}") for n, row in enumerate(ROWS)])
def test_lifecycle_under_dialect(
    row: dict[str, str], make_tenant: MakeTenant, files: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialect = Dialect.of(row)
    closed = fails_closed(row)
    if row["data_api"] in ("timeout", "dropped"):  # the search stalls, or is retried until the call's deadline
        monkeypatch.setenv("IMMUTA_TIMEOUT", "1")
    tenant = make_tenant(provisioning_seconds=0.01, dialect=dialect)
    if row["token_request"] != "either":  # the reconciler calls with a bearer token from that form (§9.13)
        monkeypatch.setenv("IMMUTA_TOKEN", exchange(tenant, row["token_request"]))
        monkeypatch.delenv("IMMUTA_API_KEY")
    behind = seed_connections(tenant) if row["data_api"] != "absent" else {}  # no /data, no connections
    edit(files / "snowflake-prod.yaml", "  ignoreChanges: [config.lineage]", "  ignoreChanges: []")
    run = Run(run_cli, tenant, files, behind, closed)
    written = [t for t in ALL_TYPES if not (closed and t in CONNECTION_TYPES)]

    run.apply()  # every file's integration created (those it may write), then plan empty
    assert sorted(run.ids) == written
    created = len(tenant.sandbox.writes())
    if not closed:
        assert tenant.sandbox.payload(run.ids["Snowflake"])["config"]["lineage"]["enabled"] is False  # the schema's

        edit(files / "snowflake-prod.yaml", "  warehouse: IMMUTA_WH\n", "  warehouse: IMMUTA_WH_2\n")
        run.apply()
        assert tenant.sandbox.payload(run.ids["Snowflake"])["config"]["warehouse"] == "IMMUTA_WH_2"

        edit(files / "snowflake-prod.yaml", "  audit:\n    enabled: true\n", "")
        run.apply()
        assert tenant.sandbox.payload(run.ids["Snowflake"])["config"]["audit"] == {"enabled": False}  # the default
    else:  # the Snowflake edit waits for the connections; an edit of another type goes through
        edit(files / "snowflake-prod.yaml", "  warehouse: IMMUTA_WH\n", "  warehouse: IMMUTA_WH_2\n")
        edit(files / "redshift-warehouse.yaml", "  username: immuta_bootstrap\n", "  username: immuta_bootstrap_2\n")
        run.apply()
        assert tenant.sandbox.payload(run.ids["Redshift"])["config"]["username"] == "immuta_bootstrap_2"
        assert "Snowflake" not in run.ids

    bigquery = run.ids["Google BigQuery"]
    tombstone(files / "bigquery-marketing.yaml")
    run.apply()
    assert "Google BigQuery" not in run.ids

    drift = run.command("drift", str(run.files))
    assert drift.exit_code == 0, drift.stdout + drift.stderr

    if not closed:
        databricks = run.ids["Databricks"]
        listed = {str(r["id"]): r for r in tenant.sandbox.list_integrations()}  # what GET reports
        reported = "groupPattern" in listed[databricks]["config"]
        edit(files / "databricks-analytics.yaml", GROUP_PATTERN, "")
        if not reported or dialect["put"] == "replace":
            run.apply()
            assert "groupPattern" not in tenant.sandbox.payload(databricks)["config"] or not reported
        else:
            merged = run.command("apply", str(run.files), "--auto-approve")
            assert merged.exit_code == 1 and "Verified" not in merged.stdout, merged.stdout
            assert "config.groupPattern.deny: removed from the file, still in Immuta" in merged.stdout
            assert run.command("plan", str(run.files), "--detailed-exitcode").exit_code == 2

    later = tenant.sandbox.writes()[created:]
    assert [w for w in later if w.method == "POST"] == []  # nothing re-created
    assert [w.path for w in later if w.method == "DELETE"] == [f"/integrations/{bigquery}"]  # the tombstone only
    if closed:
        created_types = {w.body["type"] for w in tenant.sandbox.writes() if w.path == "/integrations"}
        assert created_types == set(written)  # never a Snowflake, Databricks or Trino
    run.nothing_shown_that_must_not_be()
    run.nothing_written_behind_a_connection()
