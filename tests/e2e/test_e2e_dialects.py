"""The lifecycle under a sample of server dialects that covers every pair of switch values (docs/immuta-api.md
§8 and §9, issue 21), over real HTTP on 127.0.0.1.

`all_pairs` (below, deterministic greedy pairwise) draws the combinations from `SWITCHES` itself, so a new
switch joins the matrix by itself. In each combination: the seven shipped integrations created (the Snowflake
file's lineage compared, so a tenant whose lineage default differs from the schema's must settle at once) →
`plan` empty → one field edited → `apply` → `plan` empty → a defaulted field removed from a file (Immuta goes
back to the default) → `apply` → `plan` empty → a manual integration turned into a tombstone → `apply` →
`plan` empty → `drift` clean → Databricks `groupPattern` removed from its file: gone on a tenant whose PUT
replaces, named plainly (exit 1, never "Verified") on one whose PUT merges, nothing to do on one that does
not report it. In every run: no POST after the first apply and no DELETE but the tombstone's, no id changes
unless the plan said replace, no duplicate, no secret or unknown server value in any output, and apply's
verification agrees with the next plan.

The reconciler runs in process (tests/conftest.py's `run_cli`), the simulator in a server thread with 10 ms
provisioning.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import MakeTenant
from e2e_kit import SHIPPED_SECRETS, RunCli, Tenant, edit, tombstone

from reconciler.sandbox.dialects import Dialect, Switch, lifecycle_switches

SERVER_FIELDS = {"id", "status", "validationResults", "type", "autoBootstrap", "config"}
GROUP_PATTERN = (
    "  groupPattern:\n    deny: immuta_exempt          # members of this group are exempt from Immuta's policies\n"
)

Pair = tuple[tuple[int, str], tuple[int, str]]


def all_pairs(switches: Sequence[Switch]) -> list[dict[str, str]]:
    """Combinations covering every pair of values of two switches, few of them: each starts from the first
    pair not yet covered, then gives every other switch the value covering most new pairs with the values
    already chosen (the first such value on a tie). Deterministic: the same switches, the same rows."""
    uncovered: set[Pair] = {
        ((i, a), (j, b))
        for i, j in itertools.combinations(range(len(switches)), 2)
        for a in switches[i].values
        for b in switches[j].values
    }
    rows: list[dict[str, str]] = []
    while uncovered:
        (i, a), (j, b) = min(uncovered)
        chosen = {i: a, j: b}
        for k, switch in enumerate(switches):
            if k not in chosen:
                chosen[k] = max(switch.values, key=lambda v, k=k: _gain(uncovered, chosen, k, v))
        uncovered -= {((p, chosen[p]), (q, chosen[q])) for p, q in itertools.combinations(range(len(switches)), 2)}
        rows.append({switches[k].name: value for k, value in sorted(chosen.items())})
    return rows


def _gain(uncovered: set[Pair], chosen: dict[int, str], k: int, value: str) -> int:
    return sum(
        ((min(p, k), v if p < k else value), (max(p, k), value if p < k else v)) in uncovered for p, v in chosen.items()
    )


SWITCHES = lifecycle_switches()  # a failing /data (C5) fails closed by design: tests/e2e/test_e2e_connections.py
ROWS = all_pairs(SWITCHES)


def test_the_sample_covers_every_pair_of_switch_values() -> None:
    for first, second in itertools.combinations(SWITCHES, 2):
        for a, b in itertools.product(first.values, second.values):
            assert any(row[first.name] == a and row[second.name] == b for row in ROWS), (first.name, a, second.name, b)
    widest = sorted(len(s.values) for s in SWITCHES)[-2:]
    assert len(ROWS) <= 2 * widest[0] * widest[1]  # near the least possible, the two widest switches' product


class Run:
    """Runs reconciler commands against one tenant, checking what every run must hold."""

    def __init__(self, run_cli: RunCli, tenant: Tenant, files: Path) -> None:
        self.run_cli = run_cli
        self.tenant = tenant
        self.files = str(files)
        self.outputs: list[str] = []
        self.ids = self.current_ids()

    def command(self, *args: str) -> Any:
        result = self.run_cli(*args)
        self.outputs.append(result.stdout + result.stderr)
        return result

    def current_ids(self) -> dict[str, str]:
        listed = self.tenant.sandbox.list_integrations()
        counts = Counter(record["type"] for record in listed)
        assert all(n == 1 for n in counts.values()), f"duplicate integrations: {counts}"
        return {record["type"]: str(record["id"]) for record in listed}

    def apply(self) -> None:
        """`apply`, then `plan`: empty, and apply's verification said so too; ids kept unless replaced."""
        result = self.command("apply", self.files, "--auto-approve")
        replaced = {_type_of(line) for line in result.stdout.splitlines() if line.lstrip().startswith("-/+ ")}
        converged = "Did not converge" not in result.stdout + result.stderr
        follow = self.command("plan", self.files, "--detailed-exitcode")
        disagree = f"apply's verification and the next plan disagree:\n{result.stdout}\n{follow.stdout}"
        assert (follow.exit_code == 0) == converged, disagree
        assert result.exit_code == 0, result.stdout + result.stderr
        assert follow.exit_code == 0, follow.stdout + follow.stderr
        after = self.current_ids()
        for type_name, id_ in self.ids.items():
            if type_name in after and type_name not in replaced:
                assert after[type_name] == id_, f"{type_name} got a new id without a planned replace"
        self.ids = after

    def nothing_shown_that_must_not_be(self) -> None:
        """No secret (the files' nor Trino's API key), no value of a field the schemas do not know."""
        secrets = list(SHIPPED_SECRETS.values())
        api_keys = [i.api_key for i in self.tenant.sandbox.tenant._state.integrations.values() if i.api_key]
        unknown = [str(v) for r in self.tenant.sandbox.list_integrations() for v in _unknown_values(r)]
        for output in self.outputs:
            for value in [*secrets, *api_keys, *(u for u in unknown if len(u) >= 8)]:
                assert value not in output


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


def _id(row: dict[str, str]) -> str:
    return ",".join(f"{name}={value}" for name, value in row.items() if value != Dialect()[name]) or "defaults"


@pytest.mark.parametrize("row", [pytest.param(row, id=f"{n:02d}:{_id(row)}") for n, row in enumerate(ROWS)])
def test_lifecycle_under_dialect(row: dict[str, str], make_tenant: MakeTenant, files: Path, run_cli: RunCli) -> None:
    dialect = Dialect.of(row)
    tenant = make_tenant(provisioning_seconds=0.01, dialect=dialect)
    edit(files / "snowflake-prod.yaml", "  ignoreChanges: [config.lineage]", "  ignoreChanges: []")
    run = Run(run_cli, tenant, files)

    run.apply()  # all seven created, then plan empty
    assert sorted(run.ids) == [
        "Azure Synapse Analytics",
        "Databricks",
        "Google BigQuery",
        "Native S3",
        "Redshift",
        "Snowflake",
        "Trino",
    ]
    assert tenant.sandbox.payload(run.ids["Snowflake"])["config"]["lineage"]["enabled"] is False  # the schema's
    created = len(tenant.sandbox.writes())

    edit(files / "snowflake-prod.yaml", "  warehouse: IMMUTA_WH\n", "  warehouse: IMMUTA_WH_2\n")
    run.apply()
    assert tenant.sandbox.payload(run.ids["Snowflake"])["config"]["warehouse"] == "IMMUTA_WH_2"

    edit(files / "snowflake-prod.yaml", "  audit:\n    enabled: true\n", "")
    run.apply()
    assert tenant.sandbox.payload(run.ids["Snowflake"])["config"]["audit"] == {"enabled": False}  # the default

    bigquery = run.ids["Google BigQuery"]
    tombstone(files / "bigquery-marketing.yaml")
    run.apply()
    assert "Google BigQuery" not in run.ids

    drift = run.command("drift", run.files)
    assert drift.exit_code == 0, drift.stdout + drift.stderr

    databricks = run.ids["Databricks"]
    reported = "groupPattern" in tenant.sandbox.by_type()["Databricks"]["config"]
    edit(files / "databricks-analytics.yaml", GROUP_PATTERN, "")
    if not reported or dialect["put"] == "replace":
        run.apply()
        assert "groupPattern" not in tenant.sandbox.payload(databricks)["config"] or not reported
    else:
        merged = run.command("apply", run.files, "--auto-approve")
        assert merged.exit_code == 1 and "Verified" not in merged.stdout, merged.stdout
        assert "config.groupPattern.deny: removed from the file, still in Immuta" in merged.stdout
        assert run.command("plan", run.files, "--detailed-exitcode").exit_code == 2

    later = tenant.sandbox.writes()[created:]
    assert [w for w in later if w.method == "POST"] == []  # nothing re-created
    assert [w.path for w in later if w.method == "DELETE"] == [f"/integrations/{bigquery}"]  # the tombstone only
    run.nothing_shown_that_must_not_be()
