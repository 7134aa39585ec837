"""The client against the simulator with faults on: 429/5xx, dropped connections, POST answers lost after the
create happened. Every create lands exactly once; every lifecycle completes."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import httpx
import pytest

from reconciler.applying.poller import Poller
from reconciler.client.immuta import Auth, ImmutaClient, RetryPolicy
from reconciler.errors import TransientError
from reconciler.model import IntegrationKey
from reconciler.sandbox.api import Sandbox
from reconciler.sandbox.faults import Faults
from reconciler.sandbox.server import start_server
from reconciler.sandbox.transport import SandboxTransport
from reconciler.secrets import Secret
from reconciler.validation import schema

KEY = "sandbox-key"
STORMY = Faults(
    rate_429=0.1,
    retry_after_seconds=1,
    rate_500=0.08,
    rate_503=0.08,
    rate_drop=0.1,
    rate_lost_post_response=0.25,
)


def in_process(sandbox: Sandbox, seed: int) -> ImmutaClient:
    return ImmutaClient(
        "http://sandbox.invalid",
        Auth.api_key(KEY),
        transport=SandboxTransport(sandbox.handle),
        retry=RetryPolicy(max_attempts=8, deadline=600),
        sleep=lambda _: None,
        rng=random.Random(seed),
    )


def settle(client: ImmutaClient, integration_id: str, *, gone_ok: bool = False) -> Any:
    poller = Poller(sleep=lambda _: None)  # the simulator settles by the next request: no need to wait
    return poller.wait(client, integration_id, timeout=60, label=integration_id, gone_ok=gone_ok).record


def payloads(count: int) -> list[dict[str, Any]]:
    """A mix of types, each with its own natural key."""
    made: list[dict[str, Any]] = [{"type": "Trino"}]
    for i in range(count):
        if i % 3 == 0:
            made.append(
                {
                    "type": "Snowflake",
                    "autoBootstrap": True,
                    "config": {
                        "host": f"acct{i}.us-east-1.snowflakecomputing.com",
                        "warehouse": "IMMUTA_WH",
                        "database": "IMMUTA",
                        "authenticationType": "userPassword",
                        "username": "ADMIN",
                        "password": Secret(f"pw-{i}-secret"),
                        "role": "ACCOUNTADMIN",
                    },
                }
            )
        elif i % 3 == 1:
            made.append(
                {
                    "type": "Databricks",
                    "autoBootstrap": True,
                    "config": {
                        "workspaceUrl": f"ws{i}.cloud.databricks.com",
                        "httpPath": "/sql/1.0/warehouses/abc",
                        "authenticationType": "token",
                        "token": Secret(f"dapi-{i}"),
                        "catalog": "immuta",
                    },
                }
            )
        else:
            made.append(
                {
                    "type": "Redshift",
                    "autoBootstrap": True,
                    "config": {
                        "host": f"cluster{i}.abc.us-east-1.redshift.amazonaws.com",
                        "database": "immuta",
                        "initialDatabase": "dev",
                        "authenticationType": "userPassword",
                        "username": "admin",
                        "password": Secret(f"rs-{i}-secret"),
                    },
                }
            )
    return made


def key_of(document: dict[str, Any]) -> IntegrationKey:
    return schema.load().types[document["type"]].key_of(document)


def create_eventually(client: ImmutaClient, sandbox: Sandbox, payload: dict[str, Any]) -> dict[str, Any]:
    """What a user does when a create gives up: look (re-run plan), and only create again if absent."""
    for _ in range(3):
        try:
            return client.create(payload)
        except TransientError:
            for existing in sandbox.list_integrations():
                if existing["type"] == payload["type"] and key_of(existing) == key_of(payload):
                    return existing
    raise AssertionError(f"{key_of(payload)} was never created")


@pytest.mark.parametrize("seed", range(4))
def test_many_creates_under_faults_never_duplicate(seed: int) -> None:
    sandbox = Sandbox(api_key=KEY, faults=dataclasses.replace(STORMY, seed=seed))
    client = in_process(sandbox, seed)
    wanted = payloads(45)
    created = [create_eventually(client, sandbox, payload) for payload in wanted]
    listed = sandbox.list_integrations()
    keys = [key_of(item) for item in listed]
    assert len(keys) == len(set(keys)), "a natural key exists twice"
    assert sorted(keys) == sorted(key_of(p) for p in wanted)
    assert {c["id"] for c in created} == {item["id"] for item in listed}
    assert sandbox.faults_injected > 15  # the run really was stormy
    counts = sandbox.request_counts()
    assert counts["POST", "/integrations"] > len(wanted)  # some creates were posted again…
    assert counts["GET", "/integrations"] > 0  # …only after looking


def test_lifecycle_under_faults() -> None:
    # No 500s here: A2 retries 429/502/503/504 only, so a 500 on a read or a PUT is an error, not weather.
    sandbox = Sandbox(api_key=KEY, faults=dataclasses.replace(STORMY, rate_500=0.0, seed=3))
    client = in_process(sandbox, 3)
    snowflake, databricks = payloads(2)[1:]
    for payload in (snowflake, databricks):
        record = client.create(payload)
        settled = settle(client, record["id"])
        assert settled is not None and settled["status"] == "enabled"
        changed = {**payload, "config": {**payload["config"], "port": 444}}
        assert client.update(record["id"], changed)["status"] in ("editing", "enabled")
        settled = settle(client, record["id"])
        assert settled is not None and settled["status"] == "enabled"
        assert client.get(record["id"])["config"]["port"] == 444
        credentials = (
            {"username": "ADMIN", "password": snowflake["config"]["password"], "role": "ACCOUNTADMIN"}
            if payload is snowflake
            else None
        )
        client.delete(record["id"], credentials)
        assert settle(client, record["id"], gone_ok=True) is None
    assert sandbox.list_integrations() == []
    assert sandbox.faults_injected > 3


@pytest.mark.e2e
def test_over_real_http_with_dropped_connections() -> None:
    sandbox = Sandbox(api_key=KEY, faults=Faults(seed=1, rate_drop=0.3, rate_lost_post_response=0.5))
    with start_server(sandbox) as server:
        client = ImmutaClient(
            server.url,
            Auth.api_key(KEY),
            retry=RetryPolicy(max_attempts=10, deadline=60),
            sleep=lambda _: None,
            rng=random.Random(1),
        )
        with client:
            for payload in payloads(6):
                create_eventually(client, sandbox, payload)
            listed = client.list_integrations()
    keys = [key_of(item) for item in listed]
    assert len(keys) == len(set(keys)) == 7
    assert sandbox.faults_injected > 0


def test_sandbox_drop_surfaces_as_remote_protocol_error() -> None:
    sandbox = Sandbox(api_key=KEY, faults=Faults(rate_drop=1.0))
    transport = SandboxTransport(sandbox.handle)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.Client(transport=transport, base_url="http://sandbox.invalid").get("/integrations")
