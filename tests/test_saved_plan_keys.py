"""Issue 19, item 9: a saved plan serialises keys unambiguously. Two Redshift integrations whose keys print
alike (`Redshift[host=a,database=b,database=c]`: values holding `,` `=` `]` or a newline) are two changes
of one saved plan, and `apply` accepts the tool's own saved plan and creates both, as reviewed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox.api import Sandbox

RunCli = Callable[..., Any]
SANDBOX = ("--sandbox", "--sandbox-state", "state.json")
PASSWORD = "redshift-keys-pw-3b7e"


def redshift(host: str, database: str) -> str:
    return (
        "type: Redshift\nautoBootstrap: false\nconfig:\n"
        f"  host: {json.dumps(host)}\n  database: {json.dumps(database)}\n"
        "  authenticationType: userPassword\n  username: immuta\n  password: ${env:RS_KEYS_PASSWORD}\n"
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("a,database=b", "c"), ("a", "b,database=c")),
        (("a]", "b"), ("a", "]b")),
        (("h", "one\ntwo"), ("h", "one\\ntwo")),
    ],
    ids=["comma-equals", "bracket", "newline"],
)
def test_two_keys_that_print_alike_are_two_changes_of_one_saved_plan(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_cli: RunCli,
    first: tuple[str, str],
    second: tuple[str, str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RS_KEYS_PASSWORD", PASSWORD)
    (tmp_path / "integrations.d").mkdir()
    (tmp_path / "integrations.d" / "first.yaml").write_text(redshift(*first), encoding="utf-8")
    (tmp_path / "integrations.d" / "second.yaml").write_text(redshift(*second), encoding="utf-8")

    saved = run_cli("plan", *SANDBOX, "--out", "saved.plan")
    checked = run_cli("plan", *SANDBOX, "--check", "saved.plan")
    shown = run_cli("show", "saved.plan", "--format", "json")
    applied = run_cli("apply", *SANDBOX, "saved.plan")

    assert saved.exit_code == 0, saved.stderr
    assert checked.exit_code == 0, checked.stderr
    assert shown.exit_code == 0, shown.stderr
    changes = json.loads(shown.stdout)["changes"]
    assert sorted((c["natural_key"]["host"], c["natural_key"]["database"]) for c in changes) == sorted([first, second])
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    records = Sandbox(state_file=str(tmp_path / "state.json")).list_integrations()
    assert sorted((r["config"]["host"], r["config"]["database"]) for r in records) == sorted([first, second])
    assert PASSWORD not in saved.stdout + saved.stderr + shown.stdout + applied.stdout + applied.stderr
    assert PASSWORD not in (tmp_path / "saved.plan").read_text(encoding="utf-8")


def test_a_saved_plan_with_one_key_twice_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RS_KEYS_PASSWORD", PASSWORD)
    (tmp_path / "integrations.d").mkdir()
    (tmp_path / "integrations.d" / "first.yaml").write_text(redshift("a,database=b", "c"), encoding="utf-8")
    (tmp_path / "integrations.d" / "second.yaml").write_text(redshift("a", "b,database=c"), encoding="utf-8")
    assert run_cli("plan", *SANDBOX, "--out", "saved.plan").exit_code == 0
    document = json.loads((tmp_path / "saved.plan").read_text(encoding="utf-8"))
    document["changes"][1]["natural_key"] = dict(document["changes"][0]["natural_key"])
    (tmp_path / "saved.plan").write_text(json.dumps(document), encoding="utf-8")

    result = run_cli("apply", *SANDBOX, "saved.plan")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith(
        "error: saved.plan: the saved plan was edited or damaged ($.changes[1].key "
        "Redshift[host=a,database=b,database=c] appears twice): plan again and review it"
    )
    assert Sandbox(state_file=str(tmp_path / "state.json")).list_integrations() == []
