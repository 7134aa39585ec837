"""Saved plans (`plan --out FILE`): the reviewed plan as a file, and the check that it still holds.

A saved plan holds no secret value — only references — and records, per integration, the digest of what
its file asked for, the fingerprint of what Immuta reported and every non-secret value it shows, under one
checksum (planning/reviewed.py). `stale_reasons` recomputes that checksum on a fresh plan and names every
value that moved — a `${env:…}` that resolves differently now included; apply repeats the Immuta half just
before each write. A plan saved by another version of the reconciler, or edited by hand, is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler import __version__, files, jsontext
from reconciler.errors import ReconcilerError, RefusedError
from reconciler.loading.loader import SAVED_PLAN_KIND
from reconciler.planning import reviewed
from reconciler.planning.plan import PLAN_FORMAT_VERSION, Change, Plan
from reconciler.render.plan_json import change_dict, plan_dict

SAVED_KIND = SAVED_PLAN_KIND  # what the loader recognises as "not a desired-state file"
# What a saved plan holds besides the plan's own JSON document (`plan --format json`).
SAVED_ONLY = ("kind", "paths", "rotate", "targets")
SAVED_PLAN_DEPTH = 2 * jsontext.MAX_DEPTH  # Immuta's values (at most MAX_DEPTH deep) inside the plan's own levels


@dataclass(frozen=True, slots=True)
class SavedPlan:
    document: Mapping[str, Any]
    file: str

    @property
    def target(self) -> str:
        return str(self.document["target"])

    @property
    def prune(self) -> bool:
        return bool(self.document["prune"])

    @property
    def rotate(self) -> frozenset[str]:
        return frozenset(str(r) for r in self.document.get("rotate", []))

    @property
    def targets(self) -> frozenset[str]:
        """`plan --target`: the integrations it was limited to (empty: all); apply FILE plans only those."""
        return frozenset(str(t) for t in self.document.get("targets", []))

    @property
    def paths(self) -> list[str]:
        return [str(p) for p in self.document.get("paths", [])]

    @property
    def checksum(self) -> str:
        return str(self.document["checksum"])

    def changes_by_key(self) -> dict[str, Mapping[str, Any]]:
        """Each change by its key, serialised unambiguously (reviewed.key_id)."""
        return {reviewed.change_key_id(c): c for c in self.document["changes"]}


def save(
    plan: Plan,
    path: str,
    *,
    paths: list[str],
    rotate: frozenset[str] = frozenset(),
    targets: frozenset[str] = frozenset(),
) -> None:
    document = {"kind": SAVED_KIND, **plan_dict(plan), "paths": paths, "rotate": sorted(rotate)}
    document["targets"] = sorted(targets)
    files.write_text(path, json.dumps(document, indent=2) + "\n", what="saved plan", private=True)


class SavedPlanError(ReconcilerError):
    """A file given as a saved plan that cannot be one (exit 1)."""


def load(path: str) -> SavedPlan:
    """The saved plan, or a SavedPlanError saying why the file is not one (RefusedError when it was edited) —
    never a KeyError later: a plan is a file a person may open, edit by hand or truncate."""
    try:
        data = files.read_bytes(path, files.SAVED_PLAN)
    except files.FileError as exc:
        raise _unreadable(path, exc.reason) from None
    try:
        document = jsontext.loads(data.decode("utf-8"), max_depth=SAVED_PLAN_DEPTH)
    except UnicodeDecodeError as exc:
        raise _unreadable(path, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    except ValueError as exc:
        raise _unreadable(path, f"not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("kind") != SAVED_KIND:
        raise SavedPlanError(f"{path}: not a plan saved by `reconciler plan --out`")
    if document.get("format_version") != PLAN_FORMAT_VERSION:
        raise SavedPlanError(f"{path}: plan format {document.get('format_version')} is not supported")
    damage = _damage(document)
    if damage:
        raise SavedPlanError(f"{path}: the saved plan was edited or damaged ({damage}): plan again and review it")
    # Another version may checksum differently: stale_reasons refuses its plans, saying so.
    if document.get("tool_version") == __version__ and reviewed.checksum(document) != document["checksum"]:
        raise RefusedError(
            [f"{path} was edited after it was saved (its checksum does not match its content): plan again"]
        )
    return SavedPlan(document, path)


def _unreadable(path: str, reason: str) -> SavedPlanError:
    return SavedPlanError(f"{path}: cannot read the saved plan: {reason}")


_TEXT = (str,)
_TEXT_OR_NULL = (str, type(None))


def _damage(document: Mapping[str, Any]) -> str | None:
    """The first field that a saved plan's reader relies on and that is missing or of the wrong kind."""
    for name, kinds in (("target", _TEXT), ("checksum", _TEXT), ("prune", (bool,)), ("changes", (list,))):
        if not isinstance(document.get(name), kinds):
            return f"$.{name} is missing or not a {_KIND_NAMES[kinds]}"
    for name in ("rotate", "paths"):
        value = document.get(name, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return f"$.{name} is not a list of strings"
    seen: set[str] = set()
    for index, change in enumerate(document["changes"]):
        where = f"$.changes[{index}]"
        if not isinstance(change, dict):
            return f"{where} is not an object"
        for name, kinds in (("key", _TEXT), ("action", _TEXT), ("type", _TEXT)):
            if not isinstance(change.get(name), kinds):
                return f"{where}.{name} is missing or not a {_KIND_NAMES[kinds]}"
        natural_key = change.get("natural_key")
        if not isinstance(natural_key, dict) or not all(isinstance(v, str) for v in natural_key.values()):
            return f"{where}.natural_key is missing or not an object of strings"
        for name in ("desired_digest", "actual_fingerprint", "file", "id"):
            if not isinstance(change.get(name), _TEXT_OR_NULL):
                return f"{where}.{name} is not a string or null"
        identity = reviewed.change_key_id(change)
        if identity in seen:
            return f"{where}.key {change['key']} appears twice"
        seen.add(identity)
    return None


_KIND_NAMES = {_TEXT: "string", (bool,): "boolean", (list,): "list"}


def stale_reasons(saved: SavedPlan, fresh: Plan) -> list[str]:
    """Everything that differs between the reviewed plan and the same plan made now; empty when it holds."""
    reasons: list[str] = []
    if saved.target != fresh.target:
        reasons.append(f"the plan was made against {saved.target}; this run targets {fresh.target}")
        return reasons
    version = saved.document.get("tool_version")
    if version != fresh.tool_version:
        return [f"the plan was saved by reconciler {version}; this is reconciler {fresh.tool_version}: plan again"]
    if saved.document.get("schema_version") != fresh.schema_version:
        return [
            f"the plan was saved with other schemas (version {saved.document.get('schema_version')}; these are "
            f"{fresh.schema_version}): plan again"
        ]
    before = saved.changes_by_key()
    now = {reviewed.key_id(c.key.type, c.key.parts): c for c in fresh.changes}
    for identity in sorted(set(before) | set(now)):
        old, new = before.get(identity), now.get(identity)
        key = str(new.key) if new is not None else str(old["key"]) if old is not None else identity
        if old is None:
            assert new is not None
            origin = f"{new.file} now declares it" if new.file else f"it appeared in Immuta (id {new.actual_id})"
            reasons.append(f"{key}: not in the plan; {origin}")
            continue
        if new is None:
            reasons.append(f"{key}: in the plan, but neither a file nor Immuta has it any more")
            continue
        if old.get("desired_digest") != new.desired_digest:
            reasons.append(f"{key}: {_file_text(old, new)}")
        if old.get("actual_fingerprint") != new.actual_fingerprint:
            declared = f" ({new.file or old.get('file')})" if new.file or old.get("file") else ""
            reasons.append(f"{key}{declared}: {_immuta_text(old, new)}{_id_text(old, new.actual_id)}")
        reasons.extend(reviewed.moved(key, old, change_dict(new)))
    fresh_checksum = fresh.checksum
    if not reasons and fresh_checksum != saved.checksum:
        # Every value the checksum covers is named above; this only says so should one ever be missed.
        reasons.append(f"the plan's checksum is {fresh_checksum[:12]} now, {saved.checksum[:12]} when reviewed")
    return reasons


def _file_text(old: Mapping[str, Any], new: Change) -> str:
    if old.get("desired_digest") is None:
        return f"{new.file} now declares it"
    if new.desired_digest is None:
        return f"{old.get('file') or 'its file'} no longer declares it (removed since the plan)"
    return f"{new.file or old.get('file') or 'its file'} changed since the plan"


def _immuta_text(old: Mapping[str, Any], new: Change) -> str:
    if old.get("actual_fingerprint") is None:
        return "created in Immuta since the plan"
    if new.actual_fingerprint is None:
        return "deleted in Immuta since the plan"
    return "changed in Immuta since the plan"


def _id_text(old: Mapping[str, Any], new_id: str | None) -> str:
    ident = new_id or old.get("id")
    return f" (id {ident})" if ident else ""
