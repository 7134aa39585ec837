"""Benchmark: `reconciler apply` of 100 creates, each taking 0.5 s to provision, at --parallelism 10 and 1.

The simulator is served on 127.0.0.1 from this process (in memory, a fresh tenant per run); the CLI runs in
a child process with IMMUTA_URL, as a CI job would. Reports, per run, the wall time of the whole command
(Python start-up, plan, writes, verify) and of its write phase (first POST to the last status read, as the
server saw them), the ratio of the two parallelisms, and the machine. Not collected by pytest.

    .venv/bin/python tests/bench/bench_apply.py [--count 100] [--provisioning 0.5] [--parallelism 10]

Targets: parallel >= 8x faster than serial, and within 1.3x of the ideal (count / parallelism rounds of
`provisioning` seconds: 10 x 0.5 s = 5 s). Exit status 1 when one is missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.sandbox import Sandbox, SandboxRequest, SandboxResponse, start_server

API_KEY = "bench-key"
TARGET_SPEEDUP = 8.0
TARGET_OF_IDEAL = 1.3

TEMPLATE = """\
# Snowflake account {index} of the benchmark.
type: Snowflake
autoBootstrap: true
config:
  host: account-{index:04d}.us-east-1.snowflakecomputing.com
  warehouse: IMMUTA_WH
  database: IMMUTA_DB_{index:04d}
  authenticationType: userPassword
  username: immuta_admin
  password: ${{env:SNOWFLAKE_PASSWORD}}
  role: ACCOUNTADMIN
"""


class TimedSandbox(Sandbox):
    """Remembers when the first POST and the last request came in."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._lock = threading.Lock()
        self.first_post: float | None = None
        self.last_status: float | None = None

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        now = time.perf_counter()
        with self._lock:
            if request.method == "POST" and self.first_post is None:
                self.first_post = now
            if request.path.endswith("/status"):
                self.last_status = now
        return super().handle(request)


@dataclass(frozen=True)
class Run:
    parallelism: int
    wall: float
    writes: float
    before: float  # start-up, loading the files, listing and planning: until the first POST
    after: float  # verifying and reporting: after the last status read
    code: int
    closing: str
    requests: Counter[str]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.platform()}; {cpu}; {os.cpu_count()} CPU(s); Python {platform.python_version()}"


def apply_command(parallelism: int) -> list[str]:
    return [sys.executable, "-m", "reconciler", "apply", "--auto-approve", "--parallelism", str(parallelism)]


def run_once(folder: Path, count: int, provisioning: float, parallelism: int) -> Run:
    sandbox = TimedSandbox(api_key=API_KEY, provisioning_seconds=provisioning)
    with start_server(sandbox) as server:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("IMMUTA_", "GITHUB_"))},
            "IMMUTA_URL": server.url,
            "IMMUTA_API_KEY": API_KEY,
            "SNOWFLAKE_PASSWORD": "bench-password",
            "NO_COLOR": "1",
        }
        started = time.perf_counter()
        done = subprocess.run(
            [*apply_command(parallelism), str(folder)], env=env, capture_output=True, text=True, check=False
        )
        ended = time.perf_counter()
        wall = ended - started
        created = len(sandbox.list_integrations())
    if done.returncode != 0 or created != count:
        sys.stderr.write(done.stdout[-2000:] + done.stderr)
    closing = next((line for line in done.stdout.splitlines() if line.startswith("Apply:")), done.stderr.strip())
    first_post, last_status = sandbox.first_post or started, sandbox.last_status or ended
    requests = Counter(
        f"{method} {'/status' if path.endswith('/status') else path}" for method, path in sandbox.requests
    )
    return Run(
        parallelism,
        wall,
        last_status - first_post,
        first_post - started,
        ended - last_status,
        done.returncode,
        closing,
        requests,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--provisioning", type=float, default=0.5)
    parser.add_argument("--parallelism", type=int, default=10)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp:
        folder = Path(tmp) / "integrations.d"
        folder.mkdir()
        for index in range(args.count):
            (folder / f"snowflake-{index:04d}.yaml").write_text(TEMPLATE.format(index=index), encoding="utf-8")
        parallel = run_once(folder, args.count, args.provisioning, args.parallelism)
        serial = run_once(folder, args.count, args.provisioning, 1)

    rounds = -(-args.count // args.parallelism)
    ideal = rounds * args.provisioning
    speedup = serial.wall / parallel.wall
    print(f"machine:   {machine()}")
    print(
        f"command:   IMMUTA_URL=<loopback sandbox, --provisioning-seconds {args.provisioning:g}> "
        f"IMMUTA_API_KEY=… {shlex.join(apply_command(args.parallelism))} DIR  ({args.count} Snowflake files)"
    )
    for run in (parallel, serial):
        print(
            f"p={run.parallelism:<3}     {run.wall:6.2f}s wall = {run.before:.2f}s before the first POST + "
            f"{run.writes:.2f}s writes + {run.after:.2f}s after; exit {run.code}: {run.closing}"
        )
        print(f"           requests {dict(run.requests)}")
    print(
        f"ratio:     {speedup:.2f}x (target ≥ {TARGET_SPEEDUP:g}x); write phase {serial.writes / parallel.writes:.2f}x"
    )
    print(
        f"ideal:     {rounds} rounds x {args.provisioning:g}s = {ideal:g}s; parallel run {parallel.wall / ideal:.2f}x "
        f"of it (target ≤ {TARGET_OF_IDEAL:g}x), write phase {parallel.writes / ideal:.2f}x"
    )
    ok = speedup >= TARGET_SPEEDUP and parallel.wall <= TARGET_OF_IDEAL * ideal and parallel.code == serial.code == 0
    print("result:    " + ("met" if ok else "MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
