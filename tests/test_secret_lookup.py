"""Reading `${env:}`, `${var:}` and `${file:}` references: what each form means, and the exact message when
one is refused or malformed (issue 20: a test per safety rule of reconciler/secrets.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.secrets import Lookup, Reference, RefusedReference, Secret, references, substitute

OUTSIDE = "the folder(s) of the desired state (an environment file's fileRoots can name another)"


@pytest.mark.parametrize(
    ("text", "found", "errors"),
    [
        ("${file:C:/keys/a.p8}", [Reference("file", "C:/keys/a.p8")], []),  # only the first `:` ends the kind
        (
            "${env:A:B}",
            [],
            ["${env:A:B}: 'A:B' is not a valid variable name (letters, digits and _, not starting with a digit)"],
        ),
        (
            "${var:1BAD}",
            [],
            ["${var:1BAD}: '1BAD' is not a valid variable name (letters, digits and _, not starting with a digit)"],
        ),
    ],
)
def test_reference_forms(text: str, found: list[Reference], errors: list[str]) -> None:
    assert references(text) == (found, errors)


def test_the_value_is_what_reveal_gives() -> None:
    assert Secret("pw-1").reveal() == "pw-1"


def test_a_file_name_holding_a_colon_is_read(tmp_path: Path) -> None:
    (tmp_path / "pw:1.txt").write_text("from-the-file\n", encoding="utf-8")
    assert substitute("${file:pw:1.txt}", Lookup({}), tmp_path) == "from-the-file"


def test_the_reconcilers_own_key_is_refused_by_name() -> None:
    with pytest.raises(RefusedReference) as refused:
        Lookup({"IMMUTA_API_KEY": "k"}).read(Reference("env", "IMMUTA_API_KEY"), Path("."))
    assert str(refused.value) == (
        "${env:IMMUTA_API_KEY} names the reconciler's own credentials (IMMUTA_*), which can never be referenced: "
        "give this secret its own variable"
    )


def test_a_file_outside_every_root_names_them_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    (tmp_path / "x").write_text("not for the plan", encoding="utf-8")
    lookup = Lookup({}, roots=["a", "b"])
    with pytest.raises(RefusedReference) as refused:
        lookup.read(Reference("file", "../x"), tmp_path / "a")
    assert str(refused.value) == f"cannot read file ../x (read as {tmp_path}/a/../x): it is outside a, b, {OUTSIDE}"


def test_the_working_folder_is_shown_as_a_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    with pytest.raises(RefusedReference) as refused:
        Lookup({}).read(Reference("file", "../x"), tmp_path / "work")
    assert str(refused.value) == f"cannot read file ../x (read as {tmp_path}/work/../x): it is outside ., {OUTSIDE}"
