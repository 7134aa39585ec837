"""Benchmark of `reconciler validate` on 1,000 generated files (not a test: pytest does not collect it).

    python tests/bench/bench_validate.py [--files N] [--repeat N] [--profile]

Generates N valid desired-state files of every type in a temporary folder, then reports
  - in-process: wall time of compiling the schemas once, loading and validating every file
    (best and median of --repeat runs, each with a fresh schema cache), and the peak of Python allocations (tracemalloc,
    measured in a separate run because tracing slows everything down);
  - the whole CLI as a subprocess (`python -m reconciler validate DIR`): wall time over --repeat runs, and
    peak resident memory (ru_maxrss of the child);
against the targets of issue 2: <= 1.0 s and <= 100 MB for 1,000 files (verdicts on the median).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from reconciler.loading.loader import load_paths
from reconciler.validation import schema
from reconciler.validation.validate import ValidationOptions, check_documents

TARGET_SECONDS = 1.0
TARGET_MB = 100.0


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print the in-process cProfile top 25")
    args = parser.parse_args()

    print(f"machine: {platform.platform()}; {platform.processor() or platform.machine()}; cpus={os.cpu_count()}")
    print(f"python: {platform.python_implementation()} {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-") as tmp:
        folder = Path(tmp)
        generate(folder, args.files)
        command = [sys.executable, "-m", "reconciler", "validate", str(folder)]
        print(f"files: {args.files} in {folder}")
        print(f"command: {' '.join(command)}")

        count = validate_in_process(folder)  # warm the file cache and imports
        assert count == args.files, count
        in_process = [_timed(lambda: validate_in_process(folder)) for _ in range(args.repeat)]

        tracemalloc.start()
        validate_in_process(folder)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        env = {**os.environ, "GITHUB_ACTIONS": "false"}
        runs = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
            runs.append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"validate failed ({done.returncode}): {done.stdout[:500]}{done.stderr[:500]}")
        child_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux

        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(validate_in_process, folder)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)

    def verdict(value: float, target: float) -> str:
        return "ok" if value <= target else "MISSED"

    best_in, best_cli = min(in_process), min(runs)
    median_in, median_cli = statistics.median(in_process), statistics.median(runs)  # the verdicts use these
    print(
        f"in-process load+validate (schemas compiled once): best {best_in:.3f} s, "
        f"median {median_in:.3f} s  [target <= {TARGET_SECONDS} s: {verdict(median_in, TARGET_SECONDS)}]"
    )
    print(f"in-process peak Python allocations (tracemalloc): {peak / 2**20:.1f} MB")
    print(
        f"CLI subprocess wall time: best {best_cli:.3f} s, median {median_cli:.3f} s  "
        f"[target <= {TARGET_SECONDS} s: {verdict(median_cli, TARGET_SECONDS)}]"
    )
    print(
        f"CLI subprocess peak RSS (ru_maxrss): {child_peak_mb:.1f} MB  "
        f"[target <= {TARGET_MB:.0f} MB: {verdict(child_peak_mb, TARGET_MB)}]"
    )


if __name__ == "__main__":
    main()
