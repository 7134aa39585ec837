"""Whether a test may rewrite its expected output (goldens, fixtures): when asked by a variable, and never
in CI — regenerated there, the expected output would only be compared with itself."""

from __future__ import annotations

import os

import pytest


def regenerating(variable: str) -> bool:
    if os.environ.get(variable) != "1":
        return False
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"{variable}=1 is refused when CI=true: expected output is regenerated on a developer's machine "
            "and reviewed in the diff, never in CI, where it would only be compared with itself",
            pytrace=False,
        )
    return True
