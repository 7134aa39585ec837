"""Benchmark of `reconciler validate` on N generated files, against its floor and against check-jsonschema
(#14.2, #20; not a test: pytest does not collect it).

    python tests/bench/bench_validate.py [--files 1000 10000] [--runs 5] [--check-jsonschema PATH]
                                         [--profile] [--tracemalloc]

Generates N valid desired-state files of every type in a temporary folder, then reports, per N:
  - the whole CLI as a child process (`python -m reconciler validate DIR`) and its floor (tests/bench/floor.py:
    the same files read with `yaml.CSafeLoader`, nothing checked), run in turn; wall time and peak memory of
    each (wait4's ru_maxrss) and the ratios, each the median of the pairs' ratios;
  - check-jsonschema (when installed: `pip install check-jsonschema` in a virtualenv of its own, found on PATH
    or given with --check-jsonschema) on the same files, with the schemas `reconciler schema --out` writes, run
    in turn with the CLI: the ratio of their wall and CPU times;
  - in-process: loading and validating every file (schemas compiled once, imports excluded), median of --runs,
    and that time per file (the cost per integration, which should stay flat as N grows);
  - with --tracemalloc, the peak of Python allocations; with --profile, the cProfile top 25.
Exit status 1 when the target is missed: with check-jsonschema, at most half of its wall time at 1,000 files
(#20). The floor ratio is reported, no longer a target: with jsonschema as the one JSON Schema implementation
(#20) it is about 3 to 5x at 1,000 files, the price of no checker of our own.

Measured 2026-12-04 with jsonschema as the one implementation (one validator per run), after the schema
keywords (#20). Machine: Linux 6.18 x86_64, Intel(R) Xeon(R) Processor, 2 CPUs shared with other jobs (load 5 to
9, so wall times are long and noisy: read the CPU figures), Python 3.11.7, check-jsonschema 0.39.0. Whole-process
figures, median of 10 runs of each in turn (A B A B ...), bytecode cached, 1,000 generated files:
    reconciler validate DIR                       CPU 0.75 s   wall 3.36 s
    check-jsonschema --schemafile OUT/integration.schema.json FILES...
                                                  CPU 3.24 s   wall 15.1 s
    ratio, pair by pair: CPU 0.23x, wall 0.24x (target <= 0.5x)
The pre-commit hook (tests/bench/bench_startup.py measures it too), 15 runs of each in turn, bytecode cached:
    reconciler validate --all-environments        CPU 0.162 s  wall 0.312 s
    python -c "import click, yaml, jsonschema"    CPU 0.122 s  wall 0.281 s
    ratio, pair by pair: CPU 1.36x, wall 1.40x (target <= 1.5x)
Reproduce with public tools: `/usr/bin/time -v` on each command, several runs, the median.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from children import Child, child_environment, machine, run_child

from reconciler.loading.loader import load_paths
from reconciler.validation import schema
from reconciler.validation.validate import ValidationOptions, check_documents

CHECK_JSONSCHEMA_RATIO = 0.5  # of check-jsonschema's wall time, at 1,000 files
FLOOR = Path(__file__).resolve().parent / "floor.py"


def _snowflake(i: int) -> str:
    return f"""\
# generated Snowflake integration {i}
type: Snowflake
autoBootstrap: true
config:
  host: acct{i}.us-east-1.snowflakecomputing.com
  warehouse: IMMUTA_WH
  database: IMMUTA_DB_{i}
  port: 443
  authenticationType: userPassword
  username: ${{env:SNOWFLAKE_USER}}
  password: ${{env:SNOWFLAKE_PASSWORD_{i}}}
  role: ACCOUNTADMIN
  audit: {{enabled: true}}
  workspaces:
    enabled: true
    warehouses: [WH_A, WH_B]
  lineage:
    enabled: true
    lineageConfig: {{tableFilter: ".*", ingestBatchSize: 500}}
lifecycle:
  preventDestroy: true
  ignoreChanges: [config.lineage]
"""


def _databricks(i: int) -> str:
    return f"""\
type: Databricks
autoBootstrap: false
config:
  workspaceUrl: dbc-{i:05d}.cloud.databricks.com
  httpPath: /sql/1.0/warehouses/{i:08x}
  catalog: immuta_{i}
  authenticationType: oAuthM2M
  oAuthClientConfig:
    clientId: client-{i}
    clientSecret: ${{file:secrets/databricks-{i}}}
    scope: all-apis
    authorityUrl: https://dbc-{i:05d}.cloud.databricks.com/oidc/v1/token
  audit: {{enabled: true}}
  groupPattern: {{deny: immuta_exempt}}
"""


def _redshift(i: int) -> str:
    return f"""\
type: Redshift
autoBootstrap: true
config:
  host: warehouse{i}.abc.us-east-1.redshift.amazonaws.com
  port: 5439
  database: immuta_{i}
  initialDatabase: dev
  authenticationType: userPassword
  username: immuta_bootstrap
  password: ${{env:REDSHIFT_PASSWORD}}
  impersonation: {{enabled: true, role: immuta_impersonation}}
"""


def _synapse(i: int) -> str:
    return f"""\
type: Azure Synapse Analytics
autoBootstrap: false
config:
  host: ws{i}.sql.azuresynapse.net
  database: pool
  schema: immuta_{i}
  authenticationType: userPassword
  username: immuta_system
  password: ${{env:SYNAPSE_PASSWORD}}
  metadataDelimiters: {{hashDelimiter: "|", hashKeyDelimiter: ":", arrayDelimiter: ","}}
"""


def _bigquery(i: int) -> str:
    return f"""\
type: Google BigQuery
autoBootstrap: false
config:
  role: immuta_role_{i}
  datasetSuffix: _secure
  dataset: immuta_{i}
  location: us-east1
  credential: ${{env:BIGQUERY_SA_KEY}}
"""


def _s3(i: int) -> str:
    return f"""\
type: Native S3
autoBootstrap: false
config:
  name: lake-{i}
  awsAccountId: "123456789012"
  awsRegion: us-east-1
  awsLocationRole: arn:aws:iam::123456789012:role/location-{i}
  awsLocationPath: s3://bucket-{i}/
  authenticationType: auto
  awsRoleToAssume: arn:aws:iam::123456789012:role/immuta
"""


GENERATORS: list[Callable[[int], str]] = [_snowflake, _databricks, _redshift, _synapse, _bigquery, _s3]


def generate(folder: Path, count: int) -> None:
    (folder / "trino.yaml").write_text("type: Trino\n", encoding="utf-8")  # at most one per tenant
    for i in range(1, count):
        make = GENERATORS[i % len(GENERATORS)]
        sub = folder / make.__name__.strip("_")
        sub.mkdir(exist_ok=True)
        (sub / f"{i:04d}.yaml").write_text(make(i), encoding="utf-8")


def validate_in_process(folder: Path) -> int:
    schema.load.cache_clear()  # compiled once per run, as the CLI does
    schemas = schema.load()
    documents, problems = load_paths([str(folder)])
    problems.extend(check_documents(documents, schemas, ValidationOptions()))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise SystemExit(f"generated files are not valid: {errors[:3]}")
    return len(documents)


def _timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _ratio(pairs: list[tuple[Child, Child]], field: str) -> float:
    return statistics.median(getattr(a, field) / getattr(b, field) for a, b in pairs)


def measure(count: int, args: argparse.Namespace) -> bool:
    with (
        tempfile.TemporaryDirectory(prefix="reconciler-bench-") as tmp,
        tempfile.TemporaryDirectory(prefix="reconciler-bench-pycache-") as pycache,
    ):
        folder = Path(tmp)
        generate(folder, count)
        command = [sys.executable, "-m", "reconciler", "validate", str(folder)]
        floor = [sys.executable, str(FLOOR), str(folder)]
        print(f"files:     {count}")
        print(f"command:   {' '.join(command)}")
        print(f"floor:     {' '.join(floor)}")

        assert validate_in_process(folder) == count  # warms the file cache and the imports
        in_process = statistics.median(_timed(lambda: validate_in_process(folder)) for _ in range(args.runs))

        env = child_environment(Path(pycache))
        run_child(command, env, folder)  # compiles bytecode: not counted
        pairs = []
        for _ in range(args.runs):
            pairs.append((run_child(command, env, folder), run_child(floor, env, folder)))
            if pairs[-1][0].exit_code != 0:
                raise SystemExit(f"validate failed ({pairs[-1][0].exit_code}): {pairs[-1][0].stderr[:500]}")
        against = _against_check_jsonschema(folder, command, env, args) if args.check_jsonschema else None

        if args.tracemalloc:
            tracemalloc.start()
            validate_in_process(folder)
            peak_allocated = tracemalloc.get_traced_memory()[1] / 2**20
            print(f"python:    peak of Python allocations (tracemalloc) {peak_allocated:.1f} MB")
            tracemalloc.stop()
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(validate_in_process, folder)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)

    wall, peak, cpu = _ratio(pairs, "seconds"), _ratio(pairs, "peak_mb"), _ratio(pairs, "cpu")
    ours, floors = [a for a, _ in pairs], [b for _, b in pairs]
    print(
        f"median:    validate {statistics.median(a.seconds for a in ours):.3f} s, "
        f"{statistics.median(a.peak_mb for a in ours):.0f} MB; "
        f"floor {statistics.median(b.seconds for b in floors):.3f} s, "
        f"{statistics.median(b.peak_mb for b in floors):.0f} MB"
    )
    print(f"ratio:     wall {wall:.2f}x, peak memory {peak:.2f}x, CPU {cpu:.2f}x (of the floor's)")
    print(f"in-process load+validate: {in_process:.3f} s, {in_process / count * 1000:.3f} ms per file")
    met = True
    if against is not None:
        print(f"check-jsonschema: wall {against[0]:.2f}x, CPU {against[1]:.2f}x (target <= {CHECK_JSONSCHEMA_RATIO}x)")
        met = met and (count > 1000 or against[0] <= CHECK_JSONSCHEMA_RATIO)
    return met


def _against_check_jsonschema(
    folder: Path, command: list[str], env: dict[str, str], args: argparse.Namespace
) -> tuple[float, float]:
    """The CLI and check-jsonschema on the same files, in turn: the medians of their wall and CPU ratios."""
    out = folder.parent / (folder.name + "-schemas")
    written = run_child([sys.executable, "-m", "reconciler", "schema", "--out", str(out)], env, folder)
    if written.exit_code != 0:
        raise SystemExit(f"schema --out failed: {written.stderr[:500]}")
    files = sorted(str(p) for p in folder.rglob("*.yaml"))
    theirs = [args.check_jsonschema, "--schemafile", str(out / "integration.schema.json"), *files]
    print(f"versus:    {' '.join(theirs[:3])} FILES...")
    if run_child(theirs, env, folder).exit_code != 0:  # warm-up; the files are valid, so it must pass
        raise SystemExit("check-jsonschema rejected the generated files")
    pairs = [(run_child(command, env, folder), run_child(theirs, env, folder)) for _ in range(args.runs)]
    shutil.rmtree(out)
    return _ratio(pairs, "seconds"), _ratio(pairs, "cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--check-jsonschema", default=shutil.which("check-jsonschema"), help="its executable (default: on PATH)"
    )
    parser.add_argument("--profile", action="store_true", help="print the in-process cProfile top 25")
    parser.add_argument("--tracemalloc", action="store_true", help="print the peak of Python allocations")
    args = parser.parse_args()

    print(f"machine:   {machine()}")
    met = [measure(count, args) for count in args.files]
    print(f"load:      {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min) at the end")
    print("result:    " + ("met" if all(met) else "MISSED"))
    sys.exit(0 if all(met) else 1)


if __name__ == "__main__":
    main()
