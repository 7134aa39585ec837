"""No command, format, verbosity or error path prints a secret.

Every secret the example files reference is set to a distinctive value (all contain `LEAK-CHECK`), one is
read from a file, and the Immuta API key is one too. Each test runs commands through `cli.main` and then
hunts for the values — and for their unkeyed hashes and base64 — in stdout, stderr, every log record, and
every file the run wrote (saved plans, the step summary, exported files, the sandbox's state).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.applying.outcome import PREREQUISITE_FAILED
from reconciler.planning import engine
from reconciler.sandbox import Faults, Sandbox, SandboxRequest, SandboxResponse, start_server
from reconciler.sandbox.replies import boom
from reconciler.sandbox.server import RunningServer

REPO = Path(__file__).resolve().parent.parent
MARKER = "LEAK-CHECK"
SECRETS = {
    "SNOWFLAKE_ADMIN_PASSWORD": "Sn0wPa55-LEAK-CHECK",
    "DATABRICKS_OAUTH_CLIENT_SECRET": "Dbx0auth-LEAK-CHECK",
    "REDSHIFT_BOOTSTRAP_PASSWORD": "R3dsh1ft-LEAK-CHECK",
    "S3_IMMUTA_ACCESS_KEY_ID": "AKIA2LEAK-CHECK",
    "S3_IMMUTA_SECRET_ACCESS_KEY": "S3s3cr3t/LEAK-CHECK+",
    "SYNAPSE_IMMUTA_PASSWORD": 'Syn"4pse\\LEAK-CHECK',  # JSON escaping must not hide a leak from the hunt
}
FILE_SECRET = '{"type": "service_account", "private_key": "-----BEGIN KEY-----BqF1le-LEAK-CHECK"}'
API_KEY = "Ap1Key-LEAK-CHECK"
LITERAL = "Lit3ral-LEAK-CHECK"
LITERAL_NUMBER = 8675309123
NOT_SECRET = {"SNOWFLAKE_ADMIN_USER": "IMMUTA_ADMIN"}
STATE = "state.json"
SANDBOX = ("--sandbox", "--sandbox-state", STATE)
RunCli = Callable[..., Any]  # tests/conftest.py's `run_cli`


def forbidden() -> list[str]:
    """Every form a leak could take: the values, their pieces with the marker, hashes, base64."""
    values = [*SECRETS.values(), FILE_SECRET, API_KEY, LITERAL, str(LITERAL_NUMBER)]
    found = [*values, MARKER]
    for value in values:
        raw = value.encode()
        found += [hashlib.new(name, raw).hexdigest() for name in ("sha256", "sha1", "md5")]
        found.append(base64.b64encode(raw).decode())
    return found


class Hunt:
    """Everything a test's runs printed, logged or wrote, and the check that no secret is in it."""

    def __init__(self, run_cli: RunCli, caplog: pytest.LogCaptureFixture, workdir: Path) -> None:
        self._run_cli = run_cli
        self._caplog = caplog
        self.workdir = workdir
        self.outputs: list[str] = []
        self.exit_codes: list[int] = []

    def run(self, *args: str) -> Any:
        result = self._run_cli(*args)
        self.outputs += [result.stdout, result.stderr]
        self.exit_codes.append(result.exit_code)
        return result

    def assert_no_leak(self) -> None:
        places = {f"output {i}": text for i, text in enumerate(self.outputs)}
        places["log records"] = (
            "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in self._caplog.records) + self._caplog.text
        )
        for path in sorted(self.workdir.rglob("*")):
            inputs = {"integrations.d", "secrets"} & set(path.relative_to(self.workdir).parts[:1])
            if path.is_file() and not inputs:  # the files read are the inputs; everything else was written
                places[str(path.relative_to(self.workdir))] = path.read_text(encoding="utf-8", errors="replace")
        for where, text in places.items():
            for value in forbidden():
                assert value not in text, f"{value!r} leaked into {where}:\n{text}"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """`--verbose` attaches a handler to the `reconciler` logger for the process; undo it after each test."""
    logger = logging.getLogger("reconciler")
    handlers, level = list(logger.handlers), logger.level
    try:
        yield
    finally:
        logger.handlers[:] = handlers
        logger.setLevel(level)


@pytest.fixture
def hunt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli, caplog: pytest.LogCaptureFixture
) -> Iterator[Hunt]:
    """The shipped examples in tmp_path (the working directory), BigQuery's key read from a file."""
    workdir = tmp_path / "work"
    shutil.copytree(REPO / "integrations.d", workdir / "integrations.d")
    # Inside the desired-state folder: ${file:} reads nowhere else (unless an environment names a folder).
    (workdir / "integrations.d" / "keys").mkdir()
    (workdir / "integrations.d" / "keys" / "bigquery-sa.json").write_text(FILE_SECRET + "\n", encoding="utf-8")
    replace_in(
        workdir / "integrations.d" / "bigquery-marketing.yaml",
        "${env:BIGQUERY_IMMUTA_SA_KEY}",
        "${file:keys/bigquery-sa.json}",
    )
    monkeypatch.chdir(workdir)
    for name, value in {**SECRETS, **NOT_SECRET}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("IMMUTA_TOKEN", raising=False)
    monkeypatch.delenv("RECONCILER_DEBUG", raising=False)
    caplog.set_level(logging.DEBUG, logger="reconciler")
    found = Hunt(run_cli, caplog, workdir)
    yield found
    assert found.outputs, "the test ran no command"
    found.assert_no_leak()


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def pending_changes(workdir: Path) -> None:
    """After an apply: an update, a replace and a tombstone (whose DELETE carries credentials)."""
    files = workdir / "integrations.d"
    replace_in(files / "snowflake-prod.yaml", "warehouse: IMMUTA_WH", "warehouse: IMMUTA_WH_XL")
    replace_in(files / "databricks-analytics.yaml", "catalog: immuta_analytics", "catalog: immuta_analytics_v2")
    replace_in(files / "redshift-warehouse.yaml", "type: Redshift", "type: Redshift\nensure: absent")
    replace_in(files / "s3-datalake.yaml", "preventDestroy: true", "preventDestroy: false")


# -- validate ----------------------------------------------------------------------------------------------


def test_validate(hunt: Hunt, monkeypatch: pytest.MonkeyPatch) -> None:
    assert hunt.run("validate").exit_code == 0
    assert hunt.run("validate", "--format", "json").exit_code == 0
    assert hunt.run("validate", "--resolve-secrets").exit_code == 0
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert hunt.run("validate", "--resolve-secrets", "--format", "json").exit_code == 0


# -- plan --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("output_format", ["text", "json", "markdown"])
def test_plan_every_format_verbose_saved_and_summarised(
    hunt: Hunt, monkeypatch: pytest.MonkeyPatch, output_format: str
) -> None:
    assert hunt.run("apply", *SANDBOX, "--auto-approve").exit_code == 0
    pending_changes(hunt.workdir)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(hunt.workdir / "step-summary.md"))
    monkeypatch.setenv("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
    result = hunt.run("plan", *SANDBOX, "--verbose", "--format", output_format, "--out", "reviewed.plan")
    assert result.exit_code == 0, result.stderr
    assert "→ GET /integrations" in result.stderr  # the trace was on
    assert hunt.run("plan", *SANDBOX, "--format", output_format, "--prune", "--detailed-exitcode").exit_code == 2
    assert (hunt.workdir / "reviewed.plan").exists()
    assert (hunt.workdir / "step-summary.md").exists()


def test_plan_check_matching_and_stale(hunt: Hunt) -> None:
    assert hunt.run("apply", *SANDBOX, "--auto-approve").exit_code == 0
    pending_changes(hunt.workdir)
    assert hunt.run("plan", *SANDBOX, "--out", "reviewed.plan").exit_code == 0
    assert hunt.run("plan", *SANDBOX, "--verbose", "--check", "reviewed.plan").exit_code == 0
    replace_in(hunt.workdir / "integrations.d" / "synapse-finance.yaml", "username: immuta_system", "username: x")
    assert hunt.run("plan", *SANDBOX, "--verbose", "--check", "reviewed.plan").exit_code == 3


# -- apply -------------------------------------------------------------------------------------------------


def test_apply_verbose_creates_updates_replaces_and_deletes(hunt: Hunt) -> None:
    result = hunt.run("apply", *SANDBOX, "--verbose", "--auto-approve")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "body=" in result.stderr  # request bodies were traced, redacted
    pending_changes(hunt.workdir)
    result = hunt.run("apply", *SANDBOX, "--verbose", "--auto-approve", "--force")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "DELETE /integrations/" in result.stderr
    assert hunt.run("plan", *SANDBOX, "--verbose", "--detailed-exitcode").exit_code == 0


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Sandbox], RunningServer]]:
    running: list[RunningServer] = []

    def start(sandbox: Sandbox) -> RunningServer:
        server = start_server(sandbox)
        running.append(server)
        monkeypatch.setenv("IMMUTA_URL", server.url)
        monkeypatch.setenv("IMMUTA_API_KEY", API_KEY)
        return server

    try:
        yield start
    finally:
        for server in running:
            server.close()


@pytest.mark.parametrize(
    ("faults", "exit_code", "closing", "failure", "then"),
    [
        # Immuta accepts the create, then provisioning fails: each stays in createError, to be repaired with PUT
        # (docs/immuta-api.md §9.6) — Trino, which has no PUT, replaced.
        (
            Faults(rate_create_error=1.0),
            1,
            "0 succeeded, 7 failed",
            {"createError: creation failed in Immuta (": 7},
            {"update": 6, "replace": 1},
        ),
        # Immuta refuses the create: nothing exists, everything is still to create.
        # (Databricks words it as its own prerequisite, the metastore, which gets no setup-script advice.)
        (
            Faults(rate_prerequisite_failure=1.0),
            1,
            "0 succeeded, 7 failed",
            {PREREQUISITE_FAILED: 6, "POST /integrations → 422: Processing Error: Error trying to get the current": 1},
            {"create": 7},
        ),
        # Retried 503s and a POST whose answer was lost succeed, without a duplicate.
        (Faults(rate_503=0.5, seed=3), 0, "7 succeeded, 0 failed", None, {"unchanged": 7}),
        (Faults(rate_lost_post_response=1.0), 0, "7 succeeded, 0 failed", None, {"unchanged": 7}),
    ],
    ids=["createError", "422-prerequisite", "503-retried", "lost-answer"],
)
def test_a_failing_apply_over_http(
    hunt: Hunt,
    serve: Callable[[Sandbox], RunningServer],
    faults: Faults,
    exit_code: int,
    closing: str,
    failure: dict[str, int] | None,
    then: dict[str, int],
) -> None:
    server = serve(Sandbox(api_key=API_KEY, faults=faults))
    # One write at a time: the seeded faults then meet the requests in the same order on every run.
    result = hunt.run("apply", "--verbose", "--auto-approve", "--parallelism", "1")

    assert result.exit_code == exit_code, result.stdout + result.stderr
    assert f"\nApply: {closing}, 0 refused.\n" in result.stdout
    if failure is None:
        assert "Verified: Immuta now matches the files for every integration written." in result.stdout
    else:
        failed = [line for line in result.stdout.splitlines() if line.startswith("  FAILED  create ")]
        assert {text: sum(text in line for line in failed) for text in failure} == failure
        assert len(failed) == 7
        assert result.stdout.endswith("Running apply again continues from where this run stopped.\n")
    assert len(server.sandbox.list_integrations()) == (0 if "create" in then else 7)
    again = hunt.run("plan", "--verbose", "--format", "json")
    assert again.exit_code == 0
    assert {action: json.loads(again.stdout)["summary"][action] for action in then} == then


class EchoingSandbox(Sandbox):
    """A hostile server: every write is refused with a 400 that quotes the request body back."""

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        if request.method in ("POST", "PUT", "DELETE") and request.body:
            return boom(400, f"invalid payload: {request.body.decode('utf-8')}")
        return super().handle(request)


def test_an_error_answer_quoting_the_body_is_scrubbed(hunt: Hunt, serve: Callable[[Sandbox], RunningServer]) -> None:
    serve(EchoingSandbox(api_key=API_KEY))
    result = hunt.run("apply", "--verbose", "--auto-approve")
    assert result.exit_code == 1
    assert "400" in result.stdout + result.stderr


def test_a_wrong_key_over_http(hunt: Hunt, serve: Callable[[Sandbox], RunningServer]) -> None:
    serve(Sandbox(api_key="the-right-key"))
    assert hunt.run("plan", "--verbose").exit_code == 1
    assert hunt.run("apply", "--verbose", "--auto-approve").exit_code == 1


# -- error paths -------------------------------------------------------------------------------------------


def test_a_literal_secret_in_a_file(hunt: Hunt) -> None:
    replace_in(hunt.workdir / "integrations.d" / "snowflake-prod.yaml", "${env:SNOWFLAKE_ADMIN_PASSWORD}", LITERAL)
    for args in (("validate",), ("plan", *SANDBOX, "--verbose"), ("apply", *SANDBOX, "--verbose", "--auto-approve")):
        result = hunt.run(*args)
        assert result.exit_code == 1, args
        assert "is a secret and must not be written in the file" in result.stdout + result.stderr


def test_a_literal_secret_allowed_by_flag(hunt: Hunt) -> None:
    replace_in(hunt.workdir / "integrations.d" / "snowflake-prod.yaml", "${env:SNOWFLAKE_ADMIN_PASSWORD}", LITERAL)
    args = ("--allow-literal-secrets", "--verbose")
    assert hunt.run("apply", *SANDBOX, *args, "--auto-approve").exit_code == 0
    assert hunt.run("plan", *SANDBOX, *args, "--format", "json").exit_code == 0


@pytest.mark.parametrize("value", [str(LITERAL_NUMBER), f"[{LITERAL_NUMBER}]", f"{{x: {LITERAL_NUMBER}}}"])
def test_a_secret_of_the_wrong_type(hunt: Hunt, value: str) -> None:
    replace_in(hunt.workdir / "integrations.d" / "snowflake-prod.yaml", "${env:SNOWFLAKE_ADMIN_PASSWORD}", value)
    kind = {str(LITERAL_NUMBER): "an integer", f"[{LITERAL_NUMBER}]": "a list"}.get(value, "a mapping")
    problem = f"integrations.d/snowflake-prod.yaml:26:3: $.config.password: must be a string, not {kind}\n"

    as_json = hunt.run("validate", "--format", "json")
    assert as_json.exit_code == 1
    assert [(p["line"], p["path"], p["message"]) for p in json.loads(as_json.stdout)["problems"]] == [
        (26, "$.config.password", f"must be a string, not {kind}")
    ]
    text = hunt.run("validate")
    assert (text.exit_code, text.stdout) == (1, problem)
    plan = hunt.run("plan", *SANDBOX, "--verbose")
    assert (plan.exit_code, plan.stdout) == (1, "")
    assert plan.stderr.endswith(problem + "error: 1 problem(s) in the desired-state files; nothing was changed\n")


def test_a_reference_mixed_with_a_literal(hunt: Hunt) -> None:
    replace_in(
        hunt.workdir / "integrations.d" / "snowflake-prod.yaml",
        "${env:SNOWFLAKE_ADMIN_PASSWORD}",
        f"{LITERAL}${{env:SNOWFLAKE_ADMIN_PASSWORD}}",
    )
    problem = (
        "integrations.d/snowflake-prod.yaml:26:3: $.config.password: is a secret and must not be written in the "
        "file: use a reference such as `password: ${env:SNOWFLAKE_PROD_PASSWORD}` (or `${file:PATH}`, read inside "
        "the repository)\n"
    )
    assert hunt.run("validate").stdout == problem
    assert hunt.exit_codes[-1] == 1
    plan = hunt.run("plan", *SANDBOX)
    assert (plan.exit_code, plan.stdout) == (1, "")
    assert plan.stderr == problem + "error: 1 problem(s) in the desired-state files; nothing was changed\n"


def test_a_malformed_reference_holding_a_secret(hunt: Hunt) -> None:
    replace_in(
        hunt.workdir / "integrations.d" / "snowflake-prod.yaml", "${env:SNOWFLAKE_ADMIN_PASSWORD}", f"${{{LITERAL}}}"
    )
    result = hunt.run("validate")
    assert result.exit_code == 1
    assert result.stdout == (
        "integrations.d/snowflake-prod.yaml:26:3: $.config.password: "
        "${…} is not a reference: use ${env:NAME}, ${file:PATH} or ${var:NAME}\n"
    )


def test_a_misspelt_secret_field(hunt: Hunt) -> None:
    """`passwrod: ${env:…}` is an unknown field, so not known to be a secret: its reference is refused, and
    nothing is read, shown or written."""
    replace_in(hunt.workdir / "integrations.d" / "snowflake-prod.yaml", "  password: ${env:", "  passwrod: ${env:")
    replace_in(
        hunt.workdir / "integrations.d" / "snowflake-prod.yaml",
        "authenticationType: userPassword",
        "authenticationType: userPassword\n  password: ${env:SNOWFLAKE_ADMIN_PASSWORD}",
    )
    refused = (
        "integrations.d/snowflake-prod.yaml:27:3: $.config.passwrod: ${env:SNOWFLAKE_ADMIN_PASSWORD} is not allowed "
        "here: ${env:} and ${file:} give only secret (writeOnly) fields; write the value literally, or as "
        "${var:NAME} from an environment file (environments/NAME.yaml)\n"
    )
    assert hunt.run("validate").stdout.startswith(refused)
    result = hunt.run("apply", *SANDBOX, "--verbose", "--auto-approve")
    assert result.stderr.startswith(refused)
    hunt.run("plan", *SANDBOX, "--verbose", "--format", "json")
    assert hunt.exit_codes == [1, 1, 1]
    assert json.loads((hunt.workdir / STATE).read_text(encoding="utf-8"))["integrations"] == {}


def test_a_missing_secret_names_the_variable_only(hunt: Hunt, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SNOWFLAKE_ADMIN_PASSWORD")
    result = hunt.run("validate", "--resolve-secrets")
    assert result.exit_code == 1
    assert "SNOWFLAKE_ADMIN_PASSWORD" in result.stdout + result.stderr
    (hunt.workdir / "integrations.d" / "keys" / "bigquery-sa.json").unlink()
    assert hunt.run("validate", "--resolve-secrets").exit_code == 1


def test_an_internal_error_quoting_a_secret(hunt: Hunt, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"unexpected {SECRETS['SNOWFLAKE_ADMIN_PASSWORD']}")

    monkeypatch.setattr(engine, "plan_for", broken)
    result = hunt.run("plan", *SANDBOX, "--verbose")
    assert result.exit_code == 1
    assert "internal error (ValueError)" in result.stderr


# -- the other commands that read Immuta -------------------------------------------------------------------


def test_drift_and_export(hunt: Hunt) -> None:
    assert hunt.run("apply", *SANDBOX, "--auto-approve").exit_code == 0
    pending_changes(hunt.workdir)  # seen from Immuta: two fields changed outside Git, one tombstone still there
    closing = "Drift: 2 changed outside Git, 0 deleted outside Git, 1 created outside Git, 0 unhealthy.\n"

    text = hunt.run("drift", *SANDBOX, "--verbose", "--format", "text")
    assert (text.exit_code, text.stdout.endswith(closing)) == (2, True), text.stdout
    assert '~ config.warehouse: "IMMUTA_WH_XL" (Git) → "IMMUTA_WH" (Immuta)' in text.stdout
    as_json = hunt.run("drift", *SANDBOX, "--verbose", "--format", "json")
    assert as_json.exit_code == 2
    document = json.loads(as_json.stdout)
    assert document["has_drift"] is True
    assert [item["kind"] for item in document["items"]] == ["changed", "changed", "created"]
    markdown = hunt.run("drift", *SANDBOX, "--verbose", "--format", "markdown")
    assert markdown.exit_code == 2
    assert "#### 1 created outside Git\n" in markdown.stdout
    assert '| `config.warehouse` | `"IMMUTA_WH_XL"` | `"IMMUTA_WH"` |' in markdown.stdout

    exported = hunt.run("export", *SANDBOX, "--verbose", "--out", "exported")
    assert exported.exit_code == 0
    assert exported.stdout.endswith("Exported 7 integration(s) to exported.\n")
    assert len(list((hunt.workdir / "exported").glob("*.yaml"))) == 7
    snowflake = (hunt.workdir / "exported" / "snowflake-acme-us-east-1-snowflakecomputing-com.yaml").read_text()
    assert "password: ${env:SNOWFLAKE_ACME_US_EAST_1_SNOWFLAKECOMPUTING_COM_PASSWORD}" in snowflake


def test_the_hunt_finds_a_leak_in_any_form(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The control: each form of a leak the hunt looks for is found."""
    escaped = SECRETS["SYNAPSE_IMMUTA_PASSWORD"].replace("\\", "\\\\").replace('"', '\\"')  # as JSON writes it
    digest = hashlib.sha256(API_KEY.encode()).hexdigest()
    for leaked in (f"password={LITERAL}", f'{{"password": "{escaped}"}}', f"fingerprint {digest}"):
        found = Hunt(lambda *args: None, caplog, tmp_path)
        found.outputs = ["nothing here", leaked, ""]
        with pytest.raises(AssertionError, match="leaked into output 1"):
            found.assert_no_leak()
    logging.getLogger("reconciler.http").warning("body=%s", FILE_SECRET)
    found = Hunt(lambda *args: None, caplog, tmp_path)
    with pytest.raises(AssertionError, match="leaked into log records"):
        found.assert_no_leak()
