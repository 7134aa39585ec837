"""What the repository's desired state declares, whichever paths a run was given: the delete gate
(planning/gate.py) never prunes, nor renames away, an integration that any of these files declares.

The whole desired state is the repository's declared roots: the default folder, or each environment
file's `paths` (each environment's files filled with its own `${var:}` values). Keys are compared loosely
(as the plan's safety net compares them), so a key written another way still counts as declared. A file
in a declared root that cannot be read or keyed is never taken as declaring nothing: the gate refuses to
prune until it is fixed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath

from reconciler.errors import ReconcilerError
from reconciler.loading.environments import ENVIRONMENTS_DIR, Environment, apply_values, load_environment
from reconciler.loading.every_environment import environment_names
from reconciler.loading.loader import DEFAULT_ROOTS, load_paths
from reconciler.model import IntegrationKey
from reconciler.validation.schema import SchemaSet
from reconciler.validation.validate import identity

LooseKey = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True, slots=True)
class Declared:
    """Loose key → the file that declares it (present), and what could not be read."""

    keys: Mapping[LooseKey, str] = field(default_factory=dict)
    unreadable: tuple[str, ...] = ()

    def file_of(self, key: IntegrationKey) -> str | None:
        return self.keys.get(key.loosely())


def declared(schemas: SchemaSet, folder: str = ENVIRONMENTS_DIR) -> Declared:
    keys: dict[LooseKey, str] = {}
    unreadable: list[str] = []
    names = environment_names(folder)
    chosen: list[Environment | None] = []
    for name in names:
        try:
            chosen.append(load_environment(name, folder))
        except ReconcilerError as exc:
            unreadable.append(str(exc).splitlines()[0])  # its roots are unknown: nothing may be taken as undeclared
    for environment in chosen if names else [None]:
        roots = environment.paths if environment and environment.paths else DEFAULT_ROOTS
        documents, problems = load_paths([r for r in roots if FsPath(r).exists()])
        documents, more = apply_values(documents, environment.values if environment else None, schemas)
        unreadable.extend(str(p) for p in [*problems, *more] if p.severity == "error")
        for doc in documents:
            known = identity(doc, schemas)
            if known is None:
                unreadable.append(f"{doc.file}: no integration type and natural key can be read")
            elif doc.data.get("ensure", "present") != "absent":
                keys.setdefault(known[1].loosely(), doc.file)
    return Declared(keys, tuple(dict.fromkeys(unreadable)))
