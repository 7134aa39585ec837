"""After an ambiguous write — the request may have been processed, but no answer came — find out what
happened instead of repeating it: a create is looked up by its natural key (never blindly posted again),
a PUT or DELETE answered 409 on its retry is recognised as our own change under way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from reconciler.client import trace
from reconciler.client.retry import Call
from reconciler.errors import ApiError, TransientError
from reconciler.validation.schema import SchemaSet

Record = dict[str, Any]
LOOK_HINT = "Re-run plan to see whether it exists before applying again."


def find_created(
    call: Call,
    payload: Mapping[str, Any],
    what: str,
    schemas: SchemaSet,
    list_integrations: Callable[[], list[Record]],
) -> Record | None:
    """The integration with the payload's natural key, if it now exists; None when the create did not happen.
    Raises TransientError when that cannot be known."""
    type_name = payload.get("type")
    type_schema = schemas.types.get(type_name) if isinstance(type_name, str) else None
    if type_schema is None:
        raise TransientError(
            call.method,
            call.path,
            call.last_status,
            f"{what}, so the create may or may not have happened, and an integration of unknown type "
            f"{type_name!r} cannot be looked up by its natural key",
            hint=LOOK_HINT,
        )
    key = type_schema.key_of(payload)
    try:
        listed = list_integrations()
    except ApiError as exc:
        raise TransientError(
            call.method,
            call.path,
            call.last_status,
            f"{what}, so the create of {key} may or may not have happened, and listing integrations "
            f"to find out failed: {exc.message}",
            hint=LOOK_HINT,
        ) from None
    for found in listed:
        if found.get("type") == type_schema.name and type_schema.key_of(found) == key:
            trace.note(call.method, call.path, f"{what}; {key} exists (id {found['id']}): the create happened")
            return found
    trace.note(call.method, call.path, f"{what}; {key} does not exist: the create did not happen")
    return None


def in_progress(call: Call, read: Callable[[], Record], expected: str) -> Record | None:
    """After a lost answer and a 409 on the retry: the record if our own change is under way."""
    found = read()
    if found.get("status") == expected:
        trace.note(call.method, call.path, f"the earlier attempt was processed: status is {expected!r}")
        return found
    return None
