"""A16 under both of its dialects (docs/immuta-api.md §8): a tenant that wants DELETE's privileged credentials at the
top level, and one that wants them under `config`. Either way the tombstone deletes, and only once."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import MakeTenant
from e2e_kit import SHIPPED_SECRETS, RunCli, tombstone

from reconciler.sandbox.dialects import Dialect

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("where", ["top", "config"])
def test_a_tombstone_of_an_automatically_bootstrapped_integration_deletes(
    where: str, make_tenant: MakeTenant, files: Path, run_cli: RunCli
) -> None:
    tenant = make_tenant(provisioning_seconds=0.01, dialect=Dialect.from_assignments([f"delete_credentials={where}"]))
    created = run_cli("apply", "--auto-approve", str(files))
    assert created.exit_code == 0, created.stdout + created.stderr
    tombstone(files / "snowflake-prod.yaml", keep=("username", "password", "role"))

    result = run_cli("apply", "--auto-approve", str(files))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Apply: 1 succeeded, 0 failed, 0 refused." in result.stdout
    assert "Snowflake" not in tenant.sandbox.by_type()
    deletes = [e for e in tenant.sandbox.writes() if e.method == "DELETE"]
    assert [e.status for e in deletes] == ([200] if where == "top" else [400, 200])
    sent = deletes[-1].body if where == "top" else deletes[-1].body["config"]
    assert sent["password"] == SHIPPED_SECRETS["SNOWFLAKE_ADMIN_PASSWORD"]
    assert SHIPPED_SECRETS["SNOWFLAKE_ADMIN_PASSWORD"] not in result.stdout + result.stderr
