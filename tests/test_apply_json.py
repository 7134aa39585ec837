"""`apply --format json` and `--report FILE`: one versioned document of what each write did, for scripts
and CI artifacts; the plan and the progress go to stderr so that stdout is the document alone."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.applying.apply import Result
from reconciler.applying.verify import Verification
from reconciler.applying.workflow import ApplyOutcome
from reconciler.model import IntegrationKey
from reconciler.planning.diff import FieldChange
from reconciler.planning.plan import Action, Change, Plan
from reconciler.render import registry

RunCli = Callable[..., Any]  # tests/conftest.py's `run_cli`

EXAMPLE = Path(__file__).resolve().parent.parent / "integrations.d" / "trino.yaml"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "integrations.d").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "integrations.d")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CI", "true")
    return tmp_path


def test_a_create_reported_field_by_field_and_written_to_the_report_file(folder: Path, run_cli: RunCli) -> None:
    result = run_cli("apply", "--sandbox", "--auto-approve", "--format", "json", "--report", "apply.json")

    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert (folder / "apply.json").read_text(encoding="utf-8") == result.stdout
    state = (folder / ".reconciler" / "sandbox.json").resolve().as_posix()
    assert len(document.pop("checksum")) == 64
    duration = document["integrations"][0].pop("duration_seconds")
    assert 0 <= duration < 5
    assert document == {
        "format_version": 1,
        "kind": "reconciler-apply",
        "tool_version": document["tool_version"],
        "target": f"sandbox://{state}",
        "status": "applied",
        "integrations": [
            {
                "key": "Trino",
                "type": "Trino",
                "file": "integrations.d/trino.yaml",
                "action": "create",
                "outcome": "done",
                "id": "1",
                "message": "",
            }
        ],
        "totals": {"planned": 1, "done": 1, "failed": 0, "refused": 0, "not_started": 0},
        "verification": {"converged": True, "unsettled": [], "error": None},
    }
    # The person still sees the plan and the progress, on stderr.
    assert "1 to create:\n  + Trino  (integrations.d/trino.yaml:10)\n" in result.stderr
    assert result.stderr.rstrip().endswith("+ Trino: done")


def test_nothing_to_do_is_a_document_too(folder: Path, run_cli: RunCli) -> None:
    assert run_cli("apply", "--sandbox", "--auto-approve").exit_code == 0

    result = run_cli("apply", "--sandbox", "--auto-approve", "--format", "json")

    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert (document["status"], document["integrations"]) == ("no-changes", [])
    assert document["totals"] == {"planned": 0, "done": 0, "failed": 0, "refused": 0, "not_started": 0}


def test_text_output_with_a_report_file_keeps_stdout_as_before(folder: Path, run_cli: RunCli) -> None:
    result = run_cli("apply", "--sandbox", "--auto-approve", "--report", "apply.json")

    assert result.exit_code == 0
    assert "Apply: 1 succeeded, 0 failed, 0 refused.\n  ok      create Trino (id 1)\n" in result.stdout
    assert json.loads((folder / "apply.json").read_text(encoding="utf-8"))["totals"]["done"] == 1


def test_apply_offers_no_markdown(folder: Path, run_cli: RunCli) -> None:
    result = run_cli("apply", "--sandbox", "--format", "markdown")

    assert result.exit_code == 64
    assert "'markdown' is not one of 'text', 'json'." in result.stderr


def change(action: Action, host: str, **fields: object) -> Change:
    return Change(action, IntegrationKey.of("Snowflake", [("host", host)]), "Snowflake", "s.yaml", **fields)  # type: ignore[arg-type]


def test_failures_refusals_unstarted_writes_and_unsettled_fields() -> None:
    failed = change(Action.UPDATE, "b", actual_id="2")
    refused = change(Action.DELETE, "c", actual_id="3")
    never = change(Action.CREATE, "d")
    unsettled = change(
        Action.UPDATE, "e", fields=(FieldChange(("config", "warehouse"), "changed", "A", "B", False, None),)
    )
    plan = Plan((failed, refused, never), "https://acme.immuta.example", False, "digest", "1", "0.1.0")
    outcome = ApplyOutcome(
        plan,
        "interrupted",
        (
            Result(failed, "failed", "editError: the edit failed in Immuta", "2"),
            Result(refused, "refused", "changed in Immuta since the plan (id 3; declared in s.yaml)", "3"),
        ),
        Verification(unsettled=(unsettled,)),
        {"Snowflake[host=b]": 1.23456},
    )

    document = json.loads(registry.APPLY["json"](outcome, registry.Context()))

    assert [
        (i["key"], i["outcome"], i["id"], i["message"], i["duration_seconds"]) for i in document["integrations"]
    ] == [
        ("Snowflake[host=b]", "failed", "2", "editError: the edit failed in Immuta", 1.235),
        ("Snowflake[host=c]", "refused", "3", "changed in Immuta since the plan (id 3; declared in s.yaml)", 0.0),
    ]
    assert document["status"] == "interrupted"
    assert document["totals"] == {"planned": 3, "done": 0, "failed": 1, "refused": 1, "not_started": 1}
    assert document["verification"] == {
        "converged": False,
        "unsettled": [{"key": "Snowflake[host=e]", "fields": ["config.warehouse"], "reason": ""}],
        "error": None,
    }


def test_the_docs_document_every_field(folder: Path, run_cli: RunCli) -> None:
    docs = (EXAMPLE.parent.parent / "docs" / "commands.md").read_text(encoding="utf-8")
    section = docs[docs.index("`apply --format json` prints") : docs.index("Secrets appear in none")]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| `")]
    documented = {name for first, *_ in rows for name in re.findall(r"`(\w+)(?:\[\])?`", first)}

    document = json.loads(run_cli("apply", "--sandbox", "--auto-approve", "--format", "json").stdout)

    assert documented | {"format_version"} == set(document)
    for name in [*document["integrations"][0], *document["totals"], *document["verification"]]:
        assert f"`{name}`" in section or f"`{name}[]`" in section
