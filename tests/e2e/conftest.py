"""End-to-end fixtures: a fresh simulator served on 127.0.0.1 with the CLI's environment pointing at it, and
a copy of the shipped `integrations.d/` to edit."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_kit import KEY, SHIPPED, SHIPPED_SECRETS, Tenant, serve

MakeTenant = Callable[..., Tenant]


@pytest.fixture
def make_tenant(monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeTenant]:
    """`make_tenant(**Sandbox options)`: a simulator on 127.0.0.1 that IMMUTA_URL / IMMUTA_API_KEY now point
    at (the last one made wins), with the shipped files' secrets set. Every server is closed afterwards."""
    running: list[Tenant] = []
    monkeypatch.delenv("IMMUTA_TOKEN", raising=False)
    for name, value in SHIPPED_SECRETS.items():
        monkeypatch.setenv(name, value)

    def make(**options: Any) -> Tenant:
        served = serve(**options)
        running.append(served)
        monkeypatch.setenv("IMMUTA_URL", served.url)
        monkeypatch.setenv("IMMUTA_API_KEY", KEY)
        return served

    try:
        yield make
    finally:
        for served in running:
            served.server.close()


@pytest.fixture
def tenant(make_tenant: MakeTenant) -> Tenant:
    return make_tenant()


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped integrations.d/ to edit, in the working directory: the declared desired state."""
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "integrations.d"
    shutil.copytree(SHIPPED, target)
    return target
