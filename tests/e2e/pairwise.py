"""The one all-pairs generator of the dialect matrices (docs/immuta-api.md §8 and §10.6, issue 21).

`all_pairs(switches)` answers few combinations that together hold every pair of values of any two switches:
each row starts from the first pair not yet covered, then gives every other switch the value covering most new
pairs with the values already chosen (the first such value on a tie). Deterministic: the same switches, the
same rows, so a failing row keeps its number between runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from reconciler.sandbox.dialects import Dialect, Switch

Pair = tuple[tuple[int, str], tuple[int, str]]


def all_pairs(switches: Sequence[Switch]) -> list[dict[str, str]]:
    uncovered: set[Pair] = {
        ((i, a), (j, b))
        for i, j in itertools.combinations(range(len(switches)), 2)
        for a in switches[i].values
        for b in switches[j].values
    }
    rows: list[dict[str, str]] = []
    while uncovered:
        (i, a), (j, b) = min(uncovered)
        chosen = {i: a, j: b}
        for k, switch in enumerate(switches):
            if k not in chosen:
                chosen[k] = max(switch.values, key=lambda v, k=k: _gain(uncovered, chosen, k, v))
        uncovered -= {((p, chosen[p]), (q, chosen[q])) for p, q in itertools.combinations(range(len(switches)), 2)}
        rows.append({switches[k].name: value for k, value in sorted(chosen.items())})
    return rows


def _gain(uncovered: set[Pair], chosen: dict[int, str], k: int, value: str) -> int:
    return sum(
        ((min(p, k), v if p < k else value), (max(p, k), value if p < k else v)) in uncovered for p, v in chosen.items()
    )


def uncovered_pairs(switches: Sequence[Switch], rows: Sequence[dict[str, str]]) -> list[tuple[str, str, str, str]]:
    """Every pair of values of two switches that no row holds: what a test of the sample asserts is empty."""
    return [
        (first.name, a, second.name, b)
        for first, second in itertools.combinations(switches, 2)
        for a, b in itertools.product(first.values, second.values)
        if not any(row[first.name] == a and row[second.name] == b for row in rows)
    ]


def row_id(row: dict[str, str]) -> str:
    """The switches a row sets away from their defaults: a test id a reader can rerun with `-k`."""
    return ",".join(f"{name}={value}" for name, value in row.items() if value != Dialect()[name]) or "defaults"
