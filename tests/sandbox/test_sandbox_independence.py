"""The simulator is a second reading of the contract: it imports nothing of the reconciler and reads no
schema, and only the command line (target.py, cli.py) chooses it as the transport (issue 10.1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sandbox_harness import Call
from sandbox_testdata import DELETE_CREDENTIALS, payload

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "reconciler"
REQUIRED = (
    "Integrations that are automatically configured require privileged credentials to disable. "
    "Please provide them in your payload."
)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            found |= {arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)}
    return found


def test_the_sandbox_imports_nothing_of_the_reconciler() -> None:
    offenders = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in (PACKAGE / "sandbox").glob("*.py")
        for module in imported_modules(path)
        if module.startswith("reconciler") and not module.startswith("reconciler.sandbox")
    }
    assert offenders == set()


def test_the_sandbox_reads_no_schema() -> None:
    readers = [p.name for p in (PACKAGE / "sandbox").glob("*.py") if ".schema.json" in p.read_text(encoding="utf-8")]
    assert readers == []


# Only the command line chooses the in-process simulator (connect.py) and serves it (sandbox_commands.py).
ALLOWED_IMPORTERS = {"cli/connect.py", "cli/sandbox_commands.py"}


def test_only_the_command_line_imports_the_sandbox() -> None:
    importers = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if "sandbox" not in path.relative_to(PACKAGE).parts[:1]
        and any(m.startswith("reconciler.sandbox") for m in imported_modules(path))
    }
    assert importers == ALLOWED_IMPORTERS


def test_a_snowflake_tombstone_with_only_the_role_is_refused(call: Call) -> None:
    """§5: the privileged credentials themselves are needed, not just some field of them."""
    assert call("POST", "/integrations", payload("Snowflake")).status == 200
    answer = call("DELETE", "/integrations/1", {"role": "ACCOUNTADMIN"})
    assert (answer.status, answer.json["message"]) == (400, REQUIRED)
    assert call("DELETE", "/integrations/1", DELETE_CREDENTIALS["Snowflake"]).status == 200


@pytest.mark.parametrize("type_name", ["Redshift", "Azure Synapse Analytics"])
def test_a_delete_without_the_password_is_refused(call: Call, type_name: str) -> None:
    assert call("POST", "/integrations", payload(type_name)).status == 200
    only_user = {"username": DELETE_CREDENTIALS[type_name]["username"]}
    answer = call("DELETE", "/integrations/1", only_user)
    assert (answer.status, answer.json["message"]) == (400, REQUIRED)
