"""A bearer token works whichever way the tenant's token exchange takes the API key (docs/immuta-api.md §9.13):
in the `Authorization` header [doc] or in an `{"apikey": …}` body. The reconciler sends the token it is given
(IMMUTA_TOKEN) as `Authorization: Bearer …`, over real HTTP, and never shows it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from conftest import MakeTenant
from e2e_kit import KEY, RunCli

from reconciler.sandbox.dialects import Dialect


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("form", "request_args"),
    [("header", {"headers": {"Authorization": KEY}}), ("body", {"json": {"apikey": KEY}})],
)
def test_a_token_from_either_form_of_the_exchange_plans_and_applies(
    make_tenant: MakeTenant,
    run_cli: RunCli,
    files: Path,
    monkeypatch: pytest.MonkeyPatch,
    form: str,
    request_args: dict[str, dict[str, str]],
) -> None:
    tenant = make_tenant(dialect=Dialect.of({"token_request": form}))
    wrong = {"header": {"json": {"apikey": KEY}}, "body": {"headers": {"Authorization": KEY}}}[form]
    assert httpx.post(f"{tenant.url}/bim/apikey/authenticate", **wrong).status_code == 400  # the other form
    answer = httpx.post(f"{tenant.url}/bim/apikey/authenticate", **request_args)
    assert answer.status_code == 200, answer.text
    token = answer.json()["token"]
    monkeypatch.delenv("IMMUTA_API_KEY")
    monkeypatch.setenv("IMMUTA_TOKEN", token)
    applied = run_cli("apply", str(files), "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    planned = run_cli("plan", str(files), "--detailed-exitcode")
    assert planned.exit_code == 0, planned.stdout + planned.stderr
    assert len(tenant.sandbox.list_integrations()) == 7
    for output in (applied.stdout, applied.stderr, planned.stdout, planned.stderr):
        assert token not in output and KEY not in output
