"""The lifecycle under every server dialect (docs/immuta-api.md §8, issue 10.2), over real HTTP on 127.0.0.1.

For every value of every switch, and for the sparse and rich profiles: the seven shipped integrations
created → `plan` empty → one field edited → `apply` → `plan` empty → a field removed from a file (Immuta goes
back to the default) → `apply` → `plan` empty → a manual integration turned into a tombstone → `apply` →
`plan` empty → `drift` clean. In every run: no id changes unless the plan said replace, no duplicate, no
secret in any output, and apply's verification agrees with the next plan.

The reconciler runs in process (tests/conftest.py's `run_cli`), the simulator in a server thread with 10 ms
provisioning. Every case passes because the diff follows the comparison rules (README, "What is compared").
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import MakeTenant
from e2e_kit import SHIPPED_SECRETS, RunCli, Tenant, edit, tombstone

from reconciler.sandbox.dialects import Dialect, all_cases

NOT_SECRETS = {"SNOWFLAKE_ADMIN_USER"}  # a user name, kept out of Git by the example but printed freely


def cases() -> list[Any]:
    return [pytest.param(case, id=",".join(case)) for case in all_cases()]


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

    def no_secret_leaked(self) -> None:
        secrets = [v for k, v in SHIPPED_SECRETS.items() if k not in NOT_SECRETS]
        api_keys = [i.api_key for i in self.tenant.sandbox.tenant._state.integrations.values() if i.api_key]
        for output in self.outputs:
            for value in [*secrets, *api_keys]:
                assert value not in output


def _type_of(line: str) -> str:
    """`  -/+ Snowflake[host=…]  (id 3, …)` → `Snowflake`."""
    return line.lstrip()[4:].split("[")[0].split("  ")[0].strip()


@pytest.fixture(autouse=True)
def quick_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Provisioning takes 10 ms here: apply's status polling need not wait its real interval (0.5 s today)."""
    real_sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda seconds: real_sleep(min(seconds, 0.02)))


@pytest.mark.parametrize("case", cases())
def test_lifecycle_under_dialect(case: tuple[str, ...], make_tenant: MakeTenant, files: Path, run_cli: RunCli) -> None:
    tenant = make_tenant(provisioning_seconds=0.01, dialect=Dialect.from_assignments(case))
    # Lineage compared too: a tenant whose lineage default differs from the schema's (defaults=many) settles.
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

    edit(files / "snowflake-prod.yaml", "  warehouse: IMMUTA_WH\n", "  warehouse: IMMUTA_WH_2\n")
    run.apply()
    assert tenant.sandbox.payload(run.ids["Snowflake"])["config"]["warehouse"] == "IMMUTA_WH_2"

    edit(files / "snowflake-prod.yaml", "  audit:\n    enabled: true\n", "")
    run.apply()
    assert tenant.sandbox.payload(run.ids["Snowflake"])["config"]["audit"] == {"enabled": False}  # the default

    tombstone(files / "bigquery-marketing.yaml")
    run.apply()
    assert "Google BigQuery" not in run.ids

    drift = run.command("drift", run.files)
    assert drift.exit_code == 0, drift.stdout + drift.stderr
    run.no_secret_leaked()
