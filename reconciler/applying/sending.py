"""A create or an update sent again without a schema default Immuta does not know [A19].

Every request carries the schema defaults of the fields its file does not write (planning/request.py), so a
tenant whose own default differs converges. A current release may no longer know a field the schema still
declares — Snowflake `lineage` and `workspaces` were removed in 2026 (docs/immuta-api.md §9.15) — and a tenant that
validates strictly then answers 400 `"config.lineage" is not allowed`. A default is this version's addition,
not the user's choice: the request is sent again without it, once per field Immuta names. A field the file
writes is never dropped: that 400 is the user's to read.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar

from reconciler.errors import ValidationFailed
from reconciler.model import dotted
from reconciler.planning.plan import Change
from reconciler.planning.request import refused_default
from reconciler.walk import delete_path

T = TypeVar("T")


def sent(
    send: Callable[[dict[str, Any]], T], change: Change, body: dict[str, Any], report: Callable[[Change, str], None]
) -> T:
    """`send(body)`'s answer; while Immuta refuses a default the request added, without that default."""
    while True:
        try:
            return send(body)
        except ValidationFailed as exc:
            path = refused_default(change.desired, body, exc.message) if change.desired and exc.status == 400 else None
            if path is None:
                raise
            report(
                change,
                f"Immuta does not know {dotted(path)}, a schema default the file does not write: sent again without it",
            )
            body = copy.deepcopy(body)
            delete_path(body, path)
