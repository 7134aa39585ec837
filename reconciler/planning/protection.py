"""Protection that survives renames and partial views.

A stateless tool knows an integration only by its natural key, so a file whose key field changes looks like
a new integration plus an orphan — and `--prune` would delete a protected one. Two things say it is a rename:
`lifecycle.previously` in the file (the key fields' old values), and the same file on the Git base revision
(planning/baserevision.py), whose key differs. A rename is planned as a replace of what Immuta holds under
the old key, which `preventDestroy` refuses.

What a base revision protected stays protected here, whatever the pull request does to the file (deleting it,
or dropping the flag in the same change): the flag is lifted by a reviewed change, then acted on by another.
A saved plan records this view (`BaseView.as_json`), so `apply FILE` on main sees what the review saw.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.actual import ActualIntegration
from reconciler.desired import DesiredIntegration, DesiredState
from reconciler.model import IntegrationKey
from reconciler.validation.schema import SchemaSet


@dataclass(frozen=True, slots=True)
class BaseFile:
    """One integration declared by a file on the base revision."""

    path: str  # as the desired-state files are named in this run (relative to the working directory)
    key: IntegrationKey
    protected: bool  # lifecycle.preventDestroy: true, and not a tombstone


@dataclass(frozen=True, slots=True)
class BaseView:
    revision: str | None = None  # None: no base revision was read (only lifecycle.previously counts)
    files: tuple[BaseFile, ...] = ()

    def as_json(self) -> dict[str, Any] | None:
        if self.revision is None:
            return None
        return {
            "revision": self.revision,
            "files": [
                {
                    "path": printable(f.path),  # JSON holds text: a name that is not UTF-8 as `\\xNN`
                    "type": f.key.type,
                    "natural_key": [list(p) for p in f.key.parts],
                    "protected": f.protected,
                }
                for f in self.files
            ],
        }

    @classmethod
    def from_json(cls, raw: Any, schemas: SchemaSet) -> BaseView:
        """The view a saved plan recorded; anything malformed is dropped (its checksum then no longer matches)."""
        if not isinstance(raw, Mapping) or not isinstance(raw.get("revision"), str):
            return cls()
        files = []
        for item in raw.get("files", []) if isinstance(raw.get("files"), list) else []:
            if isinstance(item, Mapping) and isinstance(item.get("natural_key"), list):
                parts = [(str(p[0]), str(p[1])) for p in item["natural_key"] if isinstance(p, list) and len(p) == 2]
                known = schemas.types.get(str(item.get("type")))
                key = IntegrationKey.of(str(item.get("type")), parts, known.rules.key_compare if known else None)
                files.append(BaseFile(str(item.get("path")), key, item.get("protected") is True))
        return cls(raw["revision"], tuple(files))

    def relevant(self, desired: DesiredState) -> BaseView:
        """Only what can change a plan — protected integrations, the sources of renames and the keys that
        `lifecycle.previously` names — so that a saved plan stays small and its checksum does not depend on
        unrelated files."""
        if self.revision is None:
            return self
        renamed = {src.path for src in _base_renames(desired, self).values()}
        previous = {old.loosely() for old in map(previous_key, desired.integrations) if old is not None}
        kept = (f for f in self.files if f.protected or f.path in renamed or f.key.loosely() in previous)
        return BaseView(self.revision, tuple(kept))


@dataclass(frozen=True, slots=True)
class Rename:
    old: IntegrationKey
    source: str  # what says so, for the plan's reason
    orphan: bool = False  # no file on the base revision declared `old` (or no base was read): only --prune deletes it


def renames(desired: DesiredState, base: BaseView) -> dict[IntegrationKey, Rename]:
    """New key → the key it had: `lifecycle.previously` first, else the same file on the base revision."""
    found: dict[IntegrationKey, Rename] = {
        new: Rename(src.key, f"{printable(src.path)} on {base.revision}")
        for new, src in _base_renames(desired, base).items()
    }
    declared = {f.key.loosely() for f in base.files}
    for integration in desired.integrations:
        old = previous_key(integration)
        if old is not None:
            source = f"lifecycle.previously in {integration.file}"
            found[integration.key] = Rename(old, source, old.loosely() not in declared)
    return found


def moves(
    desired: DesiredState, existing: Mapping[IntegrationKey, ActualIntegration], base: BaseView
) -> tuple[dict[IntegrationKey, tuple[ActualIntegration, Rename]], dict[IntegrationKey, str]]:
    """The renames a plan carries out (new key → what Immuta holds under the old one, and why), and what
    protects each key beyond its own file (key → the protecting file)."""
    wanted = desired.by_key()
    renamed = renames(desired, base)
    protected = protections(base)
    for new, rename in renamed.items():  # a protected file that says it was X protects X too
        if wanted[new].lifecycle.prevent_destroy:
            protected.setdefault(rename.old, f"{wanted[new].file} (lifecycle.previously)")
    found = {
        new: (existing[r.old], r)
        for new, r in renamed.items()
        if new not in existing and r.old in existing and r.old not in wanted and existing[r.old].status != "deleting"
    }
    return found, protected


def previous_key(integration: DesiredIntegration) -> IntegrationKey | None:
    """The key `lifecycle.previously` names: the natural key with the fields it lists at their old values."""
    previously = dict(integration.lifecycle.previously)
    if not previously or not integration.present:
        return None
    parts = [(name, previously.get(name, value)) for name, value in integration.key.parts]
    old = IntegrationKey.of(integration.key.type, parts, integration.type_schema.rules.key_compare)
    return None if old == integration.key else old


def protections(base: BaseView) -> dict[IntegrationKey, str]:
    """Key → the base revision's file that protects it."""
    return {f.key: f"{printable(f.path)} on {base.revision}" for f in base.files if f.protected}


def _base_renames(desired: DesiredState, base: BaseView) -> dict[IntegrationKey, BaseFile]:
    """A file that declared one integration on the base revision and declares one of the same type with
    another key now: renamed (a file of several documents is not guessed at)."""
    if base.revision is None:
        return {}
    by_path: dict[str, list[BaseFile]] = {}
    for item in base.files:
        by_path.setdefault(_normal(item.path), []).append(item)
    now: dict[str, list[DesiredIntegration]] = {}
    for integration in desired.integrations:
        now.setdefault(_normal(integration.file), []).append(integration)
    found: dict[IntegrationKey, BaseFile] = {}
    for path, declared in now.items():
        before = by_path.get(path, [])
        if len(declared) == 1 and len(before) == 1:
            current, previous = declared[0], before[0]
            if current.present and current.key.type == previous.key.type and current.key != previous.key:
                found[current.key] = previous
    return found


def printable(path: str) -> str:
    """A file name as messages show it: bytes that are not UTF-8 (kept by the file system) as `\\xNN`."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _normal(path: str) -> str:
    return os.path.normcase(os.path.normpath(os.path.abspath(path)))
