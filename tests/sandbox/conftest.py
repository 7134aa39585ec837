"""Fixtures: a sandbox on a fake clock, the same sandbox served on 127.0.0.1, and an httpx client for it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sandbox_harness import KEY, SSL_CONTEXT, Call, FakeClock, ServeFactory, make_call

from reconciler.sandbox import Sandbox, start_server
from reconciler.sandbox.server import RunningServer


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> Sandbox:
    return Sandbox(api_key=KEY, clock=clock)


@pytest.fixture
def call(sandbox: Sandbox) -> Call:
    """In process: `call("POST", "/integrations", body)` → Answer; the API key is sent unless key=None."""
    return make_call(sandbox)


@pytest.fixture
def server(sandbox: Sandbox) -> Iterator[RunningServer]:
    with start_server(sandbox) as running:
        yield running


@pytest.fixture
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"Authorization": KEY}, timeout=5.0, verify=SSL_CONTEXT) as client:
        yield client


@pytest.fixture
def serve(clock: FakeClock) -> Iterator[ServeFactory]:
    """`sandbox, http = serve(provisioning_seconds=60)`: another sandbox on the fake clock, served and closed."""
    with contextlib.ExitStack() as stack:

        def make(**options: Any) -> tuple[Sandbox, httpx.Client]:
            headers = {"Authorization": options.pop("key", KEY)}
            sandbox = Sandbox(**{"api_key": KEY, "clock": clock, **options})
            server = stack.enter_context(start_server(sandbox))
            client = httpx.Client(base_url=server.url, headers=headers, timeout=5.0, verify=SSL_CONTEXT)
            return sandbox, stack.enter_context(client)

        yield make
