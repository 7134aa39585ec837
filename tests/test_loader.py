"""The YAML loader (locations, YAML 1.2 scalars, duplicate keys, merge keys, discovery) and the reference
parsing and reading of reconciler.secrets."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import Problem
from reconciler.loading.loader import SourceDocument, discover, load_paths, load_text
from reconciler.model import SourceLocation
from reconciler.secrets import (
    FILE_LIMIT_BYTES,
    PLACEHOLDER,
    Lookup,
    Reference,
    Secret,
    file_roots,
    is_reference_only,
    mask_all,
    references,
    reveal_all,
    substitute,
)


def load_one(text: str, file: str = "f.yaml") -> SourceDocument:
    documents, problems = load_text(text, file)
    assert problems == []
    assert len(documents) == 1
    return documents[0]


def at(document: SourceDocument, *path: str | int) -> tuple[int, int]:
    location = document.location(tuple(path))
    return location.line, location.column


# -- locations ---------------------------------------------------------------------------------------


NESTED = """\
type: Snowflake
config:
  host: acme
  audit:
    enabled: true
  workspaces:
    warehouses:
      - WH_A
      - name: WH_B
        size: XS
  userRolePattern: {exclude: [ROLE_A, ROLE_B]}
"""


def test_locations_of_nested_mappings_and_lists() -> None:
    document = load_one(NESTED)

    assert at(document) == (1, 1)
    assert at(document, "type") == (1, 1)
    assert at(document, "config") == (2, 1)
    assert at(document, "config", "host") == (3, 3)
    assert at(document, "config", "audit", "enabled") == (5, 5)
    assert at(document, "config", "workspaces", "warehouses") == (7, 5)
    assert at(document, "config", "workspaces", "warehouses", 0) == (8, 9)
    assert at(document, "config", "workspaces", "warehouses", 1) == (9, 9)
    assert at(document, "config", "workspaces", "warehouses", 1, "size") == (10, 9)
    assert at(document, "config", "userRolePattern", "exclude") == (11, 21)
    assert at(document, "config", "userRolePattern", "exclude", 1) == (11, 39)


def test_a_location_names_the_file() -> None:
    document = load_one("type: Trino\n", "integrations.d/trino.yaml")

    assert document.location(("type",)) == SourceLocation("integrations.d/trino.yaml", 1, 1)
    assert str(document.location(("type",))) == "integrations.d/trino.yaml:1:1"


def test_location_falls_back_to_the_deepest_existing_parent() -> None:
    document = load_one(NESTED)

    assert at(document, "config", "audit", "missing", "deeper") == (4, 3)
    assert at(document, "config", "workspaces", "warehouses", 7) == (7, 5)
    assert at(document, "nothing", "here") == (1, 1)


def test_location_of_an_empty_document_map_is_line_one() -> None:
    document = SourceDocument("x.yaml", 0, {}, {})

    assert document.location(("config", "host")) == SourceLocation("x.yaml", 1, 1)


def test_multi_document_files_keep_their_lines_and_index() -> None:
    documents, problems = load_text("---\ntype: Trino\n---\n# second\ntype: Snowflake\nconfig:\n  host: h\n", "m.yaml")

    assert problems == []
    assert [d.index for d in documents] == [0, 1]
    assert [d.data["type"] for d in documents] == ["Trino", "Snowflake"]
    assert at(documents[0], "type") == (2, 1)
    assert at(documents[1], "type") == (5, 1)
    assert at(documents[1], "config", "host") == (7, 3)


def test_empty_documents_of_a_stream_are_skipped() -> None:
    documents, problems = load_text("---\n---\ntype: Trino\n---\n", "m.yaml")

    assert problems == []
    assert [(d.index, d.data) for d in documents] == [(1, {"type": "Trino"})]


@pytest.mark.parametrize("text", ["", "\n", "# a comment only\n", "---\n", "---\n...\n"])
def test_a_file_without_documents_is_a_warning(text: str) -> None:
    documents, problems = load_text(text, "e.yaml")

    assert documents == []
    assert problems == [Problem(SourceLocation("e.yaml", 1, 1), "", "file holds no document", "warning")]


# -- YAML 1.2 plain scalars --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("on", "on"),
        ("off", "off"),
        ("no", "no"),
        ("yes", "yes"),
        ("Yes", "Yes"),
        ("y", "y"),
        ("true", True),
        ("True", True),
        ("FALSE", False),
        ("2024-01-01", "2024-01-01"),
        ("2024-01-01T10:00:00Z", "2024-01-01T10:00:00Z"),
        ("0755", "0755"),
        ("012345678901", "012345678901"),
        ("08", "08"),
        ("0o17", 15),
        ("0x1F", 31),
        ("0b101", "0b101"),
        ("1_000", "1_000"),
        ("1:30", "1:30"),
        ("443", 443),
        ("-12", -12),
        ("+12", 12),
        ("0", 0),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        (".5", 0.5),
        ("~", None),
        ("null", None),
        ("", None),
        ('"on"', "on"),
        ("'0755'", "0755"),
        ('"443"', "443"),
        ('"true"', "true"),
        ('"~"', "~"),
        ("!!str 443", "443"),
        ('!!int "7"', 7),
        ("!!float 3", 3.0),
        ("!!bool true", True),
        ("!!null ~", None),
    ],
)
def test_yaml_1_2_scalars(written: str, value: Any) -> None:
    document = load_one(f"value: {written}\n")

    loaded = document.data["value"]
    assert loaded == value
    assert type(loaded) is type(value)


@pytest.mark.parametrize("written", [".nan", ".NaN", ".inf", "-.inf", "+.Inf", "1e999", "-1e999", "!!float .nan"])
def test_a_number_json_cannot_hold_is_refused_where_it_is_written(written: str) -> None:
    """Every output and request is JSON, which has no NaN or Infinity: refused as it is read (issue 19)."""
    documents, problems = load_text(f"type: Trino\nconfig:\n  port: {written}\n", "t.yaml")

    shown = written.removeprefix("!!float ")
    assert problems == [
        Problem(
            SourceLocation("t.yaml", 3, 9),
            "$.config.port",
            f'{shown} is not a number JSON can hold: write a number, or quote it ("{shown}")',
        )
    ]
    assert documents[0].data["config"]["port"] == shown
    assert documents[0].invalid == frozenset({("config", "port")})


def test_a_refused_number_behind_an_alias_is_reported_once_where_it_was_written() -> None:
    _, problems = load_text("a: &x .nan\nb: *x\nc: [*x, *x]\n", "t.yaml")

    assert problems == [
        Problem(
            SourceLocation("t.yaml", 1, 4),
            "$.a",
            '.nan is not a number JSON can hold: write a number, or quote it (".nan")',
        )
    ]


def test_a_tag_that_does_not_fit_its_value_is_reported() -> None:
    documents, problems = load_text("type: Trino\nport: !!int 0443\n", "t.yaml")

    assert problems == [
        Problem(SourceLocation("t.yaml", 2, 7), "$.port", "unsupported YAML tag !!int: write the value without a tag")
    ]
    assert documents[0].data["port"] == "0443"
    assert documents[0].invalid == frozenset({("port",)})


@pytest.mark.parametrize(
    ("text", "tag", "column"),
    [
        ("x: !!python/object:os.system {}\n", "!!python/object:os.system", 4),
        ("x: !!binary aGVsbG8=\n", "!!binary", 4),
        ("x: !!set {a: null}\n", "!!set", 4),
        ("x: !custom 1\n", "!custom", 4),
        ("x: !!omap [a: 1]\n", "!!omap", 4),
    ],
)
def test_unsupported_tags_are_reported_not_constructed(text: str, tag: str, column: int) -> None:
    documents, problems = load_text(text, "t.yaml")

    assert problems == [
        Problem(
            SourceLocation("t.yaml", 1, column), "$.x", f"unsupported YAML tag {tag}: write the value without a tag"
        )
    ]
    assert documents[0].invalid == frozenset({("x",)})


# -- duplicate keys, merge keys, non-string keys -------------------------------------------------


def test_duplicate_keys_are_reported_and_the_first_value_kept() -> None:
    documents, problems = load_text("type: Trino\nconfig:\n  a: 1\n  b: 2\n  a: 3\ntype: Snowflake\n", "d.yaml")

    assert problems == [
        Problem(SourceLocation("d.yaml", 5, 3), "$.config.a", "duplicate key 'a' (first defined on line 3)"),
        Problem(SourceLocation("d.yaml", 6, 1), "$.type", "duplicate key 'type' (first defined on line 1)"),
    ]
    assert documents[0].data == {"type": "Trino", "config": {"a": 1, "b": 2}}
    assert documents[0].invalid == frozenset()


def test_merge_keys() -> None:
    document = load_one(
        "defaults: &defaults\n"
        "  port: 443\n"
        "  host: default-host\n"
        "config:\n"
        "  host: own-host\n"
        "  <<: *defaults\n"
        "other:\n"
        "  <<: [*defaults, {extra: true}]\n"
    )

    assert document.data["config"] == {"host": "own-host", "port": 443}
    assert document.data["other"] == {"port": 443, "host": "default-host", "extra": True}
    assert at(document, "config", "host") == (5, 3)  # the explicit key, not the merged one
    assert at(document, "config", "port") == (2, 3)  # where the merged value was written
    assert at(document, "other", "extra") == (8, 20)


def test_a_merge_of_a_non_mapping_is_reported() -> None:
    documents, problems = load_text("config:\n  <<: 5\n", "m.yaml")

    assert problems == [Problem(SourceLocation("m.yaml", 2, 7), "$.config", "a merge key (<<) needs a mapping")]
    assert documents[0].data == {"config": {}}


def test_a_problem_inside_an_anchor_is_reported_once() -> None:
    _, problems = load_text("base: &b\n  a: 1\n  a: 2\none:\n  <<: *b\ntwo:\n  <<: *b\nthree: *b\n", "m.yaml")

    assert [str(p) for p in problems] == ["m.yaml:3:3: $.base.a: duplicate key 'a' (first defined on line 2)"]


def test_non_string_keys_are_reported() -> None:
    documents, problems = load_text("type: Trino\n1: one\n", "k.yaml")

    assert problems == [Problem(SourceLocation("k.yaml", 2, 1), "$", 'a key must be a string (quote it: "1")')]
    assert documents[0].data == {"type": "Trino"}


# -- syntax errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "a: [1, 2\n",
            "y.yaml:1:4: YAML syntax error: the [ opened here is never closed (reached the end of the file)",
        ),
        (
            "a: {b: 1\n",
            "y.yaml:1:4: YAML syntax error: the { opened here is never closed (reached the end of the file)",
        ),
        (
            "a: [1, 2}\n",
            "y.yaml:1:4: YAML syntax error: the [ opened here is never closed (found } at line 1, column 9)",
        ),
        (
            'a: "open\nb: 1\n',
            "y.yaml:1:4: YAML syntax error: the quoted string that starts here is never closed "
            "(reached the end of the file)",
        ),
        ("a:\n\tb: 1\n", "y.yaml:2:1: YAML syntax error: a tab character here: YAML indents with spaces only"),
        ("a: 1\n\tb: 2\n", "y.yaml:2:1: YAML syntax error: a tab character here: YAML indents with spaces only"),
        (
            "a:\n  b: 1\n c: 2\n",
            "y.yaml:3:2: YAML syntax error: did not find expected key (check this line's indentation)",
        ),
        (
            "a: b: c\n",
            "y.yaml:1:5: YAML syntax error: mapping values are not allowed in this context "
            "(quote a value that contains ': ')",
        ),
        (
            "a: *nowhere\n",
            "y.yaml:1:4: YAML syntax error: found undefined alias (an *alias needs an &anchor defined above it)",
        ),
    ],
)
def test_syntax_errors(text: str, expected: str) -> None:
    documents, problems = load_text(text, "y.yaml")

    assert documents == []
    assert [str(p) for p in problems] == [expected]


def test_a_syntax_error_drops_every_document_of_the_file() -> None:
    documents, problems = load_text("type: Trino\n---\ntype: [\n", "y.yaml")

    assert documents == []
    assert len(problems) == 1


# -- discovery -----------------------------------------------------------------------------------


def _touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("type: Trino\n", encoding="utf-8")


def test_discovery_is_sorted_recursive_and_skips_hidden_files(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "b.yaml",
        "a.yml",
        "A.yaml",
        "sub/z.yaml",
        "sub/deeper/c.yaml",
        "sub-a.yaml",
        ".hidden.yaml",
        ".git/config.yaml",
        "sub/.draft/x.yaml",
        "notes.txt",
        "x.yaml.bak",
        "y.json",
    )

    files, problems = discover([str(tmp_path)])

    assert problems == []
    assert [f.relative_to(tmp_path).as_posix() for f in files] == [
        "A.yaml",
        "a.yml",
        "b.yaml",
        "sub-a.yaml",  # by path text: "-" sorts before "/"
        "sub/deeper/c.yaml",
        "sub/z.yaml",
    ]


def test_discovery_takes_files_and_folders_and_reports_missing_paths(tmp_path: Path) -> None:
    _touch(tmp_path, "one/a.yaml", "two.yaml", "notes.txt")

    files, problems = discover(
        [str(tmp_path / "two.yaml"), str(tmp_path / "one"), "no/such/dir", str(tmp_path / "two.yaml")]
    )

    assert [f.name for f in files] == ["two.yaml", "a.yaml"]  # as given, each once
    assert problems == [Problem(None, "", "no/such/dir: no such file or directory")]


def test_a_file_named_explicitly_is_read_whatever_its_suffix(tmp_path: Path) -> None:
    _touch(tmp_path, "trino.txt")

    documents, problems = load_paths([str(tmp_path / "trino.txt")])

    assert (len(documents), problems) == (1, [])


def test_discovery_order_does_not_depend_on_creation_order(tmp_path: Path) -> None:
    _touch(tmp_path / "x", "c.yaml", "a.yaml", "b.yaml")
    _touch(tmp_path / "y", "b.yaml", "c.yaml", "a.yaml")

    first, _ = discover([str(tmp_path / "x")])
    second, _ = discover([str(tmp_path / "y")])

    assert [f.name for f in first] == [f.name for f in second] == ["a.yaml", "b.yaml", "c.yaml"]


def test_load_paths_reports_unreadable_files_and_reads_the_rest(tmp_path: Path) -> None:
    _touch(tmp_path, "good.yaml")
    (tmp_path / "latin1.yaml").write_bytes(b"type: Trino\nname: caf\xe9\n")

    documents, problems = load_paths([str(tmp_path)])

    assert [d.file for d in documents] == [str(tmp_path / "good.yaml")]
    assert len(problems) == 1
    assert problems[0].location == SourceLocation(str(tmp_path / "latin1.yaml"), 1, 1)
    assert problems[0].message.startswith("cannot read file: ")


def test_yaml_suffixes_count_in_any_letter_case(tmp_path: Path) -> None:
    _touch(tmp_path, "a.YAML", "b.Yml", "c.yAmL", "d.yaml.BAK")

    files, problems = discover([str(tmp_path)])

    assert ([f.name for f in files], problems) == (["a.YAML", "b.Yml", "c.yAmL"], [])


def test_what_is_neither_a_file_nor_a_folder_is_named(tmp_path: Path) -> None:
    _touch(tmp_path, "ok.yaml")
    os.mkfifo(tmp_path / "pipe.yaml")
    os.mkfifo(tmp_path / "sub-pipe")  # not named .yaml: still not something a desired-state folder holds
    (tmp_path / "null").symlink_to("/dev/null")
    os.mkfifo(tmp_path / ".hidden-pipe")  # hidden: skipped, as documented

    files, problems = discover([str(tmp_path)])

    assert [f.name for f in files] == ["ok.yaml"]
    assert [p.message for p in problems] == [
        f"{tmp_path}/null: a device, not a regular file: remove it or hide it (.name)",
        f"{tmp_path}/pipe.yaml: a FIFO (named pipe), not a regular file: remove it or hide it (.name)",
        f"{tmp_path}/sub-pipe: a FIFO (named pipe), not a regular file: remove it or hide it (.name)",
    ]


def test_a_fifo_given_as_a_path_is_named(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "p.yaml")

    files, problems = discover([str(tmp_path / "p.yaml")])

    assert files == []
    assert problems == [
        Problem(None, "", f"{tmp_path}/p.yaml: a FIFO (named pipe), not a file or folder of desired-state files")
    ]


def test_links_to_folders_and_links_to_nothing_are_named(tmp_path: Path) -> None:
    _touch(tmp_path, "elsewhere/a.yaml", "root/b.yaml")
    (tmp_path / "root" / "linked").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "root" / "gone.yaml").symlink_to(tmp_path / "nothing.yaml")
    (tmp_path / "root" / "gone.txt").symlink_to(tmp_path / "nothing.txt")  # not YAML: declares nothing
    (tmp_path / "root" / "c.yaml").symlink_to(tmp_path / "elsewhere" / "a.yaml")  # a linked file is the file

    files, problems = discover([str(tmp_path / "root")])

    assert [f.name for f in files] == ["b.yaml", "c.yaml"]
    assert [p.message for p in problems] == [
        f"{tmp_path}/root/gone.yaml: cannot read: a link to nothing (no such file or directory)",
        f"{tmp_path}/root/linked: a link to a folder, which is not followed: give the folder",
    ]


def test_an_unreadable_folder_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _touch(tmp_path, "a.yaml", "locked/b.yaml", "locked-not/c.yaml")
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:  # as `chmod 000` does for anyone but root (the tests may run as root)
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)

    files, problems = discover([str(tmp_path)])

    assert [f.name for f in files] == ["a.yaml", "c.yaml"]
    assert problems == [Problem(None, "", f"{tmp_path}/locked: cannot read folder: Permission denied")]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads folders whatever their mode")
def test_a_folder_without_permissions_is_named(tmp_path: Path) -> None:
    _touch(tmp_path, "locked/b.yaml")
    (tmp_path / "locked").chmod(0)
    try:
        files, problems = discover([str(tmp_path)])
    finally:
        (tmp_path / "locked").chmod(0o755)

    assert (files, problems) == ([], [Problem(None, "", f"{tmp_path}/locked: cannot read folder: Permission denied")])


def test_a_saved_plan_given_as_a_desired_state_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text('{"kind": "reconciler-plan", "format_version": 1}\n', encoding="utf-8")
    (tmp_path / "other.json").write_text('{"type": "Trino"}\n', encoding="utf-8")  # JSON is YAML: read

    documents, problems = load_paths([str(tmp_path / "plan.json"), str(tmp_path / "other.json")])

    assert [d.data for d in documents] == [{"type": "Trino"}]
    assert problems == [
        Problem(
            None,
            "",
            f"{tmp_path}/plan.json: a saved plan, not a desired-state file: apply it with `apply {tmp_path}/plan.json`",
        )
    ]


# -- references --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found", "errors"),
    [
        ("plain", [], []),
        ("${env:TOKEN}", [Reference("env", "TOKEN")], []),
        ("${file:keys/a.p8}", [Reference("file", "keys/a.p8")], []),
        ("${var:region}", [Reference("var", "region")], []),
        ("${env:A}-${env:B_2}", [Reference("env", "A"), Reference("env", "B_2")], []),
        ("${env:_X}", [Reference("env", "_X")], []),
        ("$env:NOT_A_REF", [], []),
        (
            "${vault:x}",
            [],
            ["unknown reference kind 'vault' in ${vault:x}: use ${env:NAME}, ${file:PATH} or ${var:NAME}"],
        ),
        ("${env:}", [], ["${env:} names no variable: write ${env:NAME}"]),
        ("${file:}", [], ["${file:} names no file: write ${file:PATH}"]),
        (
            "${env:1BAD}",
            [],
            ["${env:1BAD}: '1BAD' is not a valid variable name (letters, digits and _, not starting with a digit)"],
        ),
        ("${TOKEN}", [], ["${TOKEN} has no kind: write ${env:TOKEN} (or ${file:PATH})"]),
        ("${p@ss w0rd}", [], ["${…} is not a reference: use ${env:NAME}, ${file:PATH} or ${var:NAME}"]),
        ("${}", [], ["${…} is not a reference: use ${env:NAME}, ${file:PATH} or ${var:NAME}"]),
        ("${env:OK} ${env:}", [Reference("env", "OK")], ["${env:} names no variable: write ${env:NAME}"]),
    ],
)
def test_references(text: str, found: list[Reference], errors: list[str]) -> None:
    assert references(text) == (found, errors)


def test_reference_text() -> None:
    assert str(Reference("env", "TOKEN")) == "${env:TOKEN}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${env:A}", True),
        (" ${env:A} ", True),
        ("${env:A}${file:b}", True),
        ("${vault:x}", True),  # malformed, but reported as a reference problem, not as a literal secret
        ("pre-${env:A}", False),
        ("${env:A}suffix", False),
        ("hunter2", False),
        ("", False),
        ("$env:A", False),
    ],
)
def test_is_reference_only(text: str, expected: bool) -> None:
    assert is_reference_only(text) is expected


def test_lookup_reads_the_environment() -> None:
    lookup = Lookup({"TOKEN": "t0k3n"})

    assert lookup.read(Reference("env", "TOKEN"), Path(".")) == "t0k3n"
    with pytest.raises(LookupError, match=r"^environment variable MISSING is not set$"):
        lookup.read(Reference("env", "MISSING"), Path("."))


def test_lookup_reads_values() -> None:
    lookup = Lookup({}, {"region": "eu"})

    assert lookup.read(Reference("var", "region"), Path(".")) == "eu"
    with pytest.raises(LookupError, match="value other is not defined"):
        lookup.read(Reference("var", "other"), Path("."))


def test_lookup_reads_files_relative_to_the_yaml_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "integrations.d" / "keys").mkdir(parents=True)
    (tmp_path / "integrations.d" / "team").mkdir()
    (tmp_path / "integrations.d" / "keys" / "a.p8").write_text("-----KEY-----\nline 2\n", encoding="utf-8")
    (tmp_path / "integrations.d" / "crlf.txt").write_bytes(b"value\r\n")
    (tmp_path / "integrations.d" / "two-newlines.txt").write_text("value\n\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    lookup = Lookup({}, roots=["integrations.d"])
    base = Path("integrations.d/team")

    assert lookup.read(Reference("file", "../keys/a.p8"), base) == "-----KEY-----\nline 2"
    assert lookup.read(Reference("file", str(tmp_path / "integrations.d" / "crlf.txt")), base) == "value"
    assert lookup.read(Reference("file", "../two-newlines.txt"), base) == "value\n"  # only one newline is cut
    with pytest.raises(LookupError) as missing:
        lookup.read(Reference("file", "../keys/none.p8"), base)
    assert str(missing.value) == (
        "cannot read file ../keys/none.p8 (read as integrations.d/team/../keys/none.p8): No such file or directory"
    )


OUTSIDE = (
    "it is outside integrations.d, the folder(s) of the desired state "
    "(an environment file's fileRoots can name another)"
)


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("/dev/zero", "/dev/zero"),  # would never end
        ("/etc/passwd", "/etc/passwd"),
        ("../.git/config", "../.git/config (read as integrations.d/../.git/config)"),  # a CI token
        ("~/.ssh/id_rsa", "~/.ssh/id_rsa"),
    ],
)
def test_lookup_reads_no_file_outside_the_desired_state(
    name: str, shown: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "integrations.d").mkdir()
    monkeypatch.chdir(tmp_path)
    lookup = Lookup({}, roots=["integrations.d"])

    with pytest.raises(LookupError) as refused:
        lookup.read(Reference("file", name), Path("integrations.d"))

    shown = shown if not name.startswith("~") else f"~/.ssh/id_rsa (read as {Path(name).expanduser().as_posix()})"
    assert str(refused.value) == f"cannot read file {shown}: {OUTSIDE}"


def test_a_link_out_of_the_desired_state_is_outside_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "integrations.d").mkdir()
    (tmp_path / "integrations.d" / "key").symlink_to("/dev/zero")
    monkeypatch.chdir(tmp_path)

    with pytest.raises(LookupError) as refused:
        Lookup({}, roots=["integrations.d"]).read(Reference("file", "key"), Path("integrations.d"))

    assert str(refused.value) == f"cannot read file key (read as integrations.d/key): {OUTSIDE}"


def test_without_roots_only_the_yaml_files_folder_is_read(tmp_path: Path) -> None:
    (tmp_path / "team").mkdir()
    (tmp_path / "shared.txt").write_text("x", encoding="utf-8")

    with pytest.raises(LookupError, match="it is outside "):
        Lookup({}).read(Reference("file", "../shared.txt"), tmp_path / "team")


def test_an_environments_root_is_read_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "integrations.d").mkdir()
    (tmp_path / "run-secrets").mkdir()
    (tmp_path / "run-secrets" / "pw").write_text("s3cret\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    lookup = Lookup({}, roots=file_roots(["integrations.d"], [str(tmp_path / "run-secrets")]))

    assert lookup.read(Reference("file", str(tmp_path / "run-secrets" / "pw")), Path("integrations.d")) == "s3cret"


def test_file_roots_are_the_given_folders_and_the_folders_of_given_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "d").mkdir()
    monkeypatch.chdir(tmp_path)  # outside Git: the repository is the working folder

    assert file_roots([str(tmp_path / "d"), str(tmp_path / "d" / "a.yaml"), "b.yaml"], ["/run/secrets"]) == (
        str(tmp_path / "d"),
        ".",
        "/run/secrets",
    )


def test_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")  # no writer: reading it would wait forever

    with pytest.raises(LookupError) as refused:
        Lookup({}, roots=[tmp_path]).read(Reference("file", "pipe"), tmp_path)

    assert str(refused.value) == (
        f"cannot read file pipe (read as {tmp_path.as_posix()}/pipe): not a regular file (a FIFO)"
    )


def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * (FILE_LIMIT_BYTES + 1))
    (tmp_path / "at-limit").write_bytes(b"x" * FILE_LIMIT_BYTES)
    lookup = Lookup({}, roots=[tmp_path])

    assert len(lookup.read(Reference("file", "at-limit"), tmp_path)) == 1024 * 1024
    with pytest.raises(LookupError) as refused:
        lookup.read(Reference("file", "big"), tmp_path)
    assert str(refused.value).endswith(
        ": the file is 1,048,577 bytes, over the limit of 1,048,576 bytes (1 MiB) for a ${file:} value"
    )


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    (tmp_path / "latin1").write_bytes(b"caf\xe9")

    with pytest.raises(LookupError) as refused:
        Lookup({}, roots=[tmp_path]).read(Reference("file", "latin1"), tmp_path)

    assert str(refused.value).endswith(": not UTF-8 text (byte 0xe9 at offset 3)")


def test_substitute_replaces_every_reference(tmp_path: Path) -> None:
    (tmp_path / "user").write_text("immuta\n", encoding="utf-8")
    lookup = Lookup({"HOST": "db.example.com"}, roots=[tmp_path])

    assert substitute("${file:user}@${env:HOST}", lookup, tmp_path) == "immuta@db.example.com"
    with pytest.raises(LookupError):
        substitute("${env:NOPE}", lookup, tmp_path)


# -- Secret never shows its value ----------------------------------------------------------------


def test_secret_never_shows_its_value(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret("hunter2")
    shown = [
        str(secret),
        repr(secret),
        format(secret),
        format(secret, ">20"),
        f"{secret}",
        f"{secret!r}",
        f"{secret!s}",
        f"{secret:^30}",
        "%s %r" % (secret, secret),  # noqa: UP031 - the old formatting must be safe too
        "{} {!r}".format(secret, secret),  # noqa: UP032
        json.dumps({"password": secret}, default=str),
        str([secret, {"k": secret}]),
        repr({"k": (secret,)}),
    ]
    with caplog.at_level(logging.DEBUG, logger="reconciler.test"):
        logging.getLogger("reconciler.test").debug("value %s %r", secret, secret)
        logging.getLogger("reconciler.test").debug(secret)

    for text in [*shown, caplog.text]:
        assert "hunter2" not in text
        assert PLACEHOLDER in text
    assert secret.reveal() == "hunter2"


def test_secret_equality_hashing_and_pickling() -> None:
    import pickle

    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert Secret("a") != "a"
    with pytest.raises(TypeError):
        hash(Secret("a"))
    with pytest.raises(TypeError):
        pickle.dumps(Secret("a"))


def test_json_without_default_refuses_a_secret() -> None:
    with pytest.raises(TypeError):
        json.dumps({"password": Secret("hunter2")})


def test_mask_all_and_reveal_all() -> None:
    payload = {"config": {"password": Secret("hunter2"), "hosts": [Secret("x"), "h"]}, "n": 1}

    assert mask_all(payload) == {"config": {"password": PLACEHOLDER, "hosts": [PLACEHOLDER, "h"]}, "n": 1}
    assert reveal_all(payload) == {"config": {"password": "hunter2", "hosts": ["x", "h"]}, "n": 1}
