"""Benchmark: `reconciler plan` for 1,000 desired files against 1,000 existing integrations.

The simulator is served on 127.0.0.1 from this process; the CLI runs in a child process with IMMUTA_URL, as a
CI job would. Reports wall time, the requests the server received (must be exactly one `GET /integrations`
per run), peak memory of the child (ru_maxrss) and the machine. A script, not collected by pytest:

    .venv/bin/python tests/bench/bench_plan.py [--count 1000] [--runs 5]

The first run compiles bytecode (into a temporary PYTHONPYCACHEPREFIX, never into the source tree) and is
reported apart, as "cold"; the target applies to the warm runs, as for an installed package. Every tenth
integration differs from its file in one field, so the plan has 100 updates and 900 no-ops.
Exit status 1 when a target is missed (≤ 1.5 s wall time, ≤ 150 MB peak, 1 list call).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.actual import read_actual
from reconciler.client.immuta import Auth, ImmutaClient
from reconciler.desired import SecretMode, build_desired
from reconciler.loading.loader import load_paths
from reconciler.planning.plan import PlanOptions, make_plan
from reconciler.render import plan_text
from reconciler.sandbox import Sandbox, start_server
from reconciler.sandbox.contract import TYPES as SANDBOX_TYPES
from reconciler.sandbox.payloads import without_secrets
from reconciler.secrets import Lookup
from reconciler.validation import schema
from reconciler.validation.validate import ValidationOptions, check_documents

TARGET_SECONDS = 1.5
TARGET_MEGABYTES = 150.0
API_KEY = "bench-key"
ONE_LIST = Counter({("GET", "/integrations"): 1})

TEMPLATE = """\
# Snowflake account {index} of the benchmark.
type: Snowflake
autoBootstrap: true
config:
  host: account-{index:04d}.us-east-1.snowflakecomputing.com
  warehouse: IMMUTA_WH
  database: IMMUTA_DB_{index:04d}
  authenticationType: userPassword
  username: immuta_admin_{index:04d}
  password: ${{env:SNOWFLAKE_PASSWORD}}
  role: ACCOUNTADMIN
  audit:
    enabled: true
  workspaces:
    enabled: true
    warehouses: [WH_A_{index:04d}, WH_B_{index:04d}]
lifecycle:
  ignoreChanges: [config.lineage]
"""


def payload(index: int, warehouse: str) -> dict[str, Any]:
    return {
        "type": "Snowflake",
        "autoBootstrap": True,
        "config": {
            "host": f"account-{index:04d}.us-east-1.snowflakecomputing.com",
            "warehouse": warehouse,
            "database": f"IMMUTA_DB_{index:04d}",
            "authenticationType": "userPassword",
            "username": f"immuta_admin_{index:04d}",
            "password": "not-stored",
            "role": "ACCOUNTADMIN",
            "audit": {"enabled": True},
            "workspaces": {"enabled": True, "warehouses": [f"WH_A_{index:04d}", f"WH_B_{index:04d}"]},
        },
    }


def populate(folder: Path, state_file: Path, count: int) -> None:
    """`count` files, and `count` integrations stored as POST stores them (defaults in, secrets out).

    The state file is written at once in its documented format: adding 1,000 integrations one at a time
    would re-check uniqueness and rewrite the file 1,000 times.
    """
    folder.mkdir(parents=True, exist_ok=True)
    snowflake = schema.load().types["Snowflake"]
    integrations: dict[str, Any] = {}
    for index in range(count):
        (folder / f"snowflake-{index:04d}.yaml").write_text(TEMPLATE.format(index=index), encoding="utf-8")
        stored = without_secrets(
            SANDBOX_TYPES["Snowflake"],
            snowflake.apply_defaults(payload(index, "IMMUTA_WH" if index % 10 else "OLD_WH")),
        )
        id_ = str(index + 1)
        integrations[id_] = {"id": id_, "status": "enabled", **stored}
    document = {"format_version": 1, "next_id": count + 1, "integrations": integrations, "setup_run": []}
    state_file.write_text(json.dumps(document), encoding="utf-8")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{platform.platform()}; {cpu}; {os.cpu_count()} CPU(s); Python {platform.python_version()}; load {load}"


@dataclass(frozen=True)
class Run:
    seconds: float  # wall time of the child, from fork to exit
    cpu: float  # user + system CPU seconds of the child: less sensitive to a busy machine than wall time
    exit_code: int
    closing: str
    requests: Counter[tuple[str, str]]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(command: list[str], env: dict[str, str], cwd: Path, sandbox: Sandbox) -> Run:
    sandbox.reset_requests()
    cpu_before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 2):
        sys.stderr.write(done.stderr)
    closing = next((line for line in done.stdout.splitlines() if line.startswith("Plan:")), done.stderr.strip())
    return Run(seconds, _children_cpu() - cpu_before, done.returncode, closing, Counter(sandbox.requests))


def stages(work: Path, url: str) -> list[tuple[str, float]]:
    """Where the time goes, measured in this process (imports excluded): one line per stage of `plan`."""
    timings: list[tuple[str, float]] = []

    def timed(name: str, step: Any) -> Any:
        started = time.perf_counter()
        result = step()
        timings.append((name, time.perf_counter() - started))
        return result

    schemas = schema.load()
    folder = str(work / "integrations.d")
    documents, _ = timed("load files (YAML)", lambda: load_paths([folder]))
    timed("validate", lambda: check_documents(documents, schemas, ValidationOptions()))
    desired = timed(
        "normalise (desired)",
        lambda: build_desired(documents, schemas, mode=SecretMode.DEFER, lookup=Lookup({})),
    )
    with ImmutaClient(url, Auth.api_key(API_KEY)) as client:
        records = timed("GET /integrations", client.list_integrations)
    actual = timed("read (actual)", lambda: read_actual(records, schemas))
    plan = timed(
        "diff + plan",
        lambda: make_plan(
            desired, actual, target=url, options=PlanOptions(), schema_version=schemas.version, tool_version="b"
        ),
    )
    timed("render text", lambda: plan_text.render(plan))
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="files and integrations [1000]")
    parser.add_argument("--runs", type=int, default=5, help="warm runs [5]")
    parser.add_argument("--stages", action="store_true", help="also time each stage in this process")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        populate(work / "integrations.d", work / "state.json", args.count)
        setup = time.perf_counter() - started
        sandbox = Sandbox(api_key=API_KEY, state_file=work / "state.json")
        command = [sys.executable, "-m", "reconciler", "plan", "integrations.d", "--detailed-exitcode"]
        with start_server(sandbox) as server:
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith(("IMMUTA_", "GITHUB_", "PYTHONDONT"))},
                "IMMUTA_URL": server.url,
                "IMMUTA_API_KEY": API_KEY,
                "NO_COLOR": "1",
                "PYTHONPYCACHEPREFIX": str(work / "pycache"),
            }
            cold = run_once(command, env, work, sandbox)
            runs = [run_once(command, env, work, sandbox) for _ in range(args.runs)]
            timings = stages(work, server.url) if args.stages else []
    # RUSAGE_CHILDREN's ru_maxrss is the largest child so far (kB on Linux); the runs are the only children.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    seconds = [run.seconds for run in runs]
    print(f"machine:  {machine()}")
    print(f"command:  IMMUTA_URL=http://127.0.0.1:PORT IMMUTA_API_KEY=… {shlex.join(command)}")
    print(f"data:     {args.count} files vs {args.count} integrations (built in {setup:.2f}s)")
    print(f"cold:     {cold.seconds:.3f}s (compiling bytecode), exit {cold.exit_code}: {cold.closing}")
    for index, run in enumerate(runs, 1):
        print(
            f"run {index}:    {run.seconds:.3f}s wall, {run.cpu:.3f}s CPU, exit {run.exit_code}: {run.closing}; "
            f"requests {dict(run.requests)}"
        )
    cpu = [run.cpu for run in runs]
    print(
        f"wall:     best {min(seconds):.3f}s, median {statistics.median(seconds):.3f}s (target ≤ {TARGET_SECONDS}s); "
        f"CPU median {statistics.median(cpu):.3f}s"
    )
    print(f"memory:   peak {peak:.1f} MB (target ≤ {TARGET_MEGABYTES:.0f} MB)")
    ok = statistics.median(seconds) <= TARGET_SECONDS and peak <= TARGET_MEGABYTES
    ok = ok and all(run.requests == ONE_LIST and run.exit_code == 2 for run in [cold, *runs])
    for name, spent in timings:
        print(f"stage:    {name:<20} {spent:.3f}s")
    print("result:   " + ("met" if ok else "MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
