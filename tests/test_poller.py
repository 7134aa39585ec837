"""The one poller: its schedule, Retry-After, the deadline, what it learns, and what it logs. On a fake clock."""

from __future__ import annotations

from typing import Any

import pytest
from fake_time import FakeTime

from reconciler.applying.poller import Poller, Schedule
from reconciler.client.retry import GaveUp
from reconciler.errors import ApiError, AuthError, NotFoundError, TransientError


class Statuses:
    """Answers the given statuses in order (an exception is raised), repeating the last one."""

    def __init__(self, *answers: str | Exception) -> None:
        self.answers = answers
        self.reads: list[tuple[str | int, int | None]] = []

    def status(self, integration_id: str | int, *, attempts: int | None = None) -> dict[str, Any]:
        self.reads.append((integration_id, attempts))
        answer = self.answers[min(len(self.reads), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return {"id": str(integration_id), "status": answer}


def poller() -> tuple[Poller, FakeTime]:
    time = FakeTime()
    return Poller(Schedule(first=0.05, growth=1.5, cap=3.0), clock=time.clock, sleep=time.sleep), time


def test_first_read_soon_then_the_interval_grows_to_the_cap() -> None:
    poll, time = poller()
    reader = Statuses(*["creating"] * 14, "enabled")

    waited = poll.wait(reader, "9", timeout=600, label="Trino[]")

    assert waited.record == {"id": "9", "status": "enabled"}
    assert waited.reads == 15
    assert time.sleeps[:6] == pytest.approx([0.05, 0.075, 0.1125, 0.16875, 0.253125, 0.3796875])
    assert time.sleeps[-3:] == [3.0, 3.0, 3.0]
    # One attempt per read: the poller, not the client's retry loop, decides when to read again.
    assert set(reader.reads) == {("9", 1)}


@pytest.mark.parametrize("status", ["creating", "editing", "deleting", "migrating"])
def test_every_transitional_status_of_the_table_is_waited_on(status: str) -> None:
    poll, _ = poller()
    assert poll.wait(Statuses(status, "enabled"), "1", timeout=60, label="x").reads == 2


def test_an_unknown_status_is_not_settled_until_the_deadline() -> None:
    poll, _ = poller()
    assert poll.wait(Statuses("brandNew", "enabled"), "1", timeout=60, label="x").reads == 2  # docs/immuta-api.md §9.16
    with pytest.raises(TransientError) as raised:
        poll.wait(Statuses("brandNew"), "1", timeout=60, label="Trino")
    assert raised.value.message == "Trino (id 1) is still 'brandNew' (a status this version does not know) after 60s"


@pytest.mark.parametrize("status", ["enabled", "createError", "recurringValidationError", "disabled", "deleted"])
def test_a_settled_failed_or_gone_status_ends_the_wait(status: str) -> None:
    poll, _ = poller()
    waited = poll.wait(Statuses(status), "1", timeout=60, label="x")
    assert (waited.reads, waited.record) == (1, {"id": "1", "status": status})


def test_retry_after_stretches_the_next_wait() -> None:
    poll, time = poller()
    throttled = GaveUp("GET", "/integrations/9/status", 429, "gave up after 1 attempt(s)", retry_after=7.0)
    reader = Statuses("creating", throttled, "enabled")

    assert poll.wait(reader, "9", timeout=600, label="x").reads == 3
    assert time.sleeps == pytest.approx([0.05, 0.075, 7.0])


def test_failed_reads_are_polled_through_until_the_deadline() -> None:
    poll, _ = poller()
    dropped = TransientError("GET", "/integrations/9/status", None, "connection dropped")
    server_error = ApiError("GET", "/integrations/9/status", 500, "An internal server error occurred")
    assert poll.wait(Statuses(dropped, server_error, "enabled"), "9", timeout=60, label="x").reads == 3


def test_a_read_that_cannot_mend_is_raised_at_once() -> None:
    poll, time = poller()
    with pytest.raises(AuthError):
        poll.wait(Statuses(AuthError("GET", "/integrations/9/status", 401, "Unauthorized")), "9", timeout=60, label="x")
    assert time.sleeps == [0.05]


def test_the_deadline_names_the_integration_and_its_status() -> None:
    poll, time = poller()
    with pytest.raises(TransientError) as caught:
        poll.wait(Statuses("deleting"), "9", timeout=10, label="Snowflake[host=a]")
    assert str(caught.value) == (
        "GET /integrations/9/status: Snowflake[host=a] (id 9) is still 'deleting' after 10s\n"
        "  It may still settle: check it in Immuta, then re-run plan."
    )
    assert sum(time.sleeps) == pytest.approx(10)


def test_gone_is_an_answer_only_when_accepted() -> None:
    poll, _ = poller()
    gone = NotFoundError("GET", "/integrations/9/status", 404, "No Integration found with ID 9.")
    assert poll.wait(Statuses("deleting", gone), "9", timeout=60, label="x", gone_ok=True).record is None
    with pytest.raises(NotFoundError, match="No Integration found with ID 9"):
        poll.wait(Statuses(gone), "9", timeout=60, label="x")


def test_later_waits_of_a_kind_aim_at_how_long_it_took() -> None:
    poll, time = poller()
    # Settles between the reads at 0.125 s and 0.2375 s: learned as their midpoint.
    poll.wait(Statuses("creating", "creating", "enabled"), "1", timeout=60, label="a", kind="Snowflake creating")
    time.sleeps.clear()

    waited = poll.wait(Statuses("enabled"), "2", timeout=60, label="b", kind="Snowflake creating")

    assert (waited.reads, time.sleeps) == (1, [pytest.approx(0.18125)])
    time.sleeps.clear()
    # Another kind, or joining a change under way, starts from the schedule.
    poll.wait(Statuses("enabled"), "3", timeout=60, label="c", kind="Snowflake deleting")
    poll.wait(Statuses("enabled"), "4", timeout=60, label="d")
    assert time.sleeps == [0.05, 0.05]


def test_an_aim_that_settles_is_tried_earlier_until_it_misses_and_then_the_midpoint_is_learned() -> None:
    poll, time = poller()
    poll.wait(Statuses("creating", "creating", "enabled"), "1", timeout=60, label="a", kind="k")  # learns 0.18125
    poll.wait(Statuses("enabled"), "2", timeout=60, label="b", kind="k")
    time.sleeps.clear()

    poll.wait(Statuses("creating", "enabled"), "3", timeout=60, label="c", kind="k")
    poll.wait(Statuses("enabled"), "4", timeout=60, label="d", kind="k")

    earlier = 0.18125 * 0.97
    following = max(0.005, earlier * 0.02)  # a fiftieth of the aim later (5 ms at least)
    assert time.sleeps == pytest.approx([earlier, following, (2 * earlier + following) / 2])


def test_of_waits_under_way_together_the_soonest_estimate_is_kept() -> None:
    poll, time = poller()

    class SlowWhileAQuickOneEnds(Statuses):
        def status(self, integration_id: str | int, *, attempts: int | None = None) -> dict[str, Any]:
            if not self.reads:  # meanwhile, another worker's write of the same kind settles quickly
                poll.wait(Statuses("creating", "enabled"), "2", timeout=60, label="quick", kind="k")
            return super().status(integration_id, attempts=attempts)

    poll.wait(SlowWhileAQuickOneEnds(*["creating"] * 5, "enabled"), "1", timeout=60, label="slow", kind="k")
    time.sleeps.clear()

    poll.wait(Statuses("enabled"), "3", timeout=60, label="next", kind="k")

    # The quick one settled between 0.05 s and 0.125 s: aimed there, not at the slow one's ~1.3 s.
    assert time.sleeps == pytest.approx([0.0875])


def test_a_missed_aim_looks_again_soon_and_a_long_estimate_is_capped() -> None:
    poll, time = poller()
    poll.wait(Statuses(*["creating"] * 20, "enabled"), "1", timeout=600, label="a", kind="slow")
    time.sleeps.clear()

    poll.wait(Statuses("creating", "creating", "enabled"), "2", timeout=600, label="b", kind="slow")

    # Aimed at the cap (3 s), not at the ~40 s it took; then a fiftieth of that, growing again.
    assert time.sleeps == pytest.approx([3.0, 0.06, 0.09])


def test_verbose_logs_how_many_reads_each_integration_took(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="reconciler.poll")
    poll, _ = poller()
    poll.wait(Statuses("creating", "enabled"), "9", timeout=60, label="Trino[]")
    assert caplog.messages == ["Trino[] (id 9): 'enabled' after 2 status read(s) in 0.12s"]
