"""What a create or an update sends: the file's payload, plus what the comparison rules need Immuta to hear.

- Every schema default of a field the file does not write is sent explicitly, on a create as on an update:
  a tenant whose own default differs from the schema's (Snowflake `lineage.enabled: true` where the schema
  says false, docs/immuta-api.md §8 "defaults … with values that may differ") is then told the value the comparison
  holds it to, and a create converges on the first apply instead of planning an update the next time. A
  PUT that merges into the stored config [A4, §8] converges as well as one that replaces it.
- Rule 3 of the diff: a field the file does not write but Immuta reports is held to the schema default
  (`carried`, which also covers a default inherited from an enclosing object's default).
- An immutable field the file does not write is never changed by an update: it carries what Immuta reports
  (or nothing), never the schema default — a replace only ever comes from a field the file writes (rule 5).
- `lifecycle.ignoreChanges`: a PUT may replace the whole integration [A4], so an update carries Immuta's
  current values at those paths — the fields someone else owns — never the file's; a create sends there only
  what the file writes, no default.
Secrets are sent as the file resolves them (Immuta never returns one, so there is no other value).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.assumptions import A19_DEFAULTS_SENT
from reconciler.desired import DesiredIntegration
from reconciler.model import Path
from reconciler.validation.schema import payload_of
from reconciler.walk import MISSING, delete_path, get_path, set_path


def request_body(
    desired: DesiredIntegration, reported: Mapping[str, Any] | None, carried: Iterable[tuple[Path, Any]] = ()
) -> dict[str, Any]:
    """The POST body (`reported` None) or the PUT body of an integration Immuta reports as `reported`;
    `carried` is the plan's comparison's (`Change.carried`): the diff is not walked a second time."""
    # The file, every schema default filled in [A19]
    body: dict[str, Any] = copy.deepcopy(payload_of(desired.payload if A19_DEFAULTS_SENT else desired.body))
    if reported is None:
        for path in desired.lifecycle.ignore_changes:  # owned elsewhere: a create imposes no default there
            written = get_path(desired.body, path, default=MISSING)
            if path and written is MISSING:
                delete_path(body, path)
            elif path:
                set_path(body, path, copy.deepcopy(written))
        return body
    for path, default in carried:
        set_path(body, path, copy.deepcopy(default))
    unwritten_immutable = (p for p in desired.type_schema.immutable if get_path(desired.body, p, MISSING) is MISSING)
    for path in (*unwritten_immutable, *desired.lifecycle.ignore_changes):
        if not path or desired.type_schema.is_secret(path):
            continue  # Immuta never returns a secret: the file's value is the only one there is
        current = get_path(reported, path, default=MISSING)
        if current is MISSING:
            delete_path(body, path)
        else:
            set_path(body, path, copy.deepcopy(current))
    return body


def refused_default(desired: DesiredIntegration, body: Mapping[str, Any], message: str) -> Path | None:
    """The field of `body` that Immuta's 400 `message` says it does not know (`"config.lineage" is not
    allowed`, or the same words unquoted) when the request added it — a schema default the file does not
    write — so that the request can be sent again without it [A19]; None when the message names no such field
    (a field the file writes is the file's to fix)."""
    text = message.casefold()
    if "not allowed" not in text:
        return None
    for path in _added(payload_of(desired.body), body, ()):
        name = ".".join(map(str, path)).casefold()
        if f'"{name}" is not allowed' in text or f" {name} is not allowed" in f" {text}":
            return path
    return None


def _added(written: Any, sent: Mapping[str, Any], path: Path) -> list[Path]:
    """Where `sent` holds an object key `written` does not: the defaults a request added (their tops only)."""
    found: list[Path] = []
    for name, value in sent.items():
        mine = written.get(name, MISSING) if isinstance(written, dict) else MISSING
        if mine is MISSING:
            found.append((*path, name))
        elif isinstance(value, dict):
            found.extend(_added(mine, value, (*path, name)))
    return found
