"""What a reviewer saw in a plan, as values: the checksum that binds `apply FILE` to the plan reviewed, and
the names of the values that moved since.

Both read the plan's JSON document (render/plan_json.py) — the form a saved plan holds — so a saved plan
and a fresh one are compared alike, and a saved plan can be checked against its own checksum. What is
covered is every non-secret value the plan shows: the action, key and id of each change, each field's old
and new value, the payload it will hold (`after`, secrets as `(secret)`: a rotated secret is not a change),
and what the file asked for and Immuta reported. File names, line numbers and notes are not: moving a
file changes nothing that runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.planning.diff import differences

_PLAN_FIELDS = ("target", "prune", "tool_version", "schema_version", "base")
_CHANGE_FIELDS = ("action", "key", "type", "natural_key", "id", "after", "desired_digest", "actual_fingerprint")


def key_id(key_type: str, parts: Iterable[tuple[str, object]]) -> str:
    """A change's key, serialised unambiguously: two keys that print alike (`Redshift[host=a,database=b]` when
    a value holds `,`, `=`, `]` or a newline) never collide, so a plan's own changes never look like one."""
    pairs = sorted([str(name), str(value)] for name, value in parts)
    return json.dumps([key_type, pairs], ensure_ascii=False, separators=(",", ":"))


def change_key_id(change: Mapping[str, Any]) -> str:
    """`key_id` of a change of a plan's JSON document (its `type` and `natural_key`)."""
    natural_key = change.get("natural_key")
    parts = natural_key.items() if isinstance(natural_key, Mapping) else ()
    return key_id(str(change.get("type")), parts)


def reviewed(document: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a plan document its checksum covers."""
    changes = [_reviewed_change(c) for c in _changes(document)]
    return {
        **{name: document.get(name) for name in _PLAN_FIELDS},
        "changes": sorted(changes, key=change_key_id),
    }


def checksum(document: Mapping[str, Any]) -> str:
    text = json.dumps(reviewed(document), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _changes(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    changes = document.get("changes")
    return [c for c in changes if isinstance(c, Mapping)] if isinstance(changes, list) else []


def _reviewed_change(change: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **{name: change.get(name) for name in _CHANGE_FIELDS},
        "fields": sorted(_fields(change).items()),
    }


def _fields(change: Mapping[str, Any]) -> dict[str, list[Any]]:
    """path → [kind, old, new] of each field change."""
    raw = change.get("fields")
    items = [f for f in raw if isinstance(f, Mapping)] if isinstance(raw, list) else []
    return {str(f.get("path")): [f.get("kind"), f.get("old"), f.get("new")] for f in items}


def moved(key: str, before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """Each value of one change that differs between the reviewed plan (`before`) and a fresh one."""
    reasons: list[str] = []
    if before.get("action") != now.get("action"):
        reasons.append(f"{key}: the plan said {before.get('action')}, now it is {now.get('action')}")
    if before.get("id") != now.get("id") and before.get("id") is not None and now.get("id") is not None:
        reasons.append(f"{key}: the plan was for id {before.get('id')}, Immuta now holds id {now.get('id')}")
    named: set[str] = set()
    old_after, new_after = before.get("after"), now.get("after")
    if isinstance(old_after, dict) and isinstance(new_after, dict):
        for path, kind in sorted(differences(old_after, new_after), key=lambda d: [str(p) for p in d[0]]):
            name = ".".join(map(str, path))
            named.add(name)
            was = "was not set" if kind == "added" else f"was {_show(_at(old_after, path))}"
            is_ = "is not set now" if kind == "removed" else f"is {_show(_at(new_after, path))} now"
            reasons.append(f"{key}: {name} {was} in the reviewed plan, {is_}")
    old_fields, new_fields = _fields(before), _fields(now)
    for name in sorted(old_fields.keys() | new_fields.keys()):
        then, current = old_fields.get(name), new_fields.get(name)
        if then == current or (name in named and then is not None and current is not None and then[1] == current[1]):
            continue  # unchanged, or its new value is named above and what it replaces is the same
        reasons.append(f"{key}: {name}: {_changed(then)} in the reviewed plan, {_changed(current)} now")
    return reasons


def _changed(change: list[Any] | None) -> str:
    return "left alone" if change is None else f"changed {_show(change[1])} → {_show(change[2])}"


def _at(value: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
