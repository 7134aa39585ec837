"""Benchmark: `reconciler plan` for N desired files against N existing integrations, against its floor (#14.2).

The simulator is served on 127.0.0.1 from this process; the CLI runs in a child process with IMMUTA_URL, as a
CI job would. The floor (tests/bench/floor.py) runs the same way: it reads the same files with
`yaml.CSafeLoader` and makes the same `GET /integrations`, and does nothing else. The two run in turn
(plan, floor, plan, floor, ...) and each ratio is the median of the pairs' ratios, so a machine whose speed
drifts (it is shared) moves both alike. Reports, per N: wall time and peak memory of each child (wait4's
ru_maxrss), the ratios, the requests the server received (exactly one `GET /integrations` a run), the cost
per integration (the stages of `plan` timed in this process, imports and start-up excluded, divided by N),
the command and the machine. A script, not collected by pytest:

    .venv/bin/python tests/bench/bench_plan.py [--count 1000 10000] [--runs 5]

The first run of each compiles bytecode (into a temporary PYTHONPYCACHEPREFIX, never into the source tree)
and is not counted. Every tenth integration differs from its file in one field, so the plan has N/10 updates.
Exit status 1 when a target is missed: wall and peak memory within 2x the floor's at every N, the cost per
integration at the largest N within 1.25x of the smallest ("flat"), one list call a run.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from children import child_environment, machine, run_child

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

TARGET_RATIO = 2.0  # of the floor's wall time and of its peak memory
TARGET_FLAT = 1.25  # cost per integration at the largest N over that at the smallest
FLOOR = Path(__file__).resolve().parent / "floor.py"
API_KEY = "bench-key"
# One list, and one search of the connections (none here: no GET /data/connection follows; docs/immuta-api.md §10)
ONE_LIST = Counter({("GET", "/integrations"): 1, ("POST", "/data/object/search"): 1})

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


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu: float
    peak_mb: float
    exit_code: int
    closing: str
    requests: Counter[tuple[str, str]]


def run_once(command: list[str], env: dict[str, str], cwd: Path, sandbox: Sandbox) -> Run:
    sandbox.reset_requests()
    child = run_child(command, env, cwd)
    if child.exit_code not in (0, 2):
        sys.stderr.write(child.stderr)
    lines = child.stdout.strip().splitlines() or [child.stderr.strip()[-200:]]
    closing = next((line for line in lines if line.startswith("Plan:")), lines[-1])
    return Run(child.seconds, child.cpu, child.peak_mb, child.exit_code, closing, Counter(sandbox.requests))


def stages(work: Path, url: str) -> list[tuple[str, float]]:
    """Where the time goes, measured in this process (imports excluded): one line per stage of `plan`."""
    timings: list[tuple[str, float]] = []

    def timed(name: str, step: Any) -> Any:
        started = time.perf_counter()
        result = step()
        timings.append((name, time.perf_counter() - started))
        return result

    return _stages(work, url, timed, timings)


def _stages(work: Path, url: str, timed: Any, timings: list[tuple[str, float]]) -> list[tuple[str, float]]:
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


@dataclass(frozen=True)
class Size:
    count: int
    plan: list[Run]
    floor: list[Run]
    stage_seconds: float  # median over runs of the in-process stages' total

    def ratio(self, field: str) -> float:
        pairs = zip(self.plan, self.floor, strict=True)
        return statistics.median(getattr(a, field) / getattr(b, field) for a, b in pairs)

    @property
    def per_integration_ms(self) -> float:
        return self.stage_seconds / self.count * 1000


def measure(count: int, runs: int, stage_runs: int) -> tuple[Size, list[str]]:
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        work = Path(tmp)
        populate(work / "integrations.d", work / "state.json", count)
        sandbox = Sandbox(api_key=API_KEY, state_file=work / "state.json")
        command = [sys.executable, "-m", "reconciler", "plan", "integrations.d", "--detailed-exitcode"]
        floor = [sys.executable, str(FLOOR), "integrations.d"]
        with start_server(sandbox) as server:
            env = child_environment(work / "pycache", IMMUTA_URL=server.url, IMMUTA_API_KEY=API_KEY, NO_COLOR="1")
            run_once(command, env, work, sandbox)  # cold: compiles bytecode
            run_once(floor, env, work, sandbox)
            plans: list[Run] = []
            floors: list[Run] = []
            for _ in range(runs):
                plans.append(run_once(command, env, work, sandbox))
                floors.append(run_once(floor, env, work, sandbox))
            totals = [sum(spent for _, spent in stages(work, server.url)) for _ in range(stage_runs)]
    commands = [
        f"IMMUTA_URL=http://127.0.0.1:PORT IMMUTA_API_KEY=… {shlex.join(command)}",
        f"floor: {shlex.join(floor)}",
    ]
    return Size(count, plans, floors, statistics.median(totals)), commands


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, nargs="+", default=[1000, 10000], help="files and integrations")
    parser.add_argument("--runs", type=int, default=5, help="pairs of warm runs [5]")
    parser.add_argument("--stage-runs", type=int, default=3, help="in-process timings of the stages [3]")
    args = parser.parse_args()

    print(f"machine:  {machine()}")
    sizes: list[Size] = []
    ok = True
    for count in args.count:
        size, commands = measure(count, args.runs, args.stage_runs)
        sizes.append(size)
        print(f"data:     {count} files vs {count} integrations")
        for line in commands:
            print(f"command:  {line}")
        for index, (plan_run, floor_run) in enumerate(zip(size.plan, size.floor, strict=True), 1):
            print(
                f"run {index}:    plan {plan_run.seconds:.3f}s {plan_run.peak_mb:.0f} MB exit {plan_run.exit_code}"
                f" ({plan_run.closing}); floor {floor_run.seconds:.3f}s {floor_run.peak_mb:.0f} MB"
                f" ({floor_run.closing}); requests {dict(plan_run.requests)}"
            )
        wall, peak, cpu = size.ratio("seconds"), size.ratio("peak_mb"), size.ratio("cpu")
        print(
            f"median:   plan {statistics.median(r.seconds for r in size.plan):.3f}s wall, "
            f"{statistics.median(r.peak_mb for r in size.plan):.0f} MB; floor "
            f"{statistics.median(r.seconds for r in size.floor):.3f}s, "
            f"{statistics.median(r.peak_mb for r in size.floor):.0f} MB"
        )
        print(
            f"ratio:    wall {wall:.2f}x, peak memory {peak:.2f}x (targets <= {TARGET_RATIO}x); CPU {cpu:.2f}x; "
            f"cost per integration {size.per_integration_ms:.3f} ms (in-process stages)"
        )
        ok = ok and wall <= TARGET_RATIO and peak <= TARGET_RATIO
        ok = ok and all(r.requests == ONE_LIST and r.exit_code == 2 for r in size.plan)
    if len(sizes) > 1:
        flat = sizes[-1].per_integration_ms / sizes[0].per_integration_ms
        print(
            f"flat:     cost per integration at {sizes[-1].count} / at {sizes[0].count}: {flat:.2f}x "
            f"(target <= {TARGET_FLAT}x)"
        )
        ok = ok and flat <= TARGET_FLAT
    print(f"load:     {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min) at the end")
    print("result:   " + ("met" if ok else "MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
