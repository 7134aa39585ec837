"""`validate` as one call: the files read and checked exactly as plan and apply read them
(reconciler.desired.read_documents, check_documents, shadowed problems dropped), every problem kept."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.desired import SecretMode, build_desired, read_documents
from reconciler.errors import InputError, Problem
from reconciler.loading.environments import without_shadowed
from reconciler.secrets import Lookup
from reconciler.validation.schema import SchemaSet
from reconciler.validation.validate import ValidationOptions, check_documents


@dataclass(frozen=True, slots=True)
class ValidationReport:
    problems: tuple[Problem, ...]  # sorted by file, line, column
    integrations: int
    files: int

    @property
    def valid(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def check_paths(
    paths: Sequence[str],
    schemas: SchemaSet,
    options: ValidationOptions,
    *,
    variables: Mapping[str, Any] | None = None,
    secrets: Lookup | None = None,
) -> ValidationReport:
    """Every problem of every file under `paths`; with `secrets`, also every reference that does not resolve
    (read only when the files are otherwise valid, as apply would read them)."""
    documents, problems = read_documents(paths, schemas, variables)
    problems = without_shadowed([*problems, *check_documents(documents, schemas, options)])
    if secrets is not None and not any(p.severity == "error" for p in problems):
        try:
            build_desired(documents, schemas, mode=SecretMode.REQUIRE, lookup=secrets)
        except InputError as exc:
            problems.extend(exc.problems)
    return ValidationReport(InputError(problems).problems, len(documents), len({d.file for d in documents}))
