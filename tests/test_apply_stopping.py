"""No new write starts once a stop signal reached the process: not while the main thread is still on its way
to the handler (asleep waiting on a write, or waiting for the interpreter lock), and not after a wait for
Immuta to finish an earlier delete. A write already sent finishes and is counted."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType

import pytest
from test_apply import PASSWORD, SNOWFLAKE, World, make_world, resolved, schemas, snowflake

from reconciler.applying.apply import apply_plan
from reconciler.applying.stopping import NotStarted, Stop
from reconciler.planning.plan import Action, Change

__all__ = ["make_world", "schemas"]  # the fixtures, shared with test_apply


def test_a_signal_handed_to_another_thread_stops_the_next_write_before_the_handler_runs() -> None:
    """The kernel may hand SIGTERM to any thread; Python runs the handler only in the main thread, and only
    once it wakes. A worker about to send a write's first request must see the signal at once."""
    handled: list[int] = []

    def handler(number: int, _frame: FrameType | None) -> None:
        handled.append(number)

    stop = Stop()
    seen: list[str] = []

    def worker() -> None:
        stop.begin()
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)  # delivered to this thread, now
        try:
            stop.check()
        except NotStarted:
            seen.append("not started")
        else:
            seen.append("sent")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        with stop.watching():
            thread = threading.Thread(target=worker)
            thread.start()
            thread.join()
            assert seen == ["not started"]
            assert stop.requested.is_set()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert handled == [signal.SIGTERM]  # the main thread's handler ran too, afterwards


def test_other_signals_do_not_stop_writes_and_a_write_under_way_goes_on() -> None:
    stop = Stop()
    previous = signal.signal(signal.SIGUSR1, lambda _n, _f: None)
    try:
        with stop.watching():
            stop.begin()
            signal.raise_signal(signal.SIGUSR1)
            stop.check()  # SIGUSR1 is no stop: the write's first request goes
            stop.requested.set()
            stop.check()  # the same write's next request (a replace's create) still goes
            stop.begin()
            with pytest.raises(NotStarted):
                stop.check()  # but the next write is not started
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_a_signal_during_the_wait_for_a_delete_starts_no_create(make_world: Callable[..., World]) -> None:
    """A create planned while its key was being deleted waits first; a signal during that wait means the
    create is never sent, and it is not reported as done."""
    world = make_world(provisioning_seconds=0.15)
    old = world.sandbox.oob_add(resolved(snowflake()))
    world.client.delete(old, {"username": "IMMUTA_ADMIN", "password": PASSWORD, "role": "ACCOUNTADMIN"})
    world.write("snowflake.yaml", snowflake())
    plan = world.planned().plan
    options = world.options()

    def signalled_while_waiting(change: Change, text: str) -> None:
        world.progress(change, text)
        if text == "waiting for Immuta to finish 'deleting'":
            options.stop.requested.set()  # what apply's main thread does on the first signal

    results = apply_plan(plan, world.client, options, progress=signalled_while_waiting)

    assert results == []
    assert world.events == [(SNOWFLAKE, "waiting for Immuta to finish 'deleting'")]
    assert world.sandbox.list_integrations() == []  # the delete finished; nothing was created
    assert world.change(plan, SNOWFLAKE).action is Action.CREATE
