"""The fault campaign: seeded applies against the in-process simulator while it answers 429/5xx, drops
connections, loses the answers of performed POSTs and fails provisioning — each followed by a clean apply.

Every seed starts from its own mix of existing integrations (equal, drifted, drifted on an immutable field,
stuck in createError, tombstoned, orphaned), so the faults hit creates, updates, replaces and deletes alike.
After every run: no natural key twice, no POST answered 409 (a create retried blindly), nothing declared that
existed before gone or re-created unless its plan said replace, orphans untouched; after the clean run: the
plan is empty and verification converged.
"""

from __future__ import annotations

import copy
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.applying.apply import ApplyOptions, Result, apply_plan
from reconciler.applying.poller import Poller, Schedule
from reconciler.applying.verify import verify
from reconciler.client.immuta import Auth, ImmutaClient, RetryPolicy
from reconciler.desired import SecretMode
from reconciler.errors import ApiError
from reconciler.planning import engine, gate
from reconciler.planning.gate import GateOptions
from reconciler.planning.plan import Action, Plan
from reconciler.sandbox import Faults, Sandbox, SandboxRequest, SandboxResponse
from reconciler.sandbox.transport import SandboxTransport
from reconciler.target import Target
from reconciler.validation import schema

KEY = "campaign-key"
SEEDS = range(15)
SECRETS = {"CAMPAIGN_PASSWORD": "campaign-pw-1f2e", "CAMPAIGN_TOKEN": "dapi-campaign-77"}
FAULTY = {
    "rate_429": 0.08,
    "rate_500": 0.05,
    "rate_503": 0.08,
    "rate_drop": 0.08,
    "rate_lost_post_response": 0.3,
    "rate_create_error": 0.15,
    "rate_edit_error": 0.15,
    "rate_delete_error": 0.15,
    "max_faults": 12,
    "retry_after_seconds": 0,
}
# Fast retries and polls: the campaign checks outcomes, not timing.
RETRY = RetryPolicy(max_attempts=6, base_delay=0.001, max_delay=0.004, deadline=10.0)
OPTIONS = ApplyOptions(parallelism=4, timeout=10.0, poller=Poller(Schedule(first=0.002, cap=0.002)))
PROVISIONING = 0.005


def snowflake(host: str, **config: Any) -> dict[str, Any]:
    body = {
        "host": host,
        "warehouse": "WH",
        "database": "IMMUTA",
        "authenticationType": "userPassword",
        "username": "IMMUTA_ADMIN",
        "password": "${env:CAMPAIGN_PASSWORD}",
        "role": "ACCOUNTADMIN",
    }
    return {"type": "Snowflake", "autoBootstrap": True, "config": body | config}


def databricks(workspace: str, **config: Any) -> dict[str, Any]:
    body = {
        "workspaceUrl": workspace,
        "httpPath": "/sql/1.0/warehouses/abc",
        "authenticationType": "token",
        "token": "${env:CAMPAIGN_TOKEN}",
        "catalog": "immuta",
    }
    return {"type": "Databricks", "autoBootstrap": True, "config": body | config}


def redshift(host: str, **config: Any) -> dict[str, Any]:
    body = {
        "host": host,
        "database": "immuta",
        "initialDatabase": "dev",
        "authenticationType": "userPassword",
        "username": "awsuser",
        "password": "${env:CAMPAIGN_PASSWORD}",
    }
    return {"type": "Redshift", "autoBootstrap": True, "config": body | config}


DECLARED: dict[str, dict[str, Any]] = {
    "snowflake-a.yaml": snowflake("a.snowflakecomputing.com"),
    "snowflake-b.yaml": snowflake("b.snowflakecomputing.com", audit={"enabled": True}),
    "databricks-a.yaml": databricks("dbc-a.cloud.databricks.com"),
    "databricks-b.yaml": databricks("dbc-b.cloud.databricks.com", audit={"enabled": True}),
    "redshift-a.yaml": redshift("a.redshift.amazonaws.com"),
    "synapse.yaml": {
        "type": "Azure Synapse Analytics",
        "autoBootstrap": False,
        "config": {
            "host": "fin.sql.azuresynapse.net",
            "database": "dw",
            "schema": "immuta",
            "authenticationType": "userPassword",
            "username": "immuta_system",
            "password": "${env:CAMPAIGN_PASSWORD}",
        },
    },
    "bigquery.yaml": {
        "type": "Google BigQuery",
        "autoBootstrap": False,
        "config": {
            "role": "immuta",
            "datasetSuffix": "_secure",
            "dataset": "marketing",
            "location": "us-east1",
            "credential": "${env:CAMPAIGN_PASSWORD}",
        },
    },
    "s3.yaml": {
        "type": "Native S3",
        "autoBootstrap": False,
        "config": {
            "name": "lake",
            "awsAccountId": "123456789012",
            "awsRegion": "us-east-1",
            "awsLocationRole": "arn:aws:iam::123456789012:role/location",
            "awsLocationPath": "s3://lake/",
            "authenticationType": "auto",
            "awsRoleToAssume": "arn:aws:iam::123456789012:role/immuta",
        },
    },
    "trino.yaml": {"type": "Trino"},
}
# Files that delete (with the credentials Immuta's DELETE needs) and integrations no file declares.
TOMBSTONES: dict[str, dict[str, Any]] = {
    "gone-snowflake.yaml": snowflake("gone.snowflakecomputing.com"),
    "gone-databricks.yaml": databricks("dbc-gone.cloud.databricks.com"),
}
ORPHANS = (redshift("orphan.redshift.amazonaws.com"), databricks("dbc-orphan.cloud.databricks.com"))
# Per type, a field whose change is an update and one whose change is a replace (Trino: none).
MUTABLE = {
    "Snowflake": ("warehouse", "OTHER_WH"),
    "Databricks": ("httpPath", "/sql/1.0/warehouses/other"),
    "Redshift": ("initialDatabase", "other"),
    "Azure Synapse Analytics": ("username", "other"),
    "Google BigQuery": ("role", "other"),
    "Native S3": ("awsRegion", "eu-west-1"),
}
IMMUTABLE = {"Snowflake": "database", "Databricks": "catalog"}


def resolved(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as Immuta would have received it: references replaced by the values."""
    text = yaml.safe_dump(payload)
    for name, value in SECRETS.items():
        text = text.replace("${env:" + name + "}", value)
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


@dataclass
class Recorder:
    """In front of the simulator: remembers what each POST /integrations was answered."""

    sandbox: Sandbox
    post_answers: list[int | None] = field(default_factory=list)

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        is_create = request.method == "POST" and request.path == "/integrations"
        try:
            response = self.sandbox.handle(request)
        except Exception:
            if is_create:
                self.post_answers.append(None)
            raise
        if is_create:
            self.post_answers.append(response.status)
        return response


@dataclass
class World:
    """One seed's tenant, files and client."""

    folder: Path
    sandbox: Sandbox
    recorder: Recorder
    client: ImmutaClient
    schemas: schema.SchemaSet
    target: Target = field(default_factory=lambda: Target("http://sandbox.invalid"))

    def plan(self) -> engine.Planned:
        request = engine.PlanRequest([str(self.folder)], mode=SecretMode.REQUIRE)
        return engine.build(request, self.schemas, self.target, self.client)

    def ids_by_key(self) -> dict[str, str]:
        return {self.key_of(r): r["id"] for r in self.sandbox.list_integrations()}

    def key_of(self, record: dict[str, Any]) -> str:
        return str(self.schemas.types[record["type"]].key_of(record))

    def keys(self) -> list[str]:
        return [self.key_of(r) for r in self.sandbox.list_integrations()]


def make_world(tmp_path: Path, seed: int, schemas: schema.SchemaSet) -> World:
    """Files for DECLARED and TOMBSTONES, and a tenant holding a seeded mix of what they describe."""
    rng = random.Random(seed)
    folder = tmp_path / f"seed-{seed}"
    folder.mkdir()
    sandbox = Sandbox(api_key=KEY, provisioning_seconds=PROVISIONING)
    for name, payload in DECLARED.items():
        (folder / name).write_text(yaml.safe_dump(payload, sort_keys=False), encoding="utf-8")
        kind = rng.choice(["absent", "equal", "drifted", "immutable", "createError"])
        if kind == "absent":
            continue
        existing = copy.deepcopy(payload)
        if kind == "drifted" and payload["type"] in MUTABLE:
            field_name, value = MUTABLE[payload["type"]]
            existing["config"][field_name] = value
        if kind == "immutable" and payload["type"] in IMMUTABLE:
            existing["config"][IMMUTABLE[payload["type"]]] = "previous"
        new_id = sandbox.oob_add(resolved(existing))
        if kind == "createError":
            sandbox.oob_set_status(new_id, "createError")
    for name, payload in TOMBSTONES.items():
        (folder / name).write_text(yaml.safe_dump({**payload, "ensure": "absent"}), encoding="utf-8")
        if rng.random() < 0.7:
            sandbox.oob_add(resolved(payload))
    for orphan in ORPHANS:
        sandbox.oob_add(resolved(orphan))
    recorder = Recorder(sandbox)
    client = ImmutaClient(
        "http://sandbox.invalid",
        Auth.api_key(KEY),
        transport=SandboxTransport(recorder.handle),
        retry=RETRY,
        rng=random.Random(seed),
        schemas=schemas,
    )
    return World(folder, sandbox, recorder, client, schemas)


@dataclass(frozen=True)
class Run:
    plan: Plan | None  # None: the run could not even read Immuta (faults exhausted the retries)
    results: tuple[Result, ...] = ()
    converged: bool = False


def apply_once(world: World) -> Run:
    """What `reconciler apply --auto-approve --force` does after loading the files."""
    try:
        planned = world.plan()
    except ApiError:
        return Run(None)
    assert gate.refusals(planned.plan, GateOptions(force=True)) == []
    results = apply_plan(planned.plan, world.client, OPTIONS)
    verification = verify(planned, results, world.client, world.schemas, world.target)
    return Run(planned.plan, tuple(results), verification.converged)


def check_invariants(world: World, before: dict[str, str], run: Run) -> None:
    keys = world.keys()
    assert [k for k, n in Counter(keys).items() if n > 1] == [], "a natural key exists twice"
    assert 409 not in world.recorder.post_answers, "a create was repeated after it had happened"
    assert [r for r in run.results if r.outcome == "refused"] == []
    after = world.ids_by_key()
    replaced = {str(c.key) for c in run.plan.changes if c.action is Action.REPLACE} if run.plan else set()
    deleted = {str(c.key) for c in run.plan.changes if c.action is Action.DELETE} if run.plan else set()
    declared = {str(world.schemas.types[p["type"]].key_of(p)) for p in DECLARED.values()}
    for key, old_id in before.items():
        if key in deleted:
            continue
        if key in replaced:
            continue  # deleted, then created again (or not yet): what the plan said
        assert after.get(key) == old_id, f"{key} (id {old_id}) was deleted or re-created without a plan saying so"
    for orphan in ORPHANS:
        assert str(world.schemas.types[orphan["type"]].key_of(orphan)) in after, "an orphan was touched"
    assert set(after) <= declared | {str(world.schemas.types[o["type"]].key_of(o)) for o in ORPHANS} | set(before)


@pytest.fixture(scope="module")
def schemas() -> schema.SchemaSet:
    return schema.load()


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    yield


@pytest.mark.usefixtures("secrets")
@pytest.mark.parametrize("seed", SEEDS)
def test_every_faulty_apply_is_finished_by_a_clean_one(tmp_path: Path, schemas: schema.SchemaSet, seed: int) -> None:
    world = make_world(tmp_path, seed, schemas)
    with world.client:
        world.sandbox.faults = Faults(seed=seed, **FAULTY)  # type: ignore[arg-type]
        before = world.ids_by_key()
        faulty = apply_once(world)
        check_invariants(world, before, faulty)

        world.sandbox.faults = Faults()
        before = world.ids_by_key()
        clean = apply_once(world)
        check_invariants(world, before, clean)

        assert clean.plan is not None
        assert [(str(r.change.key), r.message) for r in clean.results if r.outcome != "done"] == []
        assert clean.converged
        settled = world.plan().plan
        assert [(c.action.value, str(c.key)) for c in settled.writes] == []
        assert world.sandbox.faults_injected == 0
