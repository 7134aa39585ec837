"""Benchmark: the GitHub Action's install step, before and after the wheel cache (#22; not collected by pytest).

    python tests/bench/bench_install.py [--runs 3]

before      what action.yml did in 0.2.0: `python -m venv V && V/bin/pip install SRC` (a venv with pip, then
            a build of the project from source in an isolated build environment, dependencies from the
            registry or pip's own cache)
after-cold  a cache miss: `pip wheel --wheel-dir W SRC` (the wheelhouse the action caches), then the warm step
after-warm  a cache hit, what every job after the first does: `python -m venv --without-pip V` and
            `pip --python V/bin/python install --no-index --find-links W immuta-reconciler`: no build, no network
Each case runs in a fresh temporary folder; the figure is the median wall time. pip's HTTP cache is the
machine's (warm after the first run), as it is on a developer's machine; a fresh GitHub runner has none,
which only widens the gap.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from children import machine

ROOT = Path(__file__).resolve().parents[2]
QUIET = ["--quiet", "--disable-pip-version-check"]


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=900)


def before(folder: Path, python: str) -> None:
    _run([python, "-m", "venv", str(folder / "venv")])
    _run([str(folder / "venv" / "bin" / "pip"), "install", *QUIET, str(ROOT)])


def wheelhouse(folder: Path, python: str) -> Path:
    wheels = folder / "wheels"
    _run([python, "-I", "-m", "pip", "wheel", *QUIET, "--wheel-dir", str(wheels), str(ROOT)])
    return wheels


def warm(folder: Path, python: str, wheels: Path) -> None:
    venv = folder / "venv"
    _run([python, "-I", "-m", "venv", "--without-pip", str(venv)])
    pip = [python, "-I", "-m", "pip", "--python", str(venv / "bin" / "python"), "install", *QUIET]
    _run([*pip, "--no-index", "--find-links", str(wheels), "immuta-reconciler"])
    _run([str(venv / "bin" / "python"), "-I", "-m", "reconciler", "--version"])


def timed(case: str, python: str, wheels: Path) -> float:
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-install-") as name:
        folder = Path(name)
        start = time.perf_counter()
        if case == "before":
            before(folder, python)
        elif case == "after-cold":
            warm(folder, python, wheelhouse(folder, python))
        else:
            warm(folder, python, wheels)
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    python = sys.executable
    print(f"machine:  {machine()}")
    print(f"python:   {python}")
    for leftover in ("build", "immuta_reconciler.egg-info"):
        shutil.rmtree(ROOT / leftover, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-wheels-") as name:
        wheels = wheelhouse(Path(name), python)
        medians = {}
        for case in ("before", "after-cold", "after-warm"):
            times = [timed(case, python, wheels) for _ in range(args.runs)]
            medians[case] = statistics.median(times)
            print(f"{case:11s} median {medians[case]:6.2f} s   runs: {', '.join(f'{t:.2f}' for t in times)}")
    print(f"after-warm / before: {medians['after-warm'] / medians['before']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
