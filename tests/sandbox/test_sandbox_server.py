"""The loopback server: URL, lifecycle, keep-alive, concurrency."""

from __future__ import annotations

import concurrent.futures

import httpx
import pytest
from sandbox_harness import KEY, SSL_CONTEXT
from sandbox_testdata import payload

from reconciler.sandbox import Sandbox, start_server
from reconciler.sandbox.server import RunningServer

pytestmark = pytest.mark.e2e


def test_url_is_loopback_with_the_chosen_port(server: RunningServer) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.port > 0


def test_close_is_idempotent_and_frees_the_port() -> None:
    running = start_server(Sandbox(api_key=KEY))
    url = running.url
    running.close()
    running.close()
    with httpx.Client(verify=SSL_CONTEXT) as client, pytest.raises(httpx.ConnectError):
        client.get(url + "/integrations")


def test_concurrent_creates_get_distinct_ids(http: httpx.Client, server: RunningServer) -> None:
    def create(n: int) -> str:
        body = payload("Snowflake", host=f"h{n}.snowflakecomputing.com")
        return str(http.post("/integrations", json=body).json()["id"])

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(create, range(24)))
    assert sorted(ids, key=int) == [str(n) for n in range(1, 25)]
    assert len(server.sandbox.requests) == 24


def test_request_log_counts_calls(http: httpx.Client, server: RunningServer) -> None:
    http.get("/integrations")
    http.get("/integrations?x=1")
    http.get("/integrations/1/status")
    counts = server.sandbox.request_counts()
    assert counts[("GET", "/integrations")] == 2
    assert counts[("GET", "/integrations/1/status")] == 1
    server.sandbox.reset_requests()
    assert server.sandbox.requests == []
