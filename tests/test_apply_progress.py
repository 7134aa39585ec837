"""What apply shows while it runs (reconciler.applying.progress), written through a writer: redrawn lines
on a terminal, timestamped lines in CI, and each write's duration."""

from __future__ import annotations

from reconciler.applying.progress import Timings, live_lines, timestamped_lines
from reconciler.model import IntegrationKey
from reconciler.planning.plan import Action, Change


def change(action: Action, host: str) -> Change:
    return Change(action, IntegrationKey.of("Snowflake", [("host", host)]), "Snowflake")


A = change(Action.CREATE, "a")
B = change(Action.DELETE, "b")


def test_live_lines_redraw_a_counted_block_and_leave_one_line_per_finished_write() -> None:
    written: list[str] = []
    show = live_lines([A, B], written.append, size=lambda: (80, 24))

    show(A, "creating")
    show(B, "deleting id 7")
    show(A, "done")

    assert written == [
        "apply: 0/2 finished · 1 under way · 1 waiting\n+ Snowflake[host=a]: creating\n",
        # back up the two lines just drawn, clear to the end of the screen, draw the block again
        "\x1b[2F\x1b[Japply: 0/2 finished · 2 under way · 0 waiting\n- Snowflake[host=b]: deleting id 7\n"
        "+ Snowflake[host=a]: creating\n",
        # the finished write's line stays above the block, in the scrollback
        "\x1b[3F\x1b[J+ Snowflake[host=a]: done\napply: 1/2 finished · 1 under way · 0 waiting\n"
        "- Snowflake[host=b]: deleting id 7\n",
    ]


def test_live_lines_fit_a_small_terminal() -> None:
    """20 columns, 5 lines: every line cut to 19 characters, the block at most 4 lines (with its counter)."""
    changes = [change(Action.CREATE, f"host-{n}") for n in range(6)]
    written: list[str] = []
    show = live_lines(changes, written.append, size=lambda: (20, 5))
    for each in changes:
        show(each, "creating")
    block = written[-1].removeprefix("\x1b[4F\x1b[J").splitlines()
    assert block == [
        "apply: 0/6 finishe…",
        "+ Snowflake[host=h…",
        "+ Snowflake[host=h…",
        "… and 4 more under…",
    ]


def test_timestamped_lines_keep_every_event_in_order() -> None:
    written: list[str] = []
    show = timestamped_lines(written.append, stamp=lambda: "12:34:56")

    show(A, "creating")
    show(A, "done")

    assert written == ["12:34:56 + Snowflake[host=a]: creating\n", "12:34:56 + Snowflake[host=a]: done\n"]


def test_timings_pass_events_on_and_measure_each_write_from_its_first_event_to_its_last() -> None:
    seen: list[tuple[str, str]] = []
    readings = iter([10.0, 10.5, 12.0, 13.25])
    timings = Timings(lambda c, text: seen.append((str(c.key), text)), clock=lambda: next(readings))

    timings(A, "creating")  # 10.0
    timings(B, "refused: changed in Immuta since the plan")  # 10.5: one event, no time spent writing
    timings(A, "waiting")  # 12.0
    timings(A, "done")  # 13.25

    assert timings.durations == {"Snowflake[host=a]": 3.25, "Snowflake[host=b]": 0.0}
    assert [text for _, text in seen] == ["creating", "refused: changed in Immuta since the plan", "waiting", "done"]
