"""Runs the steps of action.yml and of the workflows the way a GitHub runner does, minus GitHub: expressions
are filled in from the given inputs, matrix and step outputs; `run:` scripts run under `bash -e -o pipefail`
(GitHub's `shell: bash`); the reconciler "installed" by the action is this test environment's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Two desired-state files whose passwords come from the CI's secrets: what the CI-path tests apply.
SNOWFLAKE_WITH_SECRET = """\
type: Snowflake
autoBootstrap: false
config:
  host: acme.us-east-1.snowflakecomputing.com
  warehouse: IMMUTA_WH
  database: IMMUTA_PROD
  authenticationType: userPassword
  username: immuta
  password: ${env:SNOWFLAKE_PASSWORD}
"""
REDSHIFT_WITH_SECRET = """\
type: Redshift
autoBootstrap: false
config:
  host: warehouse.c1a2b3c4d5e6.us-east-1.redshift.amazonaws.com
  database: immuta_warehouse
  authenticationType: userPassword
  username: immuta_system
  password: ${env:REDSHIFT_PASSWORD}
"""

REPO = Path(__file__).resolve().parent.parent
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def load_yaml(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    if True in document:  # YAML 1.1 reads the bare key `on` as the boolean true
        document["on"] = document.pop(True)
    return document


ACTION = load_yaml(REPO / "action.yml")


def evaluate(text: Any, context: Mapping[str, Any]) -> str:
    """`${{ … }}` filled in: a dotted name from `context`, `a || b`, `format('…{0}', x)` and string literals."""

    def one(expression: str) -> str:
        for alternative in _top_level(expression, "||"):
            value = _term(alternative.strip(), context)
            if value:
                return value
        return ""

    return EXPRESSION.sub(lambda m: one(m.group(1)), str(text))


def _top_level(expression: str, separator: str) -> list[str]:
    """`expression` split at `separator` outside parentheses and quotes."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(expression):
        char = expression[i]
        if char == "'":
            quoted = not quoted
        elif not quoted and char in "()":
            depth += 1 if char == "(" else -1
        elif not quoted and depth == 0 and expression.startswith(separator, i):
            parts.append(expression[start:i])
            start = i = i + len(separator)
            continue
        i += 1
    return [*parts, expression[start:]]


def _term(term: str, context: Mapping[str, Any]) -> str:
    if term.startswith("'") and term.endswith("'"):
        return term[1:-1]
    call = re.fullmatch(r"format\((.*)\)", term)
    if call:
        template, *args = [a.strip() for a in _top_level(call.group(1), ",")]
        values = [evaluate("${{ " + a + " }}", context) for a in args]
        return evaluate("${{ " + template + " }}", context).format(*values)
    value: Any = context
    for part in term.split("."):
        value = value.get(part, "") if isinstance(value, Mapping) else ""
    return "" if value is None else str(value)


@dataclass(frozen=True)
class ActionResult:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str


def runner_temp(tmp: Path) -> Path:
    """RUNNER_TEMP as the action's install step leaves it: a `reconciler-venv` holding `reconciler`."""
    temp = tmp / "runner-temp"
    venv = temp / "reconciler-venv"
    if not venv.exists():
        temp.mkdir(parents=True, exist_ok=True)
        venv.symlink_to(Path(sys.executable).parent.parent)
    return temp


def run_script(script: str, env: Mapping[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    path = cwd / ".step.sh"
    path.write_text(script, encoding="utf-8")
    try:
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
            cwd=cwd,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
    finally:
        path.unlink()


def run_action(inputs: Mapping[str, str], cwd: Path, extra_env: Mapping[str, str] | None = None) -> ActionResult:
    """The action's `reconciler` step with these inputs (defaults from action.yml), in `cwd`."""
    declared = ACTION["inputs"]
    unknown = set(inputs) - set(declared)
    assert not unknown, f"inputs action.yml does not declare: {unknown}"
    values = {name: str(spec.get("default", "")) for name, spec in declared.items()}
    values.update(inputs)
    step = next(s for s in ACTION["runs"]["steps"] if s.get("id") == "run")
    env = {name: evaluate(value, {"inputs": values}) for name, value in step["env"].items()}
    temp = runner_temp(cwd.parent)
    outputs_file, summary_file = temp / "output", temp / "summary"
    outputs_file.write_text("", encoding="utf-8")
    summary_file.write_text("", encoding="utf-8")
    env |= {
        "RUNNER_TEMP": str(temp),
        "GITHUB_OUTPUT": str(outputs_file),
        "GITHUB_STEP_SUMMARY": str(summary_file),
        "GITHUB_ACTIONS": "true",
        "NO_COLOR": "1",
        **(extra_env or {}),
    }
    result = run_script(step["run"], env, cwd)
    outputs = dict(line.split("=", 1) for line in outputs_file.read_text(encoding="utf-8").splitlines() if "=" in line)
    return ActionResult(result.returncode, result.stdout, result.stderr, outputs, summary_file.read_text("utf-8"))


class RecordingSandbox:
    """The simulator served over loopback HTTP (no placeholder secrets: that is `--sandbox` only), keeping every
    request body it received, so a test can see each secret value reach Immuta."""

    def __init__(self, api_key: str) -> None:
        from reconciler.sandbox import Sandbox, SandboxRequest, SandboxResponse, start_server

        bodies = self.bodies = []  # type: list[bytes]
        requests = self.requests = []  # type: list[tuple[str, str]]

        class Recording(Sandbox):
            def handle(self, request: SandboxRequest) -> SandboxResponse:
                bodies.append(request.body)
                requests.append((request.method, request.path.partition("?")[0]))
                return super().handle(request)

        self.sandbox = Recording(api_key=api_key)
        self.server = start_server(self.sandbox)
        self.url = self.server.url

    def received(self, value: str) -> bool:
        """Whether `value` arrived in some request body, as JSON encodes it."""
        import json

        encoded = json.dumps(value)[1:-1].encode()
        return any(encoded in body for body in self.bodies)

    def writes(self) -> int:
        """Requests that change an integration (creates, updates, deletes); reads and searches excluded."""
        return sum(
            1
            for method, path in self.requests
            if path.startswith("/integrations")
            and "/scripts/" not in path
            and (method in ("PUT", "DELETE") or (method == "POST" and path.rstrip("/") == "/integrations"))
        )

    def close(self) -> None:
        self.server.close()


def outputs_of(result: ActionResult, *files: Path) -> str:
    """Everything a run leaves for people to read: the log (without the ::add-mask:: commands, which the
    runner consumes), the job summary, the outputs and the files they name."""
    log = "\n".join(
        line for line in (result.stdout + result.stderr).splitlines() if not line.startswith("::add-mask::")
    )
    named = [Path(v) for v in result.outputs.values() if v.startswith("/") and Path(v).is_file()]
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in [*named, *files] if p.is_file()]
    return "\n".join([log, result.summary, *result.outputs.values(), *texts])
