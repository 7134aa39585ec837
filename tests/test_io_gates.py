"""A promise is a gate, not a habit (STYLE.md rule 13): this test walks the package's syntax trees so the safe
way stays the only way. No module but the one reader and writer (reconciler/files.py) opens, reads or writes
a file; no module but the one JSON parser (reconciler/jsontext.py, through client/decoder.py for answers)
parses JSON text. The exceptions are listed with their reason."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "reconciler"

FILE_GATE = "files.py"
JSON_GATE = "jsontext.py"
# Justified exceptions, each with its reason.
FILE_EXCEPTIONS = {
    "sandbox/statefile.py": "the simulator imports nothing of the reconciler: its own bounded reader and writer",
    "validation/schema.py": "the package's own schema files (package data, not the user's)",
}
JSON_EXCEPTIONS = {
    "validation/schema.py": "the package's own schema files (package data, not the user's)",
    "sandbox/tenant.py": "the simulator's state file, read by its own bounded reader (sandbox/statefile.py)",
    "sandbox/validation.py": "the simulator parses the requests it is sent, as Immuta does",
}

# Calls that open, read or write a file: a name called, or an attribute called on anything.
FILE_CALLS = {"open"}
FILE_ATTRIBUTES = {"read_text", "read_bytes", "write_text", "write_bytes", "open", "fdopen", "mkstemp"}
FILE_ATTRIBUTES |= {"NamedTemporaryFile", "TemporaryFile", "replace", "rename"}
OS_ONLY = {"replace", "rename", "open", "fdopen"}
JSON_ATTRIBUTES = {"loads", "load", "JSONDecoder"}


def modules() -> list[tuple[str, ast.Module]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        found.append((name, ast.parse(path.read_text(encoding="utf-8"), filename=name)))
    return found


def gate_names(tree: ast.Module) -> set[str]:
    """The names this module gives reconciler/files.py (`from reconciler import files as writer`)."""
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "reconciler"
        for alias in node.names
        if alias.name == "files"
    }


def file_operations(tree: ast.Module) -> list[str]:
    gate = gate_names(tree)
    hits = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Name) and function.id in FILE_CALLS:
            hits.append(f"{function.id}() at line {node.lineno}")
        elif isinstance(function, ast.Attribute) and function.attr in FILE_ATTRIBUTES:
            owner = function.value
            if isinstance(owner, ast.Name) and owner.id in gate:
                continue  # the gate's own read_text / write_text
            on_os = isinstance(owner, ast.Name) and owner.id in ("os", "io")
            # `str.replace` is everywhere: only os.replace / os.rename / os.fdopen are file operations, while
            # `.open()` on anything (os, io, a Path, tarfile) is one.
            if function.attr in OS_ONLY and function.attr != "open" and not on_os:
                continue
            hits.append(f".{function.attr}() at line {node.lineno}")
    return hits


def json_parses(tree: ast.Module) -> list[str]:
    return [
        f"json.{node.func.attr}() at line {node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in JSON_ATTRIBUTES
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "json"
    ]


def test_only_the_reader_and_writer_touch_files() -> None:
    offenders = {
        name: hits
        for name, tree in modules()
        if name != FILE_GATE and name not in FILE_EXCEPTIONS and (hits := file_operations(tree))
    }
    assert offenders == {}, "read and write files through reconciler/files.py"


def test_only_the_one_parser_reads_json_text() -> None:
    offenders = {
        name: hits
        for name, tree in modules()
        if name != JSON_GATE and name not in JSON_EXCEPTIONS and (hits := json_parses(tree))
    }
    assert offenders == {}, "parse JSON with reconciler/jsontext.py (answers: client/decoder.py)"


def test_the_gates_are_where_the_allow_lists_say() -> None:
    """The exceptions still exist and still need to be exceptions: a stale entry would hide a new module."""
    trees = dict(modules())
    assert file_operations(trees[FILE_GATE]) and json_parses(trees[JSON_GATE])
    for name in FILE_EXCEPTIONS:
        assert file_operations(trees[name]), name
    for name in JSON_EXCEPTIONS:
        assert json_parses(trees[name]), name


def test_the_walk_finds_what_it_forbids() -> None:
    forbidden = ast.parse(
        "open(p)\nPath(p).read_text()\np.write_bytes(b)\nos.open(p, 0)\nos.replace(a, b)\n"
        "tempfile.mkstemp()\nos.fdopen(fd)\njson.loads(t)\njson.load(f)\n"
    )
    allowed = ast.parse(
        "from reconciler import files as writer\n'a'.replace('b', 'c')\nconnect.open_client(t)\njson.dumps(v)\n"
        "writer.write_text(p, t, what='x')\n"
    )

    assert len(file_operations(forbidden)) == 7
    assert len(json_parses(forbidden)) == 2
    assert file_operations(allowed) == [] and json_parses(allowed) == []
