"""`plan --format markdown`: a PR comment that never passes GitHub's limit, whatever the plan, and always
carries the complete counts, the checksum and the commit."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from actions_runner import REDSHIFT_WITH_SECRET, SNOWFLAKE_WITH_SECRET

from reconciler.model import IntegrationKey, SourceLocation
from reconciler.planning.diff import FieldChange
from reconciler.planning.plan import Action, Change, Plan
from reconciler.render import plan_markdown, plan_text

LIMIT = 65_000
SHA = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"
RunCli = Callable[..., Any]  # tests/conftest.py's `run_cli`


def long_change(index: int, action: Action = Action.UPDATE, *, fields: int = 8, width: int = 120) -> Change:
    key = IntegrationKey.of("Snowflake", [("host", f"account-{index:04d}.us-east-1.snowflakecomputing.com")])
    file = f"integrations.d/snowflake-{index:04d}.yaml"
    changed = tuple(
        FieldChange(
            path=("config", "userRolePattern", "exclude", f"field{n}"),
            kind="changed",
            old="x" * width + f"-old-{index}-{n}",
            new="y" * width + f"-new-{index}-{n}",
            immutable=False,
            location=SourceLocation(file, 10 + n, 5),
        )
        for n in range(fields)
    )
    return Change(action, key, "Snowflake", file=file, line=4, actual_id=str(index), fields=changed)


def plan_of(changes: list[Change], notes: tuple[str, ...] = ()) -> Plan:
    return Plan(
        changes=tuple(changes),
        target="https://acme.immuta.example",
        prune=False,
        desired_digest="d" * 64,
        schema_version="s",
        tool_version="t",
        notes=notes,
    )


def test_600_long_changes_fit_with_a_note_the_counts_and_the_checksum() -> None:
    plan = plan_of([long_change(i) for i in range(600)])
    text = plan_markdown.render(plan, commit=SHA)
    assert len(text) <= LIMIT
    assert "**Plan: 0 to create, 600 to update, 0 to replace, 0 to delete, 0 unchanged.**" in text
    assert "**Truncated:**" in text
    assert "the counts above are complete" in text
    assert f"Plan checksum: `{plan.checksum}` · commit `{SHA}`" in text
    assert text.endswith("\n")
    assert text.count("<details>") == text.count("</details>")  # no block is cut in half


def test_details_are_dropped_before_the_table_and_the_note_counts_them() -> None:
    plan = plan_of([long_change(i, fields=40, width=300) for i in range(30)])
    text = plan_markdown.render(plan)
    assert len(text) <= LIMIT
    shown = text.count("<details>")
    assert 0 < shown < 30
    assert f"details of {30 - shown} of 30 change(s) are not shown" in text
    assert text.count("| ~ | update |") == 30  # every change is still in the table


def test_a_table_too_long_for_the_limit_is_cut_at_a_row() -> None:
    plan = plan_of([long_change(i, fields=6) for i in range(2_000)])
    text = plan_markdown.render(plan, commit=SHA)
    assert len(text) <= LIMIT
    assert "**Truncated:** the table is cut" in text
    assert "**Plan: 0 to create, 2000 to update, 0 to replace, 0 to delete, 0 unchanged.**" in text
    assert f"Plan checksum: `{plan.checksum}` · commit `{SHA}`" in text
    table = [line for line in text.splitlines() if line.startswith("| ~ | update |")]
    assert all(line.endswith("|") for line in table)  # rows whole


def test_orphans_are_counted_even_when_the_table_is_cut() -> None:
    orphans = [
        Change(Action.ORPHAN, IntegrationKey.of("Native S3", [("name", f"bucket-{i:05d}" * 8)]), "Native S3")
        for i in range(3_000)
    ]
    text = plan_markdown.render(plan_of(orphans))
    assert len(text) <= LIMIT
    assert "3000 integration(s) in Immuta have no file; `--prune` would delete them." in text


def test_one_huge_value_and_huge_notes_still_fit() -> None:
    plan = plan_of([long_change(0, fields=1, width=200_000)], notes=("Not compared: " + "${env:X}, " * 20_000,))
    text = plan_markdown.render(plan, commit=SHA)
    assert len(text) <= LIMIT
    assert "details of 1 of 1 change(s) are not shown" in text
    assert f"commit `{SHA}`" in text


@pytest.mark.parametrize("count", [0, 1, 7, 50, 199, 450])
@pytest.mark.parametrize("width", [10, 500])
def test_never_over_the_limit(count: int, width: int) -> None:
    plan = plan_of([long_change(i, fields=5, width=width) for i in range(count)])
    text = plan_markdown.render(plan)
    assert len(text) <= LIMIT
    assert ("**Truncated:**" in text) == (len(plan_markdown.render(plan, limit=10**9)) > LIMIT)


def test_a_plan_that_fits_is_whole() -> None:
    plan = plan_of([long_change(i, fields=2, width=20) for i in range(5)])
    text = plan_markdown.render(plan)
    assert "Truncated" not in text
    assert text.count("<details>") == 5
    assert "commit" not in text  # no SHA known


def test_backticks_in_a_value_do_not_break_the_code_span() -> None:
    change = long_change(1, fields=1)
    tricky = FieldChange(("config", "warehouse"), "changed", "a`b", "c|d", False, None)
    text = plan_markdown.render(plan_of([Change(Action.UPDATE, change.key, "Snowflake", fields=(tricky,))]))
    assert '| `` "a`b" `` | `"c\\|d"` |' in text


def test_text_is_not_truncated() -> None:
    plan = plan_of([long_change(i) for i in range(600)])
    assert plan_text.render(plan).count("~ config.userRolePattern") == 600 * 8


def write_trino(folder: Path) -> None:
    (folder / "integrations.d").mkdir()
    (folder / "integrations.d" / "trino.yaml").write_text("type: Trino\n", encoding="utf-8")


def test_cli_markdown_carries_github_sha(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli) -> None:
    monkeypatch.chdir(tmp_path)
    write_trino(tmp_path)
    monkeypatch.setenv("GITHUB_SHA", SHA)
    result = run_cli("plan", "--sandbox", "--sandbox-state", "state.json", "--format", "markdown")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("<!-- reconciler-plan -->\n")
    assert f" · commit `{SHA}`" in result.stdout


def test_cli_writes_the_step_summary_under_github_actions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    monkeypatch.chdir(tmp_path)
    write_trino(tmp_path)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_SHA", SHA)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = run_cli("plan", "--sandbox", "--sandbox-state", "state.json")
    assert result.exit_code == 0, result.stderr
    written = summary.read_text(encoding="utf-8")
    assert "**Plan: 1 to create, 0 to update, 0 to replace, 0 to delete, 0 unchanged.**" in written
    assert f" · commit `{SHA}`" in written


# -- what the pull request's comment tells the reviewer ------------------------------------------------------

WAREHOUSE = FieldChange(
    path=("config", "warehouse"),
    kind="changed",
    old="W2",
    new="W1",
    immutable=False,
    location=SourceLocation("integrations.d/snowflake.yaml", 5, 3),
)


def a_change(action: Action, host: str, *fields: FieldChange) -> Change:
    key = IntegrationKey.of("Snowflake", [("host", host)])
    return Change(action, key, "Snowflake", file="integrations.d/snowflake.yaml", line=4, fields=fields)


def test_the_comment_names_the_environment_and_tenant_and_ends_with_what_merging_applies() -> None:
    plan = plan_of([a_change(Action.UPDATE, "a.snowflakecomputing.com", WAREHOUSE)], notes=("one", "two"))
    review = plan_markdown.Review(environment="prod", run_url="https://github.com/acme/immuta/actions/runs/42")
    text = plan_markdown.render(plan, review=review)
    assert text.splitlines()[1] == "### reconciler plan: prod · `acme.immuta.example`"
    assert text.endswith(
        "\n\n[Run](https://github.com/acme/immuta/actions/runs/42) · Merging applies exactly this plan to **prod** "
        "(`https://acme.immuta.example`).\n"
    )
    assert "> **Note:** one\n\n> **Note:** two\n" in text  # two paragraphs, not one run-on quote
    assert "[!WARNING]" not in text  # nothing is destroyed


def test_a_refused_plan_never_ends_saying_that_merging_applies_it() -> None:
    """The refusal at the top says merging applies nothing; the closing line must not say the opposite."""
    plan = plan_of([a_change(Action.DELETE, "d.snowflakecomputing.com")])
    refused = dataclasses.replace(plan, refused=("Snowflake[host=d.snowflakecomputing.com]: protected",))
    review = plan_markdown.Review(environment="prod", run_url="https://github.com/acme/immuta/actions/runs/42")
    text = plan_markdown.render(refused, review=review)
    assert "Merging applies exactly this plan" not in text
    assert text.endswith(
        "\n\n[Run](https://github.com/acme/immuta/actions/runs/42) · Merging applies nothing to **prod** "
        "(`https://acme.immuta.example`): a safety gate refused this plan (above).\n"
    )


def test_deletes_and_replaces_come_first_under_a_warning() -> None:
    plan = plan_of(
        [
            a_change(Action.CREATE, "c.snowflakecomputing.com"),
            a_change(Action.UPDATE, "u.snowflakecomputing.com", WAREHOUSE),
            a_change(Action.REPLACE, "r.snowflakecomputing.com"),
            a_change(Action.DELETE, "d.snowflakecomputing.com"),
        ]
    )
    text = plan_markdown.render(plan)
    warning = (
        "> [!WARNING]\n> **This plan destroys 2 integration(s)** (1 delete(s), 1 replace(s)): each loses its "
        "current settings in Immuta, listed first below. A replace deletes, then creates again."
    )
    assert warning in text
    table = text[text.index("| | action |") : text.index("<details>")]
    rows = [line.split(" | ")[1] for line in table.splitlines()[2:] if line]
    assert rows == ["delete", "replace", "create", "update"]
    assert text.index(warning) < text.index("| | action |")


def test_a_difference_the_pull_request_does_not_make_is_marked_as_a_revert() -> None:
    change = a_change(Action.UPDATE, "a.snowflakecomputing.com", WAREHOUSE)
    review = plan_markdown.Review(reverts=frozenset({(str(change.key), "config.warehouse")}))
    text = plan_markdown.render(plan_of([change]), review=review)
    assert (
        '| `config.warehouse` | `"W2"` | `"W1"` | `integrations.d/snowflake.yaml:5` — '
        "**reverts a change made outside Git** |"
    ) in text
    assert "`config.warehouse` ↩ |" in text
    assert "reverts a change made outside Git" not in plan_markdown.render(plan_of([change]))


SNOWFLAKE = SNOWFLAKE_WITH_SECRET.replace("warehouse: IMMUTA_WH", "warehouse: W1")
REDSHIFT = REDSHIFT_WITH_SECRET


def test_a_pull_request_against_a_tenant_changed_outside_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    """The base revision writes warehouse W1; someone set W2 in Immuta; the pull request changes only the port
    and deletes Redshift: the warehouse is a revert, the port is not, and the delete lists what it destroys."""
    import subprocess

    if subprocess.run(["git", "--version"], capture_output=True, check=False).returncode != 0:
        pytest.skip("git is not installed")
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "integrations.d"
    folder.mkdir()
    (folder / "snowflake.yaml").write_text(SNOWFLAKE, encoding="utf-8")
    (folder / "redshift.yaml").write_text(REDSHIFT, encoding="utf-8")
    git = ["git", "-c", "user.email=r@example.com", "-c", "user.name=r"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run([*git, *command], check=True, capture_output=True)
    (folder / "snowflake.yaml").write_text(SNOWFLAKE.replace("W1", "W2"), encoding="utf-8")
    assert run_cli("apply", "--sandbox", "--auto-approve").exit_code == 0  # the change made outside Git
    (folder / "snowflake.yaml").write_text(SNOWFLAKE + "  port: 444\n", encoding="utf-8")
    (folder / "redshift.yaml").write_text(
        "type: Redshift\nensure: absent\nconfig:\n  host: warehouse.c1a2b3c4d5e6.us-east-1.redshift.amazonaws.com\n"
        "  database: immuta_warehouse\n",
        encoding="utf-8",
    )
    text = run_cli("plan", "--sandbox", "--format", "markdown", "--base", "HEAD").stdout
    assert '| `config.warehouse` | `"W2"` | `"W1"` | `integrations.d/snowflake.yaml:5` — **reverts' in text
    assert "| `config.port` | `443` | `444` | `integrations.d/snowflake.yaml:10` |\n" in text
    assert 'destroys</summary>\n\n| setting | in Immuta now |\n|---|---|\n| `type` | `"Redshift"` |' in text
    assert '| `config.username` | `"immuta_system"` |' in text
