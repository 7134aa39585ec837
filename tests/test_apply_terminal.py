"""`reconciler apply` in a real pseudo-terminal of 80x24 against a served simulator: fifty writes leave one line
each in the scrollback, no line is wider than the terminal, the live block never taller than it, and the n/N
counter ends at 50/50. Without a terminal, one line per event."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest
from actions_runner import RecordingSandbox

pytestmark = pytest.mark.slow
COLUMNS, LINES = 80, 24
COUNT = 50
CONTROL = re.compile(r"\x1b\[(\d*)([A-Za-z])")


class Screen:
    """The least of a terminal that apply's output needs: newlines that scroll into a scrollback, cursor up to
    the first column (CSI n F), clear to the end of the screen (CSI J), and a check of every line's width."""

    def __init__(self) -> None:
        self.rows = [""] * LINES
        self.row = 0
        self.scrollback: list[str] = []
        self.too_wide: list[str] = []
        self.tallest_redraw = 0

    def feed(self, text: str) -> None:
        for piece in re.split(r"(\x1b\[\d*[A-Za-z])", text.replace("\r\n", "\n")):
            control = CONTROL.fullmatch(piece)
            if control:
                count, letter = int(control.group(1) or 1), control.group(2)
                if letter == "F":
                    self.tallest_redraw = max(self.tallest_redraw, count)
                    self.row = max(self.row - count, 0)
                    self.rows[self.row] = ""
                elif letter == "J":
                    self.rows[self.row :] = [""] * (LINES - self.row)
                continue
            for char in piece:
                if char == "\n":
                    self._newline()
                elif char != "\r":
                    self.rows[self.row] += char
                    if len(self.rows[self.row]) >= COLUMNS:
                        self.too_wide.append(self.rows[self.row])

    def _newline(self) -> None:
        if self.row == LINES - 1:
            self.scrollback.append(self.rows.pop(0))
            self.rows.append("")
        else:
            self.row += 1

    def everything(self) -> list[str]:
        return [*self.scrollback, *self.rows]


@pytest.fixture
def fifty(tmp_path: Path) -> Iterator[tuple[Path, RecordingSandbox]]:
    folder = tmp_path / "integrations.d"
    folder.mkdir()
    for n in range(COUNT):
        (folder / f"s3-{n:02d}.yaml").write_text(
            "type: Native S3\nautoBootstrap: false\nconfig:\n"
            f"  name: datalake-with-a-rather-long-name-to-fill-the-line-{n:02d}\n"
            '  awsAccountId: "123456789012"\n  awsRegion: us-east-1\n'
            "  awsLocationRole: arn:aws:iam::123456789012:role/immuta-access-grants-location\n"
            f"  awsLocationPath: s3://acme-datalake-{n:02d}/\n  authenticationType: auto\n"
            "  awsRoleToAssume: arn:aws:iam::123456789012:role/immuta\n",
            encoding="utf-8",
        )
    tenant = RecordingSandbox("pty-key")
    tenant.sandbox.__init__(api_key="pty-key", provisioning_seconds=0.3)  # statuses take a while to settle
    yield tmp_path, tenant
    tenant.close()


def environment(tenant: RecordingSandbox) -> dict[str, str]:
    drop = ("CI", "GITHUB_", "COLUMNS", "LINES", "NO_COLOR", "IMMUTA_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return {**env, "IMMUTA_URL": tenant.url, "IMMUTA_API_KEY": "pty-key", "TERM": "xterm"}


def test_fifty_writes_in_an_80_by_24_terminal(fifty: tuple[Path, RecordingSandbox]) -> None:
    work, tenant = fifty
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
    command = [sys.executable, "-m", "reconciler", "apply", "--auto-approve"]
    process = subprocess.Popen(
        command, cwd=work, env=environment(tenant), stdin=child, stdout=child, stderr=child, close_fds=True
    )
    os.close(child)
    output = bytearray()
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(main)
    assert process.wait(timeout=120) == 0, output.decode(errors="replace")[-2000:]
    screen = Screen()
    screen.feed(output.decode("utf-8", errors="replace"))
    lines = screen.everything()
    # The progress fits; the plan above it is the terminal's to wrap, as any long output.
    assert [line for line in screen.too_wide if line.startswith(("apply: ", "+ "))] == []
    assert 0 < screen.tallest_redraw <= LINES - 1
    finished = [line for line in lines if re.fullmatch(r"\+ Native S3\[name=datalake-.*: done", line)]
    assert len(finished) == COUNT  # one line per write, in the scrollback
    assert not any(line.endswith((": creating", ": waiting")) for line in lines)  # the live rows are gone
    assert any(line.startswith(f"apply: {COUNT}/{COUNT} finished · 0 under way · 0 waiting") for line in lines)
    progress = [line for line in lines if line.startswith("apply: ") or re.match(r"\+ .*: \w", line)]
    assert len(progress) == COUNT + 1, progress  # one line per write, and the counter: nothing left behind


def test_without_a_terminal_one_line_per_event(fifty: tuple[Path, RecordingSandbox]) -> None:
    work, tenant = fifty
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "apply", "--auto-approve"],
        cwd=work,
        env=environment(tenant),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout
    events = [line for line in result.stdout.splitlines() if re.match(r"\d\d:\d\d:\d\d \+ Native S3", line)]
    assert sum(line.endswith(": done") for line in events) == COUNT
    assert sum(line.endswith(": creating") for line in events) == COUNT
