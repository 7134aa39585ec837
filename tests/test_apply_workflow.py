"""The apply sequence as a library call (reconciler.applying.workflow): what it shows, asks and writes, in
which order, and what it refuses before any write — driven here through its hooks, never a terminal."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.applying import workflow
from reconciler.applying.apply import Progress
from reconciler.applying.approval import NO_TERMINAL, Approval
from reconciler.applying.poller import Schedule
from reconciler.client.immuta import Auth, ImmutaClient
from reconciler.desired import SecretMode
from reconciler.errors import RefusedError
from reconciler.planning import engine, savedplan
from reconciler.planning.gate import GateOptions
from reconciler.planning.plan import Change
from reconciler.sandbox.api import Sandbox
from reconciler.sandbox.transport import SandboxTransport
from reconciler.target import Target
from reconciler.validation import schema

KEY = "workflow-key"
TARGET = Target("http://sandbox.invalid")
SNOWFLAKE = "Snowflake[host=acme.snowflakecomputing.com]"


def snowflake(host: str = "acme.snowflakecomputing.com", **lifecycle: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "type": "Snowflake",
        "autoBootstrap": True,
        "config": {
            "host": host,
            "warehouse": "WH",
            "database": "IMMUTA",
            "authenticationType": "userPassword",
            "username": "IMMUTA_ADMIN",
            "password": "${env:WORKFLOW_PASSWORD}",
            "role": "ACCOUNTADMIN",
        },
    }
    return document | ({"lifecycle": lifecycle} if lifecycle else {})


@dataclass
class Recorder:
    """Every hook's call, in order; the clock ticks one second per reading."""

    answer: bool = True
    interactive: bool = True
    auto_approve: bool = False
    calls: list[str] = field(default_factory=list)
    ticks: int = 0

    def clock(self) -> float:
        self.ticks += 1
        return float(self.ticks)

    def confirm(self, question: str) -> bool:
        self.calls.append(f"ask {question}")
        return self.answer

    def progress(self, writes: Sequence[Change]) -> Progress:
        self.calls.append(f"progress for {[str(c.key) for c in writes]}")
        return lambda change, text: self.calls.append(f"{change.key}: {text}")

    def hooks(self) -> workflow.Hooks:
        return workflow.Hooks(
            warn=lambda text: self.calls.append(f"warn {text}"),
            show_plan=lambda plan: self.calls.append(f"plan {len(plan.writes)} write(s)"),
            approval=Approval(self.auto_approve, self.interactive, self.confirm),
            progress=self.progress,
            clock=self.clock,
        )


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Sandbox, ImmutaClient]]:
    monkeypatch.setenv("WORKFLOW_PASSWORD", "pw-workflow-1")
    simulator = Sandbox(api_key=KEY)
    client = ImmutaClient("http://sandbox.invalid", Auth.api_key(KEY), transport=SandboxTransport(simulator.handle))
    with client:
        yield tmp_path, simulator, client


def write(folder: Path, name: str, document: dict[str, Any]) -> None:
    (folder / name).write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def request(folder: Path, **options: Any) -> workflow.ApplyRequest:
    plan = engine.PlanRequest([str(folder)], mode=SecretMode.REQUIRE)
    return workflow.ApplyRequest(plan, schedule=Schedule(first=0.001, cap=0.01), **options)


def run(world: tuple[Path, Sandbox, ImmutaClient], recorder: Recorder, **options: Any) -> workflow.ApplyOutcome:
    folder, _, client = world
    return workflow.run_apply(request(folder, **options), schema.load(), TARGET, client, recorder.hooks())


def test_an_approved_plan_is_shown_asked_applied_and_verified_in_that_order(world: Any) -> None:
    write(world[0], "s.yaml", snowflake())
    recorder = Recorder(answer=True)

    outcome = run(world, recorder)

    assert recorder.calls == [
        "plan 1 write(s)",
        "ask Apply these changes?",
        f"progress for ['{SNOWFLAKE}']",
        f"{SNOWFLAKE}: creating",
        f"{SNOWFLAKE}: done",
    ]
    assert outcome.status == "applied"
    assert [(str(r.change.key), r.outcome) for r in outcome.results] == [(SNOWFLAKE, "done")]
    assert outcome.verification.converged
    assert outcome.durations == {SNOWFLAKE: 1.0}  # first event at tick 1, the last at tick 2
    assert len(world[1].list_integrations()) == 1


def test_a_declined_plan_writes_nothing(world: Any) -> None:
    write(world[0], "s.yaml", snowflake())
    recorder = Recorder(answer=False)

    outcome = run(world, recorder)

    assert outcome.status == "declined"
    assert recorder.calls == ["plan 1 write(s)", "ask Apply these changes?"]
    assert world[1].list_integrations() == []


def test_without_a_terminal_an_unreviewed_plan_is_refused_before_any_write(world: Any) -> None:
    write(world[0], "s.yaml", snowflake())
    recorder = Recorder(interactive=False)

    with pytest.raises(RefusedError) as refused:
        run(world, recorder)

    assert refused.value.reasons == (NO_TERMINAL,)
    assert recorder.calls == ["plan 1 write(s)"]
    assert world[1].list_integrations() == []


def test_auto_approve_asks_nobody(world: Any) -> None:
    write(world[0], "s.yaml", snowflake())
    recorder = Recorder(interactive=False, auto_approve=True)

    assert run(world, recorder).status == "applied"
    assert not any(call.startswith("ask") for call in recorder.calls)


def test_nothing_to_do_shows_the_plan_and_asks_nothing(world: Any) -> None:
    write(world[0], "s.yaml", snowflake())
    run(world, Recorder(auto_approve=True))
    recorder = Recorder()

    outcome = run(world, recorder)

    assert outcome.status == "no-changes"
    assert outcome.results == ()
    assert recorder.calls == ["plan 0 write(s)"]


def test_a_gate_refuses_before_showing_or_asking(world: Any) -> None:
    write(world[0], "s.yaml", snowflake())
    run(world, Recorder(auto_approve=True))
    write(world[0], "s.yaml", {**snowflake(preventDestroy=True), "ensure": "absent"})
    recorder = Recorder(auto_approve=True)

    with pytest.raises(RefusedError) as refused:
        run(world, recorder, gate=GateOptions(force=True))

    assert refused.value.reasons[0] == "the plan was refused by a safety gate; nothing was changed:"
    assert "lifecycle.preventDestroy forbids delete" in refused.value.reasons[1]
    assert recorder.calls == []
    assert len(world[1].list_integrations()) == 1


def test_a_stale_saved_plan_is_refused_and_a_fresh_one_applies_unasked(world: Any, tmp_path: Path) -> None:
    folder, simulator, client = world
    write(folder, "s.yaml", snowflake())
    reviewed = engine.build(request(folder).plan, schema.load(), TARGET, client).plan
    savedplan.save(reviewed, str(tmp_path / "plan.json"), paths=[str(folder)], rotate=frozenset())
    saved = savedplan.load(str(tmp_path / "plan.json"))

    write(folder, "t.yaml", snowflake("other.snowflakecomputing.com"))
    with pytest.raises(RefusedError) as refused:
        run(world, Recorder(), saved=saved)
    assert refused.value.reasons[0] == f"the saved plan {tmp_path / 'plan.json'} is stale; plan again and review:"

    (folder / "t.yaml").unlink()
    recorder = Recorder(interactive=False)  # a reviewed plan needs nobody at a terminal
    assert run(world, recorder, saved=saved).status == "applied"
    assert len(simulator.list_integrations()) == 1


def test_ctrl_c_returns_what_finished_for_the_caller_to_report(world: Any) -> None:
    folder = world[0]
    for n in range(2):
        write(folder, f"s{n}.yaml", snowflake(f"acct{n}.snowflakecomputing.com"))
    recorder = Recorder(auto_approve=True)

    def stop_at_the_second(writes: Sequence[Change]) -> Progress:
        def show(change: Change, text: str) -> None:
            if str(change.key) == "Snowflake[host=acct1.snowflakecomputing.com]" and text == "creating":
                raise KeyboardInterrupt

        return show

    hooks = workflow.Hooks(recorder.hooks().warn, lambda plan: None, Approval(True), stop_at_the_second)
    outcome = workflow.run_apply(request(folder, parallelism=1), schema.load(), TARGET, world[2], hooks)

    assert outcome.status == "interrupted"
    assert [str(r.change.key) for r in outcome.results] == ["Snowflake[host=acct0.snowflakecomputing.com]"]
    assert outcome.verification.read_error == "interrupted before verifying"
    assert outcome.interruption is not None and outcome.interruption.exit_code == 130
