"""An empty secret is refused before the first write, naming the variable: never a partial apply."""

from __future__ import annotations

import pytest
from e2e_kit import SHIPPED, RunCli, Tenant

pytestmark = pytest.mark.e2e


def test_an_empty_secret_stops_apply_before_any_write(
    tenant: Tenant, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNOWFLAKE_ADMIN_PASSWORD", "")

    result = run_cli("apply", "--auto-approve", str(SHIPPED))

    assert result.exit_code == 1
    assert (
        f"{SHIPPED / 'snowflake-prod.yaml'}:26:3: $.config.password: ${{env:SNOWFLAKE_ADMIN_PASSWORD}} is empty: "
        "a secret needs a value"
    ) in result.stderr
    assert tenant.sandbox.writes() == []
