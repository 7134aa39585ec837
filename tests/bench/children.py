"""What the benchmarks share: one child process timed from outside, with its own peak memory, and the machine."""

from __future__ import annotations

import os
import platform
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Child:
    seconds: float  # wall time, from start to exit
    cpu: float  # user + system CPU seconds: less sensitive to a busy machine than wall time
    peak_mb: float  # peak resident memory (ru_maxrss)
    exit_code: int
    stdout: str
    stderr: str


def child_environment(pycache: Path, **extra: str) -> dict[str, str]:
    """This process's environment for a child command, as a CI job or a user's shell would have it: no Immuta
    or GitHub settings leak in, and bytecode is cached (into `pycache`, never the source tree) as it is for a
    pip-installed tool, even where the machine sets PYTHONDONTWRITEBYTECODE; the first run writes it."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("IMMUTA_", "GITHUB_", "PYTHONDONTWRITEBYTECODE"))}
    return {**kept, "PYTHONPYCACHEPREFIX": str(pycache), **extra}


def run_child(command: list[str], env: dict[str, str], cwd: Path) -> Child:
    """Runs `command` to its end; wait4 gives this child's own rusage (RUSAGE_CHILDREN would mix children)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    cpu = usage.ru_utime + usage.ru_stime
    return Child(seconds, cpu, usage.ru_maxrss / 1024, child.returncode, stdout, stderr)  # ru_maxrss: kB


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
