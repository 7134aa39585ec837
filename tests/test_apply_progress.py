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


def test_live_lines_draw_every_integration_then_redraw_the_block_in_place() -> None:
    written: list[str] = []
    show = live_lines([A, B], written.append)

    show(A, "creating")
    show(B, "deleting id 7")

    clear = "\x1b[2K"
    assert written == [
        f"{clear}+ Snowflake[host=a]: creating\n{clear}- Snowflake[host=b]: waiting\n",
        # back up the two lines just drawn, then draw them again
        f"\x1b[2F{clear}+ Snowflake[host=a]: creating\n{clear}- Snowflake[host=b]: deleting id 7\n",
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
