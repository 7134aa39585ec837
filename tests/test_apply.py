"""apply_plan against the in-process simulator: ordering, bounded concurrency, waiting on Immuta's statuses,
the DELETE credentials, the saved-plan check before each write; the gates, verification and the summary."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_time import FakeTime

from reconciler.applying.apply import ApplyOptions, Interrupted, Result, apply_plan
from reconciler.applying.poller import Poller
from reconciler.applying.stopping import Abandoned, Stop, Terminated
from reconciler.applying.verify import Verification, verify
from reconciler.client.immuta import Auth, ImmutaClient, RetryPolicy
from reconciler.desired import SecretMode
from reconciler.errors import EXIT_ERROR, EXIT_OK, EXIT_REFUSED
from reconciler.model import IntegrationKey
from reconciler.planning import engine, gate
from reconciler.planning.credentials import delete_body
from reconciler.planning.gate import GateOptions
from reconciler.planning.plan import Action, Change, Plan
from reconciler.render import apply_report
from reconciler.sandbox import Faults, Sandbox, SandboxRequest, SandboxResponse
from reconciler.sandbox.dialects import Dialect
from reconciler.sandbox.replies import boom, json_response
from reconciler.sandbox.transport import SandboxTransport
from reconciler.target import Target
from reconciler.validation import schema

KEY = "apply-key"
PASSWORD = "apply-pw-5e5e"
TARGET = Target("http://sandbox.invalid")
Handler = Callable[[SandboxRequest], SandboxResponse]


def snowflake(host: str = "acme.snowflakecomputing.com", **config: Any) -> dict[str, Any]:
    body = {
        "host": host,
        "warehouse": "WH",
        "database": "IMMUTA",
        "authenticationType": "userPassword",
        "username": "IMMUTA_ADMIN",
        "password": "${env:APPLY_PASSWORD}",
        "role": "ACCOUNTADMIN",
    }
    return {"type": "Snowflake", "autoBootstrap": True, "config": body | config}


def s3(name: str, path: str = "s3://lake/") -> dict[str, Any]:
    return {
        "type": "Native S3",
        "autoBootstrap": False,
        "config": {
            "name": name,
            "awsAccountId": "123456789012",
            "awsRegion": "us-east-1",
            "awsLocationRole": "arn:aws:iam::123456789012:role/location",
            "awsLocationPath": path,
            "authenticationType": "auto",
            "awsRoleToAssume": "arn:aws:iam::123456789012:role/immuta",
        },
    }


def resolved(document: dict[str, Any]) -> dict[str, Any]:
    """What Immuta received for this file: the reference replaced, file-only keys dropped."""
    text = yaml.safe_dump({k: v for k, v in document.items() if k not in ("ensure", "lifecycle")})
    loaded: dict[str, Any] = yaml.safe_load(text.replace("${env:APPLY_PASSWORD}", PASSWORD))
    return loaded


@dataclass
class World:
    """A simulated tenant, a folder of files and a client whose requests can be intercepted."""

    folder: Path
    sandbox: Sandbox
    schemas: schema.SchemaSet
    time: FakeTime = field(default_factory=FakeTime)
    intercept: Callable[[SandboxRequest, Handler], SandboxResponse] | None = None
    events: list[tuple[str, str]] = field(default_factory=list)  # (key, progress text), in order
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.client = ImmutaClient(
            "http://sandbox.invalid",
            Auth.api_key(KEY),
            transport=SandboxTransport(self._handle),
            retry=RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002, deadline=5.0),
            rng=random.Random(0),
            schemas=self.schemas,
            sleep=self.time.sleep,
            clock=self.time.clock,
        )

    def options(self, **changes: Any) -> ApplyOptions:
        """Apply's options on this world's clock: waiting on Immuta takes no real time."""
        poller = Poller(clock=self.time.clock, sleep=self.time.sleep)
        return ApplyOptions(**{"parallelism": 8, "timeout": 10.0, "poller": poller, **changes})

    def _handle(self, request: SandboxRequest) -> SandboxResponse:
        if self.intercept is not None:
            return self.intercept(request, self.sandbox.handle)
        return self.sandbox.handle(request)

    def write(self, name: str, document: dict[str, Any]) -> Path:
        path = self.folder / name
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return path

    def planned(self, *, prune: bool = False) -> engine.Planned:
        request = engine.PlanRequest([str(self.folder)], prune=prune, mode=SecretMode.REQUIRE)
        return engine.build(request, self.schemas, TARGET, self.client)

    def progress(self, change: Change, text: str) -> None:
        with self._lock:
            self.events.append((str(change.key), text))

    def apply(self, plan: Plan, options: ApplyOptions | None = None) -> list[Result]:
        return apply_plan(plan, self.client, options or self.options(), progress=self.progress)

    def change(self, plan: Plan, key_text: str) -> Change:
        return next(c for c in plan.changes if str(c.key) == key_text)


@pytest.fixture(scope="module")
def schemas() -> schema.SchemaSet:
    return schema.load()


@pytest.fixture
def make_world(
    tmp_path: Path, schemas: schema.SchemaSet, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., World]]:
    monkeypatch.setenv("APPLY_PASSWORD", PASSWORD)
    made: list[World] = []

    def make(**sandbox_options: Any) -> World:
        folder = tmp_path / f"files-{len(made)}"
        folder.mkdir()
        time = FakeTime()
        world = World(folder, Sandbox(api_key=KEY, clock=time.clock, **sandbox_options), schemas, time)
        made.append(world)
        return world

    yield make
    for world in made:
        world.client.close()


SNOWFLAKE = "Snowflake[host=acme.snowflakecomputing.com]"


# -- ordering and concurrency ----------------------------------------------------------------------------


def test_results_follow_the_plan_and_parallelism_bounds_the_writes_in_flight(make_world: Callable[..., World]) -> None:
    world = make_world(provisioning_seconds=0.1)
    for n in range(12):
        world.write(f"s{n:02d}.yaml", snowflake(f"acct{n:02d}.snowflakecomputing.com"))
    plan = world.planned().plan

    # Each worker's first wait holds until three writes are in flight, so the peak is reached however the
    # threads are scheduled; a fourth concurrent write would show as a peak above 3.
    barrier, arrived = threading.Barrier(3), set()

    def sleep(seconds: float) -> None:
        if threading.get_ident() not in arrived:
            arrived.add(threading.get_ident())
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=5)
        world.time.sleep(seconds)

    poller = Poller(clock=world.time.clock, sleep=sleep)
    results = world.apply(plan, world.options(parallelism=3, poller=poller))

    assert [r.change for r in results] == list(plan.writes)
    assert [r.outcome for r in results] == ["done"] * 12
    in_flight = peak = 0
    for _, text in world.events:
        in_flight += text == "creating"
        in_flight -= text == "done"
        peak = max(peak, in_flight)
    assert peak == 3
    assert sorted(r.integration_id for r in results) == sorted(r["id"] for r in world.sandbox.list_integrations())


def test_deletes_finish_before_other_writes_start(make_world: Callable[..., World]) -> None:
    """Renaming an S3 integration (its natural key) keeps its location path, which must stay unique: the
    tombstone's delete has to be gone before the new name is created, or Immuta answers 409."""
    world = make_world(provisioning_seconds=0.05)
    world.sandbox.oob_add(s3("old-lake"))
    world.write("old.yaml", {**s3("old-lake"), "ensure": "absent"})
    world.write("new.yaml", s3("new-lake"))
    plan = world.planned().plan
    assert [c.action for c in plan.writes] == [Action.CREATE, Action.DELETE]

    results = world.apply(plan)

    assert [(r.change.action, r.outcome, r.message) for r in results] == [
        (Action.CREATE, "done", ""),
        (Action.DELETE, "done", ""),
    ]
    assert world.events.index(("Native S3[name=old-lake]", "done")) < world.events.index(
        ("Native S3[name=new-lake]", "creating")
    )
    assert [r["config"]["name"] for r in world.sandbox.list_integrations()] == ["new-lake"]


def test_an_interrupted_apply_starts_no_further_write(make_world: Callable[..., World]) -> None:
    world = make_world()
    for n in range(20):
        world.write(f"s{n:02d}.yaml", snowflake(f"acct{n:02d}.snowflakecomputing.com"))
    plan = world.planned().plan

    def interrupted(change: Change, text: str) -> None:
        if str(change.key) == "Snowflake[host=acct00.snowflakecomputing.com]":
            raise KeyboardInterrupt  # Ctrl-C, as the main thread would see it

    with pytest.raises(Interrupted) as stopped:
        apply_plan(plan, world.client, world.options(parallelism=1), progress=interrupted)

    # Without cancelling the queue, the other 19 creates would all go ahead.
    written = world.sandbox.list_integrations()
    assert len(written) < 5
    # What did finish is reported, so the summary can say so; the exit code is the shell's for Ctrl-C.
    assert len(stopped.value.results) == len(written)
    assert str(stopped.value).endswith("the rest were not started; running apply again continues from here")
    assert stopped.value.exit_code == 130
    world.apply(world.planned().plan)
    assert not world.planned().plan.has_changes


# -- waiting on Immuta -----------------------------------------------------------------------------------


def test_a_create_waits_until_the_integration_being_deleted_is_gone(make_world: Callable[..., World]) -> None:
    world = make_world(provisioning_seconds=0.15)
    old = world.sandbox.oob_add(resolved(snowflake()))
    world.client.delete(old, {"username": "IMMUTA_ADMIN", "password": PASSWORD, "role": "ACCOUNTADMIN"})
    world.write("snowflake.yaml", snowflake())
    plan = world.planned().plan
    change = world.change(plan, SNOWFLAKE)
    assert (change.action, change.reason) == (
        Action.CREATE,
        "being deleted in Immuta; apply waits until it is gone",
    )

    [result] = world.apply(plan)

    assert (result.outcome, result.message) == ("done", "")
    assert result.integration_id != old
    assert world.events[0] == (SNOWFLAKE, "waiting for Immuta to finish 'deleting'")
    assert [r["id"] for r in world.sandbox.list_integrations()] == [result.integration_id]


def test_an_update_waits_until_creating_has_settled(make_world: Callable[..., World]) -> None:
    world = make_world(provisioning_seconds=0.15)
    created = world.client.create(resolved(snowflake()))
    world.write("snowflake.yaml", snowflake(warehouse="WH_XL"))
    plan = world.planned().plan
    assert (world.change(plan, SNOWFLAKE).action, world.change(plan, SNOWFLAKE).actual_status) == (
        Action.UPDATE,
        "creating",
    )

    [result] = world.apply(plan)

    assert (result.outcome, result.integration_id) == ("done", created["id"])
    assert world.sandbox.payload(created["id"])["config"]["warehouse"] == "WH_XL"


def test_a_create_planned_while_a_delete_was_under_way_stops_if_the_delete_failed(
    make_world: Callable[..., World],
) -> None:
    world = make_world(provisioning_seconds=0.1, faults=Faults(rate_delete_error=1.0))
    old = world.sandbox.oob_add(resolved(snowflake()))
    world.client.delete(old, {"username": "IMMUTA_ADMIN", "password": PASSWORD, "role": "ACCOUNTADMIN"})
    world.write("snowflake.yaml", snowflake())
    plan = world.planned().plan

    [result] = world.apply(plan)

    assert (result.outcome, result.message) == (
        "failed",
        f"'deleting' ended with status 'deleteError' and the integration is still in Immuta (id {old}): plan again",
    )
    assert [r["id"] for r in world.sandbox.list_integrations()] == [old]


@pytest.mark.parametrize(
    ("action", "outcome", "message"),
    [
        (Action.DELETE, "done", "already gone"),
        (Action.REPLACE, "done", ""),
        (Action.UPDATE, "failed", "deleted in Immuta while apply waited for it (id 1); plan again"),
    ],
)
def test_an_integration_gone_while_apply_waited(
    make_world: Callable[..., World], action: Action, outcome: str, message: str
) -> None:
    world = make_world(provisioning_seconds=0.1)
    old = world.sandbox.oob_add(resolved(snowflake()))
    world.client.delete(old, {"username": "IMMUTA_ADMIN", "password": PASSWORD, "role": "ACCOUNTADMIN"})
    world.write("snowflake.yaml", snowflake())
    plan = world.planned().plan
    waiting = dataclasses.replace(world.change(plan, SNOWFLAKE), action=action)  # the plan said CREATE
    plan = dataclasses.replace(plan, changes=(waiting,))

    [result] = world.apply(plan)

    assert (result.outcome, result.message) == (outcome, message)
    assert len(world.sandbox.list_integrations()) == (1 if action is Action.REPLACE else 0)


def test_failed_status_reads_do_not_fail_a_write_that_was_accepted(make_world: Callable[..., World]) -> None:
    world = make_world(provisioning_seconds=0.05)
    failures = iter(range(4))

    def flaky_status(request: SandboxRequest, handle: Handler) -> SandboxResponse:
        if request.path.endswith("/status") and next(failures, None) is not None:
            return boom(500, "An internal server error occurred")
        return handle(request)

    world.intercept = flaky_status
    world.write("snowflake.yaml", snowflake())

    [result] = world.apply(world.planned().plan)

    assert (result.outcome, result.message) == ("done", "")
    assert next(failures, None) is None  # every failure was served


def test_a_status_that_never_settles_fails_at_the_deadline(make_world: Callable[..., World]) -> None:
    world = make_world(provisioning_seconds=60)
    world.write("snowflake.yaml", snowflake())

    [result] = world.apply(world.planned().plan, world.options(timeout=0.2))

    assert (result.outcome, result.message) == (
        "failed",
        f"GET /integrations/1/status: {SNOWFLAKE} (id 1) is still 'creating' after 0.2s "
        "(It may still settle: check it in Immuta, then re-run plan.)",
    )


def test_an_error_status_quotes_the_failed_validation_without_secrets(make_world: Callable[..., World]) -> None:
    world = make_world(faults=Faults(rate_create_error=1.0))

    def quoting_status(request: SandboxRequest, handle: Handler) -> SandboxResponse:
        response = handle(request)
        if request.path.endswith("/status"):
            test = {"name": "Connection Test", "status": "failed", "message": f"login failed with {PASSWORD}"}
            body = {"id": "1", "status": "createError", "validationResults": {"validationTests": [test]}}
            return json_response(200, body)
        return response

    world.intercept = quoting_status
    world.write("snowflake.yaml", snowflake())

    [result] = world.apply(world.planned().plan)

    assert (result.outcome, result.message) == (
        "failed",
        "createError: creation failed in Immuta (Connection Test: login failed with (secret))",
    )


def test_a_prerequisite_failure_is_recognised_whatever_its_case(make_world: Callable[..., World]) -> None:
    """§7: Immuta's texts vary in case ("Unprocessable entity"); the message is matched case-insensitively."""
    world = make_world()

    def unprocessable(request: SandboxRequest, handle: Handler) -> SandboxResponse:
        if (request.method, request.path) == ("POST", "/integrations"):
            text = "validation of prerequisite setup failed. Unable to create integration."
            return json_response(422, {"statusCode": 422, "error": "Unprocessable entity", "message": text})
        return handle(request)

    world.intercept = unprocessable
    path = world.write("lake.yaml", s3("lake"))

    [result] = world.apply(world.planned().plan)

    assert (result.outcome, result.message) == (
        "failed",
        "validation of prerequisite setup failed. Unable to create integration. — Native S3[name=lake] has "
        f"autoBootstrap: false, so the platform must be set up first: run `reconciler scripts {path} --out "
        "scripts/`, have the DBA run the script(s), then apply again",
    )


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("migrateError", "migrateError: a background migration failed in Immuta, which rolled it back"),
        (
            "recurringValidationError",
            "recurringValidationError: Immuta's periodic validation failed: the integration may be misconfigured",
        ),
        (  # not settled until --timeout (docs/immuta-api.md §9.16), never taken as enabled
            "quarantined",
            "GET /integrations/1/status: Snowflake[host=acme.snowflakecomputing.com] (id 1) is still 'quarantined' "
            "(a status this version does not know) after 10s (It may still settle: check it in Immuta, then re-run "
            "plan.)",
        ),
    ],
)
def test_a_write_succeeds_only_when_immuta_settles_it_enabled(
    make_world: Callable[..., World], status: str, message: str
) -> None:
    world = make_world()

    def settling_in(request: SandboxRequest, handle: Handler) -> SandboxResponse:
        response = handle(request)
        if request.path.endswith("/status"):
            return json_response(200, {"id": "1", "status": status, "validationResults": {"status": "passed"}})
        return response

    world.intercept = settling_in
    world.write("snowflake.yaml", snowflake())

    [result] = world.apply(world.planned().plan)

    assert (result.outcome, result.message) == ("failed", message)


# -- the bodies -------------------------------------------------------------------------------------------


def test_an_update_keeps_immutas_values_where_the_file_ignores_changes(make_world: Callable[..., World]) -> None:
    world = make_world()
    id_ = world.sandbox.oob_add(resolved(snowflake()))
    world.sandbox.oob_edit(id_, "config.lineage", {"enabled": True, "lineageConfig": {"ingestBatchSize": 500}})
    world.sandbox.oob_edit(id_, "config.audit.enabled", True)
    world.write(
        "snowflake.yaml",
        {
            **snowflake(warehouse="WH_XL", audit={"enabled": False}, lineage={"enabled": False}),
            "lifecycle": {"ignoreChanges": ["config.lineage", "config.audit.enabled", "config.userRolePattern"]},
        },
    )
    sent: list[bytes] = []

    def capture(request: SandboxRequest, handle: Handler) -> SandboxResponse:
        if request.method == "PUT":
            sent.append(request.body)
        return handle(request)

    world.intercept = capture

    [result] = world.apply(world.planned().plan)

    assert (result.outcome, result.message) == ("done", "")
    [body] = [yaml.safe_load(b) for b in sent]
    assert body["config"]["warehouse"] == "WH_XL"
    assert body["config"]["lineage"] == {"enabled": True, "lineageConfig": {"ingestBatchSize": 500}}
    assert body["config"]["audit"] == {"enabled": True}
    assert "userRolePattern" not in body["config"]  # Immuta has none: nothing is sent for it
    assert body["config"]["password"] == PASSWORD
    stored = world.sandbox.payload(id_)["config"]
    assert (stored["lineage"]["enabled"], stored["audit"]["enabled"]) == (True, True)


def test_a_create_sends_the_files_values_even_where_it_ignores_changes(make_world: Callable[..., World]) -> None:
    world = make_world()
    world.write(
        "snowflake.yaml",
        {**snowflake(lineage={"enabled": True}), "lifecycle": {"ignoreChanges": ["config.lineage"]}},
    )

    [result] = world.apply(world.planned().plan)

    assert world.sandbox.payload(result.integration_id or "")["config"]["lineage"] == {"enabled": True}


# -- the DELETE body [A16] -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "sent"),
    [
        (snowflake(), {"username": "IMMUTA_ADMIN", "password": PASSWORD, "role": "ACCOUNTADMIN"}),
        ({**snowflake(), "autoBootstrap": False}, None),
        (
            {
                "type": "Redshift",
                "autoBootstrap": True,
                "config": {
                    "host": "rs.amazonaws.com",
                    "database": "immuta",
                    "initialDatabase": "dev",
                    "authenticationType": "userPassword",
                    "username": "awsuser",
                    "password": "${env:APPLY_PASSWORD}",
                },
            },
            {"username": "awsuser", "password": PASSWORD},
        ),
        (
            {
                "type": "Azure Synapse Analytics",
                "autoBootstrap": True,
                "config": {
                    "host": "fin.sql.azuresynapse.net",
                    "database": "dw",
                    "schema": "immuta",
                    "authenticationType": "userPassword",
                    "username": "sqladmin",
                    "password": "${env:APPLY_PASSWORD}",
                },
            },
            {"username": "sqladmin", "password": PASSWORD},
        ),
        (
            {
                "type": "Databricks",
                "autoBootstrap": True,
                "config": {
                    "workspaceUrl": "dbc.cloud.databricks.com",
                    "httpPath": "/sql/1.0/warehouses/abc",
                    "authenticationType": "token",
                    "token": "${env:APPLY_PASSWORD}",
                    "catalog": "immuta",
                },
            },
            None,
        ),
        (s3("lake"), None),
        ({"type": "Trino"}, None),
    ],
    ids=["snowflake-auto", "snowflake-manual", "redshift-auto", "synapse-auto", "databricks", "s3", "trino"],
)
def test_a_delete_sends_exactly_the_credentials_immuta_requires(
    make_world: Callable[..., World], document: dict[str, Any], sent: dict[str, str] | None
) -> None:
    world = make_world()
    world.sandbox.oob_add(resolved(document))
    world.write("tombstone.yaml", {**document, "ensure": "absent"})
    plan = world.planned().plan
    [change] = plan.writes

    credentials = delete_body(change.actual, change.desired)

    revealed = {k: v.reveal() if hasattr(v, "reveal") else v for k, v in (credentials or {}).items()}
    assert (revealed or None) == sent
    assert gate.refusals(plan, GateOptions()) == []
    [result] = world.apply(plan)
    assert (result.outcome, result.message) == ("done", "")  # the simulator answers 400 to a wrong body
    assert world.sandbox.list_integrations() == []


def test_a_replace_whose_create_fails_after_its_delete_says_the_original_is_gone(
    make_world: Callable[..., World],
) -> None:
    world = make_world()
    old = world.sandbox.oob_add(resolved(snowflake()))
    path = world.write("snowflake.yaml", snowflake(database="IMMUTA_NEW"))  # immutable: a replace
    plan = world.planned().plan
    assert [c.action for c in plan.writes] == [Action.REPLACE]

    def refusing_posts(request: SandboxRequest, handle: Handler) -> SandboxResponse:
        return boom(400, '"config.warehouse" is not allowed') if request.method == "POST" else handle(request)

    world.intercept = refusing_posts
    [result] = world.apply(plan)

    assert (result.outcome, result.message) == (
        "failed",
        f"REPLACE HALF DONE: the original integration (id {old}) was deleted, but creating its replacement "
        'failed: POST /integrations → 400: "config.warehouse" is not allowed. '
        f"{SNOWFLAKE} is now absent from Immuta; {path} still declares it: fix the cause, then run "
        "`reconciler apply` again to create it",
    )
    assert world.sandbox.list_integrations() == []


def test_apply_never_sends_a_delete_that_lacks_the_credentials_immuta_needs(
    make_world: Callable[..., World],
) -> None:
    world = make_world()
    world.sandbox.oob_add(resolved(snowflake()))
    world.write(
        "tombstone.yaml", {"type": "Snowflake", "ensure": "absent", "config": {"host": "acme.snowflakecomputing.com"}}
    )
    plan = world.planned().plan
    sent: list[str] = []

    def recording(request: SandboxRequest, handle: Handler) -> SandboxResponse:
        sent.append(request.method)
        return handle(request)

    world.intercept = recording
    [result] = world.apply(plan)  # a caller that skipped the gate

    assert (result.outcome, result.message) == (
        "refused",
        "Immuta's DELETE needs config.username, config.password, which the file lacks",
    )
    assert "DELETE" not in sent


# -- saved plans: checked again just before each write ---------------------------------------------------


def test_a_saved_plan_write_is_refused_when_the_integration_moved(make_world: Callable[..., World]) -> None:
    world = make_world()
    id_ = world.sandbox.oob_add(resolved(snowflake()))
    path = world.write("snowflake.yaml", snowflake(warehouse="WH_XL"))
    plan = world.planned().plan
    expected = {str(c.key): c.actual_fingerprint for c in plan.changes}
    world.sandbox.oob_edit(id_, "config.audit.enabled", True)

    [result] = world.apply(plan, world.options(expected=expected))

    assert (result.outcome, result.message) == (
        "refused",
        f"changed in Immuta since the plan (id {id_}; declared in {path}): plan again and review",
    )
    assert world.sandbox.payload(id_)["config"]["warehouse"] == "WH"


def test_a_saved_plan_write_is_refused_when_the_integration_is_gone(make_world: Callable[..., World]) -> None:
    world = make_world()
    id_ = world.sandbox.oob_add(resolved(snowflake()))
    path = world.write("snowflake.yaml", snowflake(warehouse="WH_XL"))
    plan = world.planned().plan
    world.sandbox.oob_remove(id_)

    [result] = world.apply(plan, world.options(expected={SNOWFLAKE: "anything"}))

    assert (result.outcome, result.message) == (
        "refused",
        f"deleted in Immuta since the plan (id {id_}; declared in {path})",
    )
    assert world.sandbox.list_integrations() == []


def test_a_create_that_meets_an_integration_created_since_the_plan_is_refused(
    make_world: Callable[..., World],
) -> None:
    world = make_world()
    world.write("snowflake.yaml", snowflake())
    plan = world.planned().plan
    id_ = world.sandbox.oob_add(resolved(snowflake()))

    [result] = world.apply(plan)

    assert (result.outcome, result.message) == (
        "refused",
        f"Snowflake integration already exists on acme.snowflakecomputing.com (id = {id_}). It was created "
        "since the plan: plan again and review.",
    )


# -- gates -----------------------------------------------------------------------------------------------


def test_integrations_whose_creation_failed_are_repaired_with_put_not_destroyed(
    make_world: Callable[..., World],
) -> None:
    world = make_world()
    for n in range(5):
        document = snowflake(f"acct{n}.snowflakecomputing.com")
        world.write(f"s{n}.yaml", document)
        id_ = world.sandbox.oob_add(resolved(document))
        if n < 3:
            world.sandbox.oob_set_status(id_, "createError")
    plan = world.planned().plan

    assert [c.action for c in plan.writes] == [Action.UPDATE] * 3  # docs/immuta-api.md §9.6
    assert {c.reason for c in plan.writes} == {"creation failed in Immuta (createError): repaired with PUT"}
    assert gate.refusals(plan, GateOptions()) == []
    assert [r.outcome for r in world.apply(plan)] == ["done"] * 3
    assert {r["status"] for r in world.sandbox.list_integrations()} == {"enabled"}


def test_orphans_count_as_managed_only_when_pruning(make_world: Callable[..., World]) -> None:
    world = make_world()
    for n in range(6):
        world.sandbox.oob_add(resolved(snowflake(f"acct{n}.snowflakecomputing.com")))
    for n in range(4):  # two of the six have no file
        world.write(f"s{n}.yaml", snowflake(f"acct{n}.snowflakecomputing.com"))
    world.write("s0.yaml", {**snowflake("acct0.snowflakecomputing.com"), "ensure": "absent"})

    plain = world.planned().plan
    pruned = world.planned(prune=True).plan

    assert gate.refusals(plain, GateOptions()) == []  # 1 of 4 managed
    assert gate.refusals(pruned, GateOptions()) == [
        "Snowflake[host=acct4.snowflakecomputing.com]: Immuta needs the privileged credentials (config.username, "
        "config.password) to delete an integration bootstrapped automatically; write a tombstone file "
        "(ensure: absent) that carries them as references",
        "Snowflake[host=acct5.snowflakecomputing.com]: Immuta needs the privileged credentials (config.username, "
        "config.password) to delete an integration bootstrapped automatically; write a tombstone file "
        "(ensure: absent) that carries them as references",
        "the plan deletes or replaces 3 of 6 managed integrations, more than 30%; re-run with --force if that "
        "is intended",
    ]
    assert len(gate.refusals(pruned, GateOptions(force=True))) == 2  # --force never covers missing credentials


# -- verification and the summary ------------------------------------------------------------------------


def test_verification_names_the_fields_that_did_not_settle(make_world: Callable[..., World]) -> None:
    world = make_world()
    world.write("snowflake.yaml", snowflake())
    planned = world.planned()
    results = world.apply(planned.plan)
    world.sandbox.oob_edit(results[0].integration_id or "", "config.warehouse", "SOMEONE_ELSES")

    verification = verify(planned, results, world.client, world.schemas, TARGET)

    assert not verification.converged
    assert apply_report.render(results, verification).endswith(
        f"Did not converge: after the writes Immuta still differs from the files:\n  {SNOWFLAKE}: config.warehouse"
    )
    assert apply_report.exit_code(results, verification) == EXIT_ERROR


def test_verification_names_an_integration_written_that_is_no_longer_healthy(
    make_world: Callable[..., World],
) -> None:
    world = make_world()
    world.write("snowflake.yaml", snowflake())
    planned = world.planned()
    results = world.apply(planned.plan)
    world.sandbox.oob_set_status(results[0].integration_id or "", "recurringValidationError")

    verification = verify(planned, results, world.client, world.schemas, TARGET)

    assert not verification.converged
    assert apply_report.render(results, verification).endswith(
        "Not healthy: Immuta reports a status that is not enabled:\n"
        f"  {SNOWFLAKE}: recurringValidationError: Immuta's periodic validation failed: the integration may be "
        "misconfigured"
    )
    assert apply_report.exit_code(results, verification) == EXIT_ERROR


def test_verification_that_cannot_read_immuta_says_so(make_world: Callable[..., World]) -> None:
    world = make_world()
    world.write("snowflake.yaml", snowflake())
    planned = world.planned()
    results = world.apply(planned.plan)
    world.intercept = lambda request, handle: boom(403, "Forbidden")

    verification = verify(planned, results, world.client, world.schemas, TARGET)

    assert verification.read_error is not None
    assert verification.read_error.startswith("could not re-read Immuta to verify: GET /integrations → 403: Forbidden")
    assert apply_report.exit_code(results, verification) == EXIT_ERROR


def result(action: Action, host: str, outcome: str, message: str = "", id_: str | None = None) -> Result:
    change = Change(action, IntegrationKey.of("Snowflake", [("host", host)]), "Snowflake")
    return Result(change, outcome, message, id_)  # type: ignore[arg-type]


def test_the_summary_lists_what_succeeded_failed_and_was_refused() -> None:
    results = [
        result(Action.CREATE, "a", "done", id_="1"),
        result(Action.UPDATE, "b", "failed", "editError: the edit failed in Immuta"),
        result(Action.DELETE, "c", "refused", "changed in Immuta since the plan"),
    ]

    text = apply_report.render(results, Verification())

    assert text == (
        "\n"
        "Apply: 1 succeeded, 1 failed, 1 refused.\n"
        "  ok      create Snowflake[host=a] (id 1)\n"
        "  FAILED  update Snowflake[host=b]: editError: the edit failed in Immuta\n"
        "  REFUSED delete Snowflake[host=c]: changed in Immuta since the plan\n"
        "Verified: Immuta now matches the files for every integration written.\n"
        "Running apply again continues from where this run stopped."
    )
    assert apply_report.exit_code(results, Verification()) == EXIT_ERROR
    assert apply_report.exit_code(results[::2], Verification()) == EXIT_REFUSED
    assert apply_report.exit_code(results[:1], Verification()) == EXIT_OK


def test_sigterm_stops_apply_like_ctrl_c_with_its_own_exit_code(make_world: Callable[..., World]) -> None:
    """SIGTERM (what CI sends on cancel) arrives in the main thread, as the command line turns it into
    `Terminated`; the write under way finishes, none starts after it."""
    world = make_world()
    for n in range(6):
        world.write(f"s{n:02d}.yaml", snowflake(f"acct{n:02d}.snowflakecomputing.com"))
    plan = world.planned().plan
    options = world.options(parallelism=1)

    def terminated(signal_number: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminated)

    def cancel_at_the_second(change: Change, text: str) -> None:
        if str(change.key) == "Snowflake[host=acct01.snowflakecomputing.com]" and text == "creating":
            os.kill(os.getpid(), signal.SIGTERM)
            assert options.stop.requested.wait(10), "the main thread never saw the signal"

    try:
        with pytest.raises(Interrupted) as stopped:
            apply_plan(plan, world.client, options, progress=cancel_at_the_second)
    finally:
        signal.signal(signal.SIGTERM, previous)

    assert stopped.value.exit_code == 143
    assert str(stopped.value) == (
        "terminated (SIGTERM): 2 of 6 write(s) finished, the rest were not started; "
        "running apply again continues from here"
    )
    hosts = [r["config"]["host"] for r in world.sandbox.list_integrations()]
    assert sorted(hosts) == ["acct00.snowflakecomputing.com", "acct01.snowflakecomputing.com"]


def test_once_abandoned_no_request_is_sent_and_no_wait_goes_on() -> None:
    stop = Stop()
    stop.sleep(0)
    stop.check()
    stop.abandoned.set()
    with pytest.raises(Abandoned, match=r"^not sent: apply was interrupted$"):
        stop.check()
    with pytest.raises(Abandoned, match=r"^stopped waiting: apply was interrupted$"):
        stop.sleep(3600)  # returns at once: the event is set


@pytest.mark.parametrize(
    ("stopped", "code", "said"), [(Terminated, 143, "terminated (SIGTERM)"), (KeyboardInterrupt, 130, "interrupted")]
)
def test_a_signal_before_any_write_exits_with_the_shells_code(
    stopped: type[BaseException], code: int, said: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, run_cli: Any
) -> None:
    def signalled(target: Any) -> Any:
        raise stopped

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("reconciler.cli.connect.open_client", signalled)
    (tmp_path / "integrations.d").mkdir()
    result = run_cli("plan", "--sandbox")
    assert (result.exit_code, result.stderr) == (code, f"\n{said}\n")  # the blank line is click's


# -- a write that meets Immuta busy with the integration (docs/immuta-api.md §9.5, A15; issue 21) ----------------------


@pytest.mark.parametrize("answer", ["409", "422"])
def test_a_write_meeting_another_admins_edit_waits_for_it_and_writes_again(
    make_world: Callable[..., World], answer: str
) -> None:
    world = make_world(provisioning_seconds=5.0, dialect=Dialect.of({"transitional": answer}))
    id_ = world.sandbox.oob_add(resolved(snowflake()))
    world.write("snowflake.yaml", snowflake(warehouse="OURS"))
    plan = world.planned().plan
    world.client.update(id_, resolved(snowflake(warehouse="THEIRS")))  # another admin: `editing` for 5 s

    [result] = world.apply(plan)

    assert (result.outcome, result.message) == ("done", "")
    busy = "Immuta is busy with it ('editing'): waiting for it to settle, then sending the update again"
    assert ("Snowflake[host=acme.snowflakecomputing.com]", busy) in world.events
    assert world.sandbox.payload(id_)["config"]["warehouse"] == "OURS"


def test_a_delete_meeting_a_busy_integration_fails_at_the_timeout_with_advice_that_fits(
    make_world: Callable[..., World],
) -> None:
    world = make_world(provisioning_seconds=60.0)
    id_ = world.sandbox.oob_add(resolved(snowflake()))
    world.write("snowflake.yaml", {**snowflake(), "ensure": "absent"})
    plan = world.planned().plan
    world.client.update(id_, resolved(snowflake(warehouse="THEIRS")))

    [result] = world.apply(plan, world.options(timeout=3.0))

    assert result.outcome == "failed"
    assert result.message == (
        "Immuta was still busy with it ('editing': DELETE answered 409 'Unable to edit integration with ID 1 in "
        "current state editing.') after --timeout 3s, so the delete was not carried out: wait until its status "
        "settles (plan shows it), then apply again"
    )
    assert "fix what its message names" not in result.message


def test_a_409_that_is_not_about_a_busy_integration_is_not_waited_on(make_world: Callable[..., World]) -> None:
    world = make_world()
    world.sandbox.oob_add(resolved(s3("lake", "s3://taken/")))
    id_ = world.sandbox.oob_add(resolved(s3("mine", "s3://mine/")))
    world.write("s3.yaml", s3("mine", "s3://taken/"))

    [result] = world.apply(world.planned().plan)

    assert result.outcome == "failed"
    assert "Native S3 integration already exists with awsLocationPath s3://taken/ (id = 1)." in result.message
    assert not any("busy" in text for _, text in world.events)
    assert world.sandbox.payload(id_)["config"]["awsLocationPath"] == "s3://mine/"


def test_a_put_refused_for_a_non_editable_attribute_is_read_as_needing_a_replace(
    make_world: Callable[..., World],
) -> None:
    world = make_world()
    world.sandbox.oob_add(resolved(snowflake()))
    world.write("snowflake.yaml", snowflake(warehouse="OTHER"))

    def non_editable(request: SandboxRequest, handle: Handler) -> SandboxResponse:
        if request.method == "PUT":  # docs/immuta-api.md §9.4
            return boom(400, "Unable to edit integration due to changes of non-editable attribute(s).")
        return handle(request)

    world.intercept = non_editable
    [result] = world.apply(world.planned().plan)

    assert (result.outcome, result.message) == (
        "failed",
        "PUT /integrations/1 → 400: Unable to edit integration due to changes of non-editable attribute(s). — "
        "Immuta will not change a field of it by PUT: this change needs a replace (delete, then create), which "
        "this version plans only for the fields its schema marks immutable — replace it deliberately (a "
        "tombstone, apply, then the file again), and report the field",
    )


# -- a schema default the tenant does not know (docs/immuta-api.md §9.15, A19) ---------------------------------------


def test_a_default_immuta_refuses_is_sent_no_more_but_a_written_field_is_kept(
    make_world: Callable[..., World],
) -> None:
    world = make_world(dialect=Dialect.of({"snowflake_features": "refused"}))
    world.write("a.yaml", snowflake("a.snowflakecomputing.com"))
    world.write("b.yaml", snowflake("b.snowflakecomputing.com", lineage={"enabled": True}))

    results = {str(r.change.key): r for r in world.apply(world.planned().plan)}

    defaulted = results["Snowflake[host=a.snowflakecomputing.com]"]
    assert (defaulted.outcome, defaulted.message) == ("done", "")
    for name in ("lineage", "workspaces"):
        note = f"Immuta does not know config.{name}, a schema default the file does not write: sent again without it"
        assert ("Snowflake[host=a.snowflakecomputing.com]", note) in world.events
    written = results["Snowflake[host=b.snowflakecomputing.com]"]
    assert (written.outcome, written.message) == ("failed", 'POST /integrations → 400: "config.lineage" is not allowed')
