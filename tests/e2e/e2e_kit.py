"""What the end-to-end tests share: the simulator served over real HTTP on 127.0.0.1 that also records each
request's body, the shipped files' secrets, and small helpers to edit desired-state files."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reconciler.sandbox import Sandbox, SandboxRequest, SandboxResponse, start_server
from reconciler.sandbox.server import RunningServer

KEY = "e2e-api-key"
REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "integrations.d"
# Every ${env:…} the shipped files reference, with recognisable values to hunt for in output.
SHIPPED_SECRETS = {
    "BIGQUERY_IMMUTA_SA_KEY": '{"type": "service_account", "private_key": "bq-e2e-secret"}',
    "DATABRICKS_OAUTH_CLIENT_SECRET": "dbx-e2e-secret",
    "REDSHIFT_BOOTSTRAP_PASSWORD": "redshift-e2e-secret",
    "S3_IMMUTA_ACCESS_KEY_ID": "AKIA-e2e-secret",
    "S3_IMMUTA_SECRET_ACCESS_KEY": "s3-e2e-secret",
    "SNOWFLAKE_ADMIN_PASSWORD": "snowflake-e2e-secret",
    "SYNAPSE_IMMUTA_PASSWORD": "synapse-e2e-secret",
}
WRITES = ("POST", "PUT", "DELETE")
SEARCH = "/data/object/search"  # a POST that reads (docs/immuta-api.md §10.2)

RunCli = Callable[..., Any]  # tests/conftest.py's `run_cli`: (*args) -> CliResult(exit_code, stdout, stderr)


@dataclass(frozen=True, slots=True)
class Exchange:
    method: str
    path: str
    body: Any  # the JSON body as the simulator received it, None when empty
    status: int | None  # None: the connection was dropped


class RecordingSandbox(Sandbox):
    """The simulator, also remembering each request's body and answer status: what the DELETE carried."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.exchanges: list[Exchange] = []
        self.after_list: Callable[[], None] | None = None  # run once, just after answering GET /integrations

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        body = json.loads(request.body) if request.body.strip() else None
        path = request.path.partition("?")[0]
        try:
            response = super().handle(request)
        except Exception:
            self.exchanges.append(Exchange(request.method, path, body, None))
            raise
        self.exchanges.append(Exchange(request.method, path, body, response.status))
        if request.method == "GET" and path == "/integrations" and self.after_list is not None:
            hook, self.after_list = self.after_list, None
            hook()
        return response

    def writes(self) -> list[Exchange]:
        """POST/PUT/DELETE (scripts and the connections search excluded): what changed, or tried to change, the
        tenant."""
        return [e for e in self.exchanges if e.method in WRITES and "/scripts/" not in e.path and e.path != SEARCH]

    def by_type(self) -> dict[str, dict[str, Any]]:
        """The integrations now in the tenant, by type (each type appears once in the shipped files)."""
        return {record["type"]: record for record in self.list_integrations()}


@dataclass
class Tenant:
    """One served simulator: `.sandbox` to look inside, `.url` as IMMUTA_URL."""

    sandbox: RecordingSandbox
    server: RunningServer

    @property
    def url(self) -> str:
        return self.server.url


def serve(**options: Any) -> Tenant:
    sandbox = RecordingSandbox(api_key=KEY, **options)
    return Tenant(sandbox, start_server(sandbox))


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact piece of a file's text (it must be there once)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


def write_yaml(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def tombstone(document_file: Path, *, keep: tuple[str, ...] = ()) -> None:
    """Turn a desired-state file into a tombstone: type, natural key (and `keep` config fields), absent."""
    data = yaml.safe_load(document_file.read_text(encoding="utf-8"))
    config = data.get("config")
    out: dict[str, Any] = {"type": data["type"], "ensure": "absent"}
    if "autoBootstrap" in data:
        out["autoBootstrap"] = data["autoBootstrap"]
    if config is not None:
        natural = {"host", "database", "schema", "workspaceUrl", "dataset", "location", "name"}
        out["config"] = {k: v for k, v in config.items() if k in natural or k in keep}
    write_yaml(document_file, out)
