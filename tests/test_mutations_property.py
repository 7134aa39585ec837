"""Issue 11.8: no byte-level mutation of a valid (or deliberately invalid) file makes the reconciler fail
with "internal error" or a traceback. `validate` and `plan --sandbox` read each mutant and end with 0, 1
or 2 — a located message for whatever is wrong, never a crash."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parent.parent
SOURCES = sorted(
    [*(REPO / "tests" / "fixtures" / "validate").glob("*/*.yaml"), *(REPO / "integrations.d").glob("*.yaml")]
)
RunCli = Callable[..., Any]  # the `run_cli` fixture of conftest.py


@st.composite
def mutants(draw: st.DrawFn) -> tuple[str, bytes]:
    """A source file with a few bytes replaced, inserted or deleted, or a slice repeated or cut."""
    source = draw(st.sampled_from(SOURCES))
    data = bytearray(source.read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["replace", "insert", "delete", "repeat", "cut"]))
        byte = draw(st.sampled_from([0x00, 0x09, 0x0A, 0x20, 0x22, 0x26, 0x2A, 0x3A, 0x5B, 0x7B, 0x7C, 0xFF, 0xE9]))
        if kind == "replace" and at < len(data):
            data[at] = byte
        elif kind == "insert":
            data.insert(at, byte)
        elif kind == "delete" and at < len(data):
            del data[at]
        elif kind == "repeat":
            end = draw(st.integers(at, min(len(data), at + 40)))
            data[at:at] = data[at:end] * draw(st.integers(1, 30))
        else:
            del data[at:]
    return source.name, bytes(data)


def _check(tmp: Path, run_cli: RunCli, name: str, data: bytes, command: tuple[str, ...]) -> None:
    folder = tmp / "integrations.d"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    (folder / name).write_bytes(data)
    result = run_cli(*command, "integrations.d")
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.stderr)
    for text in (result.stdout, result.stderr):
        assert "internal error" not in text, (data, text)
        assert "Traceback" not in text, (data, text)


@pytest.fixture
def workdir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    tmp = tmp_path_factory.mktemp("mutants")
    monkeypatch.chdir(tmp)
    monkeypatch.delenv("RECONCILER_DEBUG", raising=False)
    return tmp


def test_there_are_sources_to_mutate() -> None:
    assert len(SOURCES) >= 80


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutant=mutants())
def test_validate_survives_any_mutation(workdir: Path, run_cli: RunCli, mutant: tuple[str, bytes]) -> None:
    _check(workdir, run_cli, *mutant, ("validate",))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutant=mutants())
def test_plan_on_the_sandbox_survives_any_mutation(workdir: Path, run_cli: RunCli, mutant: tuple[str, bytes]) -> None:
    _check(workdir, run_cli, *mutant, ("plan", "--sandbox", "--detailed-exitcode"))


@pytest.mark.slow
@pytest.mark.timeout(240)  # a campaign of 1,500 runs: ~25 s alone, several times that beside the e2e tests
@settings(
    max_examples=int(os.environ.get("RECONCILER_MUTANTS", "1500")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(mutant=mutants())
def test_validate_survives_many_mutations(workdir: Path, run_cli: RunCli, mutant: tuple[str, bytes]) -> None:
    _check(workdir, run_cli, *mutant, ("validate",))
