"""Benchmark: start-up of `reconciler` against bare Python imports (#14.3; not collected by pytest).

    python tests/bench/bench_startup.py [--runs 21]

Each command and its floor run in turn (A B A B ...) and each ratio is the median of the pairs' ratios, so
a shared machine's drifting speed moves both alike. Targets (on the median wall-time ratio):
  --version       within 1.5x `python -c "import click"`
  --help          within 2x   `python -c "import click"`
  pre-commit hook within 1.5x `python -c "import click, yaml, jsonschema"`: the hook's entry from
                  .pre-commit-hooks.yaml, run in the repository root on the seven shipped files
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

import yaml
from children import child_environment, machine, run_child

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def hook_entry() -> list[str]:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    return shlex.split(hooks[0]["entry"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    reconciler = str(BIN / "reconciler")
    python = sys.executable
    cases = [
        ("--version", [reconciler, "--version"], [python, "-c", "import click"], 1.5),
        ("--help", [reconciler, "--help"], [python, "-c", "import click"], 2.0),
        ("pre-commit hook", hook_entry(), [python, "-c", "import click, yaml, jsonschema"], 1.5),
    ]
    pycache = tempfile.TemporaryDirectory(prefix="reconciler-bench-pycache-")
    env = child_environment(Path(pycache.name), PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    print(f"machine:  {machine()}")
    met = True
    for name, command, floor, target in cases:
        run_child(command, env, ROOT)  # warm-up: bytecode and the file cache
        run_child(floor, env, ROOT)
        pairs = [(run_child(command, env, ROOT), run_child(floor, env, ROOT)) for _ in range(args.runs)]
        if any(a.exit_code != 0 for a, _ in pairs):
            raise SystemExit(f"{name} failed: {pairs[0][0].stderr[-500:]}")
        wall = statistics.median(a.seconds / b.seconds for a, b in pairs)
        cpu = statistics.median(a.cpu / b.cpu for a, b in pairs)
        ours = statistics.median(a.seconds for a, _ in pairs)
        theirs = statistics.median(b.seconds for _, b in pairs)
        print(f"command:  {shlex.join(command)}")
        print(f"floor:    {shlex.join(floor)}")
        print(
            f"{name}: median {ours * 1000:.0f} ms vs {theirs * 1000:.0f} ms; ratio wall {wall:.2f}x "
            f"(target <= {target}x), CPU {cpu:.2f}x over {args.runs} pairs"
        )
        met = met and wall <= target
    print(f"load:     {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min) at the end")
    pycache.cleanup()
    print("result:   " + ("met" if met else "MISSED"))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
