"""A list answer that cannot be trusted is a failed read (#11.5): duplicate ids, two records with one
natural key, a record without id, type or natural key, a config that is not an object, a list that is not a
list. The run fails (exit 1) naming the records, and nothing is planned or written."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.actual import UntrustedRead, read_actual
from reconciler.client.immuta import Auth, ImmutaClient, RetryPolicy
from reconciler.validation.schema import load

REPO = Path(__file__).resolve().parent.parent
KEY = "untrusted-key"
RunCli = Callable[..., Any]
HINT = "Check these integrations in Immuta; the reconciler never guesses which record is the real one."


def snowflake(id_: Any, host: str = "acme.snowflakecomputing.com", **extra: Any) -> dict[str, Any]:
    config = {"host": host, "warehouse": "WH", "database": "IMMUTA", "authenticationType": "userPassword"}
    return {"id": id_, "status": "enabled", "type": "Snowflake", "autoBootstrap": True, "config": config} | extra


TRINO = {"id": "9", "status": "enabled", "type": "Trino"}


@pytest.mark.parametrize(
    ("records", "reason"),
    [
        ({"integrations": []}, "the answer is a dict, not a list of integrations"),
        ([TRINO, "junk"], "item 1 is a str, not an integration object"),
        ([{"status": "enabled", "type": "Trino"}], "item 0 has no id"),
        ([{"id": None, "type": "Trino"}], "item 0 has no id"),
        ([{"id": "1", "status": "enabled"}], "item 0 (id 1) has no type"),
        ([snowflake("1"), snowflake(1, "other.snowflakecomputing.com")], "item 1 (id 1) has the same id as item 0"),
        (
            [snowflake("1"), snowflake("2")],
            "item 1 (id 2) and item 0 (id 1) are both Snowflake[host=acme.snowflakecomputing.com]: one natural "
            "key, two integrations",
        ),
        (
            [TRINO, {**TRINO, "id": "10"}],
            "item 1 (id 10) and item 0 (id 9) are both Trino: one natural key, two integrations",
        ),
        ([snowflake("1", config=None)], "item 0 (id 1) has a config that is not an object (null)"),
        ([snowflake("1", config=["host"])], 'item 0 (id 1) has a config that is not an object (["host"])'),
        (
            [snowflake("1", config={"warehouse": "WH"})],
            "item 0 (id 1) has no config.host, which identifies a Snowflake integration",
        ),
    ],
    ids=[
        "not-a-list",
        "not-an-object",
        "no-id",
        "null-id",
        "no-type",
        "duplicate-ids",
        "duplicate-keys",
        "two-trinos",
        "null-config",
        "list-config",
        "no-natural-key",
    ],
)
def test_an_answer_that_cannot_be_trusted_is_a_failed_read(records: Any, reason: str) -> None:
    with pytest.raises(UntrustedRead) as failed:
        read_actual(records, load())
    assert str(failed.value) == (
        f"GET /integrations: Immuta's answer cannot be trusted, so nothing was planned: {reason}\n  {HINT}"
    )


def test_every_reason_is_named_at_once() -> None:
    with pytest.raises(UntrustedRead) as failed:
        read_actual([snowflake("1"), snowflake("1"), {"id": "3"}, snowflake("4")], load())
    assert failed.value.reasons == (
        "item 1 (id 1) has the same id as item 0",
        "item 2 (id 3) has no type",
        "item 3 (id 4) and item 0 (id 1) are both Snowflake[host=acme.snowflakecomputing.com]: one natural key, "
        "two integrations",
    )


def test_an_unknown_type_is_left_alone_not_distrusted() -> None:
    state = read_actual([TRINO, {"id": "5", "type": "Oracle", "config": {}}], load())
    assert ([str(a.key) for a in state.integrations], state.unknown_types) == (["Trino"], (("5", "Oracle"),))


def test_plan_fails_and_saves_nothing_from_an_untrusted_answer(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IMMUTA_TOKEN", raising=False)
    seen: list[tuple[str, str]] = []
    records = [snowflake("1", config=None), snowflake("2", config=None)]

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        return httpx.Response(200, content=json.dumps(records).encode(), headers={"content-type": "application/json"})

    client = ImmutaClient(
        "https://acme.immuta.example",
        Auth.api_key(KEY),
        transport=httpx.MockTransport(answer),
        retry=RetryPolicy(max_attempts=1, base_delay=0.01, max_delay=0.01, deadline=5),
        sleep=lambda seconds: None,
    )
    monkeypatch.setattr("reconciler.cli.connect.open_client", lambda target, *a: client)
    monkeypatch.setenv("IMMUTA_URL", "https://acme.immuta.example")
    monkeypatch.setenv("IMMUTA_API_KEY", KEY)

    result = run_cli("plan", "integrations.d", "--prune", "--out", "p.plan")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert (
        "GET /integrations: Immuta's answer cannot be trusted, so nothing was planned: item 0 (id 1) has a config "
        "that is not an object (null); item 1 (id 2) has a config that is not an object (null)"
    ) in result.stderr
    # the connections are looked up before the answer is judged: their integrations never make it untrusted
    assert seen == [("GET", "/integrations"), ("POST", "/data/object/search")]
    assert not Path("p.plan").exists()
