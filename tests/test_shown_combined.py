"""Issue 19: the shown-values gate (reconciler/shown.py) against answers that put a value where the contract
has a plain text: a record's `status` as an object (a newer Immuta's, or a proxy's) may hold anything, Trino's
API key included. No output of any command holds what is inside; the status is shown by name only."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_shown_values import HIDDEN, SHIPPED_REFERENCES, answering

REPO = Path(__file__).resolve().parent.parent
SENTINEL = "SENTINEL-IN-A-STATUS-4d2c"
SANDBOX = ("--sandbox", "--sandbox-state", "state.json")


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator[Path]:
    shutil.copytree(REPO / "integrations.d", tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    for name in SHIPPED_REFERENCES:
        monkeypatch.setenv(name, f"{name.lower()}-value")
    caplog.set_level(logging.DEBUG, logger="reconciler")
    yield tmp_path


def test_a_status_that_is_not_text_is_shown_by_name_only_everywhere(
    work: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert run_cli("apply", *SANDBOX, "--auto-approve").exit_code == 0

    def odd_status(body: dict[str, Any]) -> None:
        body["status"] = {"apiKey": SENTINEL, "state": ["enabled", SENTINEL]}

    answering(odd_status, monkeypatch)
    results = [
        run_cli("plan", *SANDBOX, "-v"),
        run_cli("plan", *SANDBOX, "--format", "json"),
        run_cli("plan", *SANDBOX, "--format", "markdown"),
        run_cli("plan", *SANDBOX, "--out", "saved.plan"),
        run_cli("show", "saved.plan", "--format", "json"),
        run_cli("drift", *SANDBOX),
        run_cli("drift", *SANDBOX, "--format", "json"),
        run_cli("drift", *SANDBOX, "--format", "markdown"),
        run_cli("export", *SANDBOX, "--out", "exported"),
        run_cli("doctor", *SANDBOX, "-v"),
        run_cli("doctor", *SANDBOX, "--format", "json"),
    ]

    written = [p.read_text(encoding="utf-8") for p in [work / "saved.plan", *(work / "exported").iterdir()]]
    for text in [*(r.stdout + r.stderr for r in results), *written, caplog.text]:
        assert SENTINEL not in text
    assert f"status '{HIDDEN}'" in results[5].stdout  # drift still says the status is not a healthy one


def test_validation_results_are_traced_as_the_contract_describes_them_and_no_more(
    work: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """`{status, validationTests: [{name, status, message}]}` (docs/immuta-api.md §4): Immuta's own words are
    traced (scrubbed of what was sent); a field beside them is named only."""
    assert run_cli("apply", *SANDBOX, "--auto-approve").exit_code == 0

    def extra_fields(body: dict[str, Any]) -> None:
        test = {"name": "connect", "status": "passed", "message": "ok", "token": SENTINEL}
        body["validationResults"] = {"status": "passed", "validationTests": [test], "apiKey": SENTINEL}

    answering(extra_fields, monkeypatch)
    results = [run_cli("plan", *SANDBOX, "-v"), run_cli("doctor", *SANDBOX, "-v")]

    for text in [*(r.stdout + r.stderr for r in results), caplog.text]:
        assert SENTINEL not in text
    assert (
        '"validationResults":{"status":"passed","validationTests":[{"name":"connect","status":"passed",'
        f'"message":"ok","token":"{HIDDEN}"}}],"apiKey":"{HIDDEN}"}}'
    ) in results[0].stderr
