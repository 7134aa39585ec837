"""What a create or an update sends: the file's payload, plus what the comparison rules need Immuta to hear.

- Rule 3 of the diff: a field the file does not write but Immuta reports is held to the schema default, so
  the request carries that default explicitly; a PUT that merges into the stored config [A4, §8] then
  converges as well as one that replaces it.
- `lifecycle.ignoreChanges`: a PUT may replace the whole integration [A4], so an update carries Immuta's
  current values at those paths — the fields someone else owns — never the file's.
Secrets are sent as the file resolves them (Immuta never returns one, so there is no other value).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.desired import DesiredIntegration
from reconciler.model import Path
from reconciler.validation.schema import payload_of
from reconciler.walk import MISSING, delete_path, get_path, set_path


def request_body(
    desired: DesiredIntegration, reported: Mapping[str, Any] | None, carried: Iterable[tuple[Path, Any]] = ()
) -> dict[str, Any]:
    """The POST body (`reported` None) or the PUT body of an integration Immuta reports as `reported`;
    `carried` is the plan's comparison's (`Change.carried`): the diff is not walked a second time."""
    body: dict[str, Any] = copy.deepcopy(payload_of(desired.body))
    if reported is None:
        return body
    for path, default in carried:
        set_path(body, path, copy.deepcopy(default))
    for path in desired.lifecycle.ignore_changes:
        if not path or desired.type_schema.is_secret(path):
            continue  # Immuta never returns a secret: the file's value is the only one there is
        current = get_path(reported, path, default=MISSING)
        if current is MISSING:
            delete_path(body, path)
        else:
            set_path(body, path, copy.deepcopy(current))
    return body
