"""`reconciler validate` over one fixture folder per error case, with the exact report asserted.

Each folder under tests/fixtures/validate/ holds the YAML files of one case and `expected.txt`, the exact
stdout of `reconciler validate .` run inside the folder. Optional files:
  flags.txt          extra command-line flags (whitespace-separated)
  env.txt            NAME=VALUE lines set in the environment for the run
  secret-values.txt  literal secret values (one a line) that must appear nowhere in stdout or stderr
The exit code is 1 when the report holds an error and 0 when it holds only warnings (or nothing).

After a deliberate change of wording, regenerate with `RECONCILER_REGEN_FIXTURES=1 pytest tests/test_validate.py`
and review the diff of the expected.txt files like any other change. Under CI=true that is refused.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from regenerating import regenerating

from reconciler.loading.loader import load_paths
from reconciler.validation import schema
from reconciler.validation.validate import ValidationOptions, check_documents

RunCli = Callable[..., Any]  # the `run_cli` fixture of conftest.py
EXAMPLES = Path(__file__).resolve().parent.parent / "integrations.d"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "validate"
CASES = sorted(p for p in FIXTURES.iterdir() if p.is_dir())


def _lines(folder: Path, name: str) -> list[str]:
    path = folder / name
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line] if path.exists() else []


def _expected_exit(report: str) -> int:
    return 1 if any(": warning: " not in line for line in report.splitlines()) else 0


def test_there_is_a_fixture_per_error_case() -> None:
    assert len(CASES) >= 45
    for folder in CASES:
        assert (folder / "expected.txt").is_file(), folder.name
        assert any(folder.rglob("*.yaml")) or any(folder.rglob("*.yml")), folder.name


@pytest.mark.parametrize("folder", CASES, ids=[p.name for p in CASES])
def test_validate_reports_exactly(folder: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    for line in _lines(folder, "env.txt"):
        name, _, value = line.partition("=")
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(folder)

    result = run_cli("validate", *" ".join(_lines(folder, "flags.txt")).split(), ".")

    if regenerating("RECONCILER_REGEN_FIXTURES"):
        (folder / "expected.txt").write_text(result.stdout, encoding="utf-8")
    expected = (folder / "expected.txt").read_text(encoding="utf-8")
    assert result.stdout == expected
    assert result.exit_code == _expected_exit(expected)
    for secret in _lines(folder, "secret-values.txt"):
        assert secret not in result.stdout + result.stderr


def test_every_example_validates_clean(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES.parent)

    result = run_cli("validate", "--strict")  # the default path is integrations.d

    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr.endswith(": valid (0 error(s), 0 warning(s))\n")


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_each_example_validates_on_its_own(example: Path, run_cli: RunCli) -> None:
    result = run_cli("validate", "--strict", str(example))

    assert (result.exit_code, result.stdout) == (0, "")


def test_examples_cover_the_seven_types() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in EXAMPLES.glob("*.yaml"))
    for name in (
        "Snowflake",
        "Databricks",
        "Redshift",
        "Azure Synapse Analytics",
        "Google BigQuery",
        "Native S3",
        "Trino",
    ):
        assert f"\ntype: {name}\n" in text, name


def test_problems_are_sorted_by_file_then_line_across_files(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "b.yaml").write_text("type: Trino\nconfig: {}\nowner: me\n", encoding="utf-8")
    (tmp_path / "a.yaml").write_text(
        "type: Redshift\nautoBootstrap: maybe\nconfig:\n  host: h\n  database: d\n  port: x\n"
        "  authenticationType: okta\n  username: u\n  password: p\n",
        encoding="utf-8",
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "0.yaml").write_text("type: Nope\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    result = run_cli("validate", "sub", "b.yaml", "a.yaml")  # given out of order

    where = [line.split(": ", 1)[0] for line in result.stdout.splitlines()]
    assert where == [
        "a.yaml:2:1",
        "a.yaml:6:3",
        "a.yaml:9:3",
        "b.yaml:2:1",
        "b.yaml:3:1",
        "sub/0.yaml:1:1",
    ]
    assert result.exit_code == 1


def test_every_file_is_reported_in_one_run(tmp_path: Path, run_cli: RunCli) -> None:
    for index in range(5):
        (tmp_path / f"bad-{index}.yaml").write_text("type: Trino\nautoBootstrap: false\n", encoding="utf-8")

    result = run_cli("validate", str(tmp_path))

    assert len(result.stdout.splitlines()) == 5 + 4  # each file's error, plus four "a second Trino"
    assert result.stderr.endswith("invalid (9 error(s), 0 warning(s))\n")


# -- any document, however mangled, gets located messages ---------------------------------------

_SCHEMAS = schema.load()
_BASES = [
    document.data
    for folder in [EXAMPLES, *CASES]
    for document in load_paths([str(folder)])[0]
    if isinstance(document.data, dict)
]
_WORDS = sorted(
    {
        *(name for t in _SCHEMAS.types.values() for path in t.secret_paths for name in map(str, path)),
        *(name for doc in _BASES for name in doc),
        *(name for doc in _BASES if isinstance(doc.get("config"), dict) for name in doc["config"]),
        *_SCHEMAS.type_names,
        "userPassword",
        "keyPair",
        "oAuthClientCredentials",
        "token",
        "oAuthM2M",
        "auto",
        "accessKey",
        "okta",
        "absent",
        "present",
        "PRIV_KEY_FILE",
        "_secure",
        "secure",
        "https://h",
        "h.example.com",
        "123456789012",
        "us-east-1",
        "s3://b/",
        "arn:aws:iam::123456789012:role/r",
        "config.lineage",
        "autoBootstrap",
        "yes",
        "0443",
        "${env:X}",
        "1abc",
        "",
    }
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, 443, 65535, 70000, -1, 1.0, 443.0, 1.5]),
    st.sampled_from(_WORDS),
    st.text(max_size=8),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(_WORDS), inner, max_size=3)),
    max_leaves=6,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_paths(child, (*path, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_paths(child, (*path, index)))
    return found


@st.composite
def _mutated_documents(draw: st.DrawFn) -> Any:
    document = copy.deepcopy(draw(st.sampled_from(_BASES)))
    for _ in range(draw(st.integers(0, 3))):
        containers = [p for p in _paths(document) if isinstance(_get(document, p), (dict, list)) and p]
        if not containers:
            break
        parent = _get(document, draw(st.sampled_from(containers)))
        if isinstance(parent, list):
            if parent and draw(st.booleans()):
                parent.pop(draw(st.integers(0, len(parent) - 1)))
            else:
                parent.append(draw(_VALUES))
        elif parent and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(parent)))
            if draw(st.booleans()):
                del parent[key]
            else:
                parent[key] = draw(_VALUES)
        else:
            parent[draw(st.sampled_from(_WORDS))] = draw(_VALUES)
    return document


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


@settings(
    max_examples=int(os.environ.get("RECONCILER_MANGLED_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(_mutated_documents())
def test_a_mangled_document_gets_messages_never_an_exception(document: Any) -> None:

    examples = load_paths([str(EXAMPLES)])[0]
    mangled = copy.copy(examples[0])
    object.__setattr__(mangled, "data", document)
    problems = check_documents([mangled], _SCHEMAS, ValidationOptions())
    errors = [p for p in problems if p.severity == "error"]
    # jsonschema is the one implementation: a document it rejects is reported, one it accepts is not.
    if any(True for _ in _SCHEMAS.validator.iter_errors(document)):
        assert errors
    assert all(p.message and p.json_path.startswith("$") and p.location is not None for p in problems)


def test_nan_items_are_reported_not_compared() -> None:
    """`[.nan, .nan]` in a unique list: jsonschema, the one implementation, reports each item's type."""
    examples = load_paths([str(EXAMPLES)])[0]
    snowflake = copy.deepcopy(next(d for d in examples if d.data["type"] == "Snowflake"))
    lifecycle = {"ignoreChanges": [float("nan"), float("nan")]}
    object.__setattr__(snowflake, "data", {**snowflake.data, "lifecycle": lifecycle})
    problems = check_documents([snowflake], _SCHEMAS, ValidationOptions())
    assert [(p.json_path, p.message) for p in problems] == [
        ("$.lifecycle.ignoreChanges[0]", 'must be a string, not a number NaN (quote it: "nan")'),
        ("$.lifecycle.ignoreChanges[1]", 'must be a string, not a number NaN (quote it: "nan")'),
    ]
