"""Every environment of a repository at once: what the pre-commit hook and `validate --all-environments`
check, so that a shared file is valid with each environment's `${var:…}` values, not only with one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path as FsPath

from reconciler.errors import InputError, Problem
from reconciler.loading.environments import ENVIRONMENTS_DIR, apply_values, load_environment, without_shadowed
from reconciler.loading.loader import load_paths
from reconciler.validation.schema import SchemaSet
from reconciler.validation.validate import ValidationOptions, check_documents

DEFAULT_PATHS = ("integrations.d",)


@dataclass(frozen=True, slots=True)
class EnvironmentCheck:
    name: str | None  # None: no environments/ folder, the default paths without values
    problems: tuple[Problem, ...]
    documents: int
    files: int

    @property
    def valid(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def environment_names(folder: str = ENVIRONMENTS_DIR) -> list[str]:
    """NAME of every `folder/NAME.yaml`, sorted; empty when there is no such folder."""
    root = FsPath(folder)
    return sorted(p.stem for p in root.glob("*.yaml") if p.is_file()) if root.is_dir() else []


def check_every_environment(
    schemas: SchemaSet,
    options: ValidationOptions = ValidationOptions(),  # noqa: B008 - frozen value object
    *,
    folder: str = ENVIRONMENTS_DIR,
    default_paths: tuple[str, ...] = DEFAULT_PATHS,
) -> list[EnvironmentCheck]:
    """One check per environment (its paths, else `default_paths`, with its values), or one check of
    `default_paths` without values when the repository has no environments. A broken environment file is
    reported as that environment's problems."""
    names: list[str | None] = [*environment_names(folder)] or [None]
    checks = []
    for name in names:
        try:
            environment = load_environment(name, folder) if name is not None else None
        except InputError as exc:
            checks.append(EnvironmentCheck(name, tuple(exc.problems), 0, 0))
            continue
        paths = list(environment.paths if environment and environment.paths else default_paths)
        documents, load_problems = load_paths(paths)
        documents, var_problems = apply_values(documents, environment.values if environment else None, schemas)
        checked = check_documents(documents, schemas, options)
        problems = without_shadowed([*load_problems, *var_problems, *checked])
        ordered = tuple(InputError(problems).problems)
        checks.append(EnvironmentCheck(name, ordered, len(documents), len({d.file for d in documents})))
    return checks
