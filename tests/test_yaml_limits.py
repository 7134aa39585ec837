"""The bounds on one desired-state file (size, nesting, aliases): each is a located problem at its limit and
never a crash or unbounded work. The hostile files themselves are fixtures of tests/test_validate.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.loading.loader import load_text
from reconciler.model import SourceLocation

RunCli = Callable[..., Any]  # the `run_cli` fixture of conftest.py
MIB = 1_048_576


def _padded(size: int, filler: str = "#") -> str:
    """A valid Trino file of exactly `size` bytes of UTF-8."""
    head = "type: Trino\n# "
    width = len(filler.encode("utf-8"))
    body = filler * ((size - len(head) - 1) // width)
    text = head + body + "\n"
    return text + " " * (size - len(text.encode("utf-8")))


def test_a_file_of_exactly_one_mebibyte_is_read(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "trino.yaml").write_text(_padded(MIB), encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    result = run_cli("validate", ".")

    assert result.exit_code == 0, result.stdout
    assert result.stdout == ""


def test_a_file_over_one_mebibyte_is_refused_before_parsing(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "trino.yaml").write_text(_padded(MIB + 1), encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    result = run_cli("validate", ".")

    assert result.stdout == (
        "trino.yaml:1:1: the file is 1,048,577 bytes, over the limit of 1,048,576 bytes (1 MiB) for a "
        "desired-state file: split it into one file per integration\n"
    )
    assert result.exit_code == 1


def test_the_size_limit_counts_bytes_not_characters() -> None:
    text = _padded(MIB + 2, filler="é")  # two bytes a character: fewer than MIB characters
    assert len(text) < MIB

    documents, problems = load_text(text, "t.yaml")

    assert documents == []
    assert [p.message.split(",")[0] for p in problems] == ["the file is 1"]
    assert "1,048,578 bytes" in problems[0].message


def _aliased_list(items: int) -> str:
    """An anchor holding `items` numbers, used once by an alias: the alias expands to 1 + items values."""
    return f"type: Trino\nbase: &base [{', '.join(str(i) for i in range(items))}]\ncopy: *base\n"


def test_aliases_may_expand_to_ten_thousand_values() -> None:
    documents, problems = load_text(_aliased_list(9_999), "a.yaml")

    assert problems == []
    assert len(documents[0].data["copy"]) == 9_999


def test_one_value_more_is_refused_where_the_alias_is_used() -> None:
    documents, problems = load_text(_aliased_list(10_000), "a.yaml")

    assert documents == []
    assert [(p.location, p.json_path, p.message) for p in problems] == [
        (
            SourceLocation("a.yaml", 3, 1),
            "$.copy[9999]",
            "aliases expand to more than 10,000 values in this file (the limit per file): write the values out, "
            "or use fewer aliases",
        )
    ]


def test_the_alias_budget_is_shared_by_the_documents_of_a_file() -> None:
    half = "type: Trino\nbase: &base [" + ", ".join(["1"] * 6_000) + "]\ncopy: *base\n"

    _, problems = load_text(half + "---\n" + half, "two.yaml")

    assert [p.location for p in problems] == [SourceLocation("two.yaml", 7, 1)]


def test_merge_keys_count_as_aliases_and_keep_their_locations() -> None:
    text = "base: &base\n  a: 1\n  b: [x, y]\none:\n  <<: *base\n  a: 2\n"

    documents, problems = load_text(text, "m.yaml")

    assert problems == []
    assert documents[0].data["one"] == {"a": 2, "b": ["x", "y"]}
    assert documents[0].location(("one", "b", 1)) == SourceLocation("m.yaml", 3, 10)
    assert documents[0].location(("one", "a")) == SourceLocation("m.yaml", 6, 3)


def test_sixty_four_levels_are_read() -> None:
    text = "type: Trino\nx: " + "[" * 63 + "1" + "]" * 63 + "\n"

    documents, problems = load_text(text, "d.yaml")

    assert problems == []
    assert documents[0].location(("x",) + (0,) * 63) == SourceLocation("d.yaml", 2, 67)


def test_sixty_five_levels_are_refused() -> None:
    text = "type: Trino\nx: " + "[" * 64 + "1" + "]" * 64 + "\n"

    _, problems = load_text(text, "d.yaml")

    assert [(str(p.location), p.message) for p in problems] == [
        ("d.yaml:2:67", "values nested more than 64 levels deep (the limit for a desired-state file)")
    ]
