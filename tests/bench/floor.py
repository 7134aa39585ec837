"""The floor of bench_plan.py and bench_validate.py: the work any `plan` or `validate` must do and nothing
more — read the same files with `yaml.CSafeLoader` (libyaml, no locations, no checks) and, with IMMUTA_URL
set, make the same `GET /integrations` (httpx, the JSON answer parsed). The benchmarks run it as a child
process, exactly as they run `reconciler`:

    python tests/bench/floor.py integrations.d                                     # validate's floor
    IMMUTA_URL=http://127.0.0.1:PORT IMMUTA_API_KEY=… python tests/bench/floor.py integrations.d  # plan's
"""

from __future__ import annotations

import os
import sys

import yaml


def main(folder: str) -> int:
    documents = []
    for directory, subfolders, names in os.walk(folder):
        subfolders.sort()
        for name in sorted(names):
            if name.endswith((".yaml", ".yml")):
                with open(os.path.join(directory, name), encoding="utf-8") as handle:
                    documents.extend(yaml.load_all(handle.read(), Loader=yaml.CSafeLoader))
    records = []
    if os.environ.get("IMMUTA_URL"):
        import httpx

        url = os.environ["IMMUTA_URL"].rstrip("/") + "/integrations"
        answer = httpx.get(url, headers={"Authorization": os.environ["IMMUTA_API_KEY"]}, timeout=120)
        answer.raise_for_status()
        records = answer.json()
    print(f"{len(documents)} documents, {len(records)} records")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
