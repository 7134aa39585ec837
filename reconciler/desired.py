"""From validated documents to the desired state the plan engine consumes: one `DesiredIntegration` per
natural key, its payload normalised with schema defaults and its references resolved (or not) per mode."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path as FsPath
from typing import Any

from reconciler.errors import InputError, Problem
from reconciler.loading.environments import apply_values, without_shadowed
from reconciler.loading.loader import SourceDocument, load_paths
from reconciler.model import IntegrationKey, Path, SourceLocation, json_path, parse_dotted
from reconciler.secrets import PLACEHOLDER, REFERENCE, Lookup, RefusedReference, Secret, Unresolved, substitute
from reconciler.validation.schema import SchemaSet, SecretTree, TypeSchema, payload_of
from reconciler.validation.validate import ValidationOptions, check_documents, identity

PLACEHOLDER_VALUE = "sandbox-placeholder"  # what --sandbox sends for a reference that is not set, saying so


class SecretMode(Enum):
    """How references are read."""

    DEFER = "defer"  # validate/plan: secrets are not read; other references are read when they can be
    REQUIRE = "require"  # apply, validate --resolve-secrets: every reference must resolve, before any write
    PLACEHOLDER = "placeholder"  # --sandbox: the simulator checks no credential; unset ones get a stand-in


@dataclass(frozen=True, slots=True)
class Lifecycle:
    prevent_destroy: bool = False
    ignore_changes: tuple[Path, ...] = ()
    # A rename: natural-key field name → its old value (planning/protection.py plans it as a replace).
    previously: tuple[tuple[str, str], ...] = ()

    def ignores(self, path: Path) -> bool:
        return any(path[: len(ignored)] == ignored for ignored in self.ignore_changes)


@dataclass(frozen=True, slots=True)
class DesiredIntegration:
    key: IntegrationKey
    type_schema: TypeSchema = field(repr=False, compare=False)
    present: bool  # False for a tombstone (`ensure: absent`)
    payload: dict[str, Any] = field(repr=False)  # with defaults; Secret / Unresolved where references are
    body: dict[str, Any] = field(repr=False)  # as written, references resolved: what is sent to Immuta
    source: SourceDocument = field(repr=False, compare=False)
    lifecycle: Lifecycle
    references: tuple[tuple[str, str], ...]  # (json path, reference text): what a saved plan records
    digest: str  # of the file's intent (masked payload, lifecycle, references) — not of secret values

    @property
    def file(self) -> str:
        return self.source.file

    def location(self, path: Path) -> SourceLocation:
        return self.source.location(path)


@dataclass(frozen=True, slots=True)
class DesiredState:
    integrations: tuple[DesiredIntegration, ...]
    warnings: tuple[Problem, ...] = ()
    placeholders: tuple[str, ...] = ()  # references given a stand-in value under --sandbox

    @property
    def digest(self) -> str:
        import hashlib  # not at start-up: validate never digests

        text = "\n".join(f"{d.key}={d.digest}" for d in self.integrations)
        return hashlib.sha256(text.encode()).hexdigest()

    def by_key(self) -> dict[IntegrationKey, DesiredIntegration]:
        return {d.key: d for d in self.integrations}


def load_desired(
    paths: Sequence[str],
    schemas: SchemaSet,
    *,
    options: ValidationOptions = ValidationOptions(),  # noqa: B008 - frozen value object
    mode: SecretMode = SecretMode.DEFER,
    lookup: Lookup | None = None,
    variables: Mapping[str, Any] | None = None,
) -> DesiredState:
    """Load, validate and normalise; raises InputError with every problem when anything is wrong."""
    documents, problems = read_documents(paths, schemas, variables)
    problems = without_shadowed([*problems, *check_documents(documents, schemas, options)])
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(problems)
    warnings = tuple(sorted(p for p in problems if p.severity == "warning"))
    return build_desired(documents, schemas, mode=mode, lookup=lookup or Lookup({}), warnings=warnings)


def read_documents(
    paths: Sequence[str], schemas: SchemaSet, variables: Mapping[str, Any] | None
) -> tuple[list[SourceDocument], list[Problem]]:
    """The files under `paths`, with an environment's `${var:…}` values filled in (None: no environment)."""
    documents, problems = load_paths(paths)
    documents, var_problems = apply_values(documents, variables, schemas)
    return documents, problems + var_problems


def build_desired(
    documents: Sequence[SourceDocument],
    schemas: SchemaSet,
    *,
    mode: SecretMode,
    lookup: Lookup,
    warnings: tuple[Problem, ...] = (),
) -> DesiredState:
    import hashlib  # not at start-up: validate never digests

    problems: list[Problem] = []
    placeholders: set[str] = set()
    integrations: list[DesiredIntegration] = []
    for doc in documents:
        found = identity(doc, schemas)
        if found is None:  # validation has already reported why
            continue
        type_schema, key = found
        resolver = _Resolver(doc, type_schema, mode, lookup)
        body = resolver.resolve(payload_of(doc.data), (), type_schema.secret_tree)
        problems.extend(resolver.problems)
        placeholders.update(resolver.placeholders)
        present = doc.data.get("ensure", "present") != "absent"
        payload = type_schema.apply_defaults(body) if present else body
        lifecycle = _lifecycle(doc.data.get("lifecycle"))
        refs = tuple((json_path(path), text) for path, text in resolver.references)
        written = payload_of(doc.data)
        intent = {
            # As written (references as their text), so that `plan` (secrets not read) and `apply` (every
            # secret read) digest a file alike; a literal secret (--allow-literal-secrets) is masked.
            "payload": _as_written(type_schema, written),
            "present": present,
            "refs": refs,
            "lifecycle": [
                lifecycle.prevent_destroy,
                [list(p) for p in lifecycle.ignore_changes],
                *([[list(p) for p in lifecycle.previously]] if lifecycle.previously else []),
            ],
        }
        digest = hashlib.sha256(json.dumps(intent, sort_keys=True, default=str).encode()).hexdigest()
        integrations.append(DesiredIntegration(key, type_schema, present, payload, body, doc, lifecycle, refs, digest))
    if problems:
        raise InputError(problems)
    integrations.sort(key=lambda d: d.key)
    if placeholders:  # said on standard error on every run that gives one (the commands print the warnings)
        warnings = (*warnings, placeholder_warning(sorted(placeholders)))
    return DesiredState(tuple(integrations), warnings, tuple(sorted(placeholders)))


def placeholder_warning(references: Sequence[str]) -> Problem:
    return Problem(
        None,
        "",
        f"sandbox: {', '.join(references)} not set, so the sandbox sends {PLACEHOLDER_VALUE!r} instead (a tenant "
        "would refuse the run): set them to test what apply sends",
        "warning",
    )


def _as_written(type_schema: TypeSchema, value: Any) -> Any:
    """`value` with every secret that is not a reference masked. Secrets are a few known paths (of object
    keys): only those are walked and copied, the rest is shared (json.dumps only reads it)."""
    for path in type_schema.secret_paths:
        value = _masked_at(value, path, 0)
    return value


def _masked_at(value: Any, path: Path, depth: int) -> Any:
    if depth == len(path):
        return _masked(value)
    key = path[depth]
    if not isinstance(value, dict) or key not in value:
        return value
    copy = dict(value)
    copy[key] = _masked_at(value[key], path, depth + 1)
    return copy


def _masked(value: Any) -> Any:
    """Everything inside a secret field is secret."""
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, str) and REFERENCE.search(value):
        return value
    return PLACEHOLDER


def _lifecycle(raw: Any) -> Lifecycle:
    if not isinstance(raw, Mapping):
        return Lifecycle()
    ignored = tuple(parse_dotted(p) for p in raw.get("ignoreChanges", []) if isinstance(p, str))
    previously = raw.get("previously")
    renamed = tuple(sorted((str(k), str(v)) for k, v in previously.items())) if isinstance(previously, Mapping) else ()
    return Lifecycle(bool(raw.get("preventDestroy", False)), ignored, renamed)


class _Resolver:
    """Replaces reference strings: secrets become `Secret`, or `Unresolved` when not read (plan, validate)."""

    def __init__(self, doc: SourceDocument, type_schema: TypeSchema, mode: SecretMode, lookup: Lookup) -> None:
        self.doc = doc
        self.type_schema = type_schema
        self.mode = mode
        self.lookup = lookup
        self.problems: list[Problem] = []
        self.placeholders: list[str] = []
        self.references: list[tuple[Path, str]] = []  # every string holding a reference, as written

    def resolve(self, value: Any, path: Path, secrets: SecretTree | bool) -> Any:
        """`value` copied, its secrets wrapped and its references replaced. `secrets` is the part of the
        schema's secret tree at `path` (True inside a secret field, False where none is below); paths are only
        built for containers and references, not for every plain value (#14.2)."""
        if isinstance(value, dict):
            copied: dict[str, Any] = {}
            for key, item in value.items():
                below = secrets.get(key, False) if isinstance(secrets, dict) else secrets
                if type(item) is str and "$" not in item:
                    copied[key] = Secret(item) if below is True else item
                elif isinstance(item, dict | list | str):
                    copied[key] = self.resolve(item, (*path, key), below)
                else:
                    copied[key] = item  # scalars are immutable; only a string can be a secret or hold a reference
            return copied
        if isinstance(value, list):
            inside = secrets is True  # a list's items are secret only inside a secret field
            return [self.resolve(v, (*path, i), inside) for i, v in enumerate(value)]
        if not isinstance(value, str):
            return value
        secret = secrets is True
        if "$" not in value or not REFERENCE.search(value):
            return Secret(value) if secret else value
        self.references.append((path, value))
        if secret and self.mode is SecretMode.DEFER:
            return Unresolved(value)
        try:
            text = substitute(value, self.lookup, FsPath(self.doc.file).parent)
        except RefusedReference as exc:
            self.problems.append(Problem(self.doc.location(path), json_path(path), str(exc)))
            return Unresolved(value)
        except LookupError as exc:
            return self._missing(value, path, str(exc), secret)
        if secret and not text.strip() and self.mode is not SecretMode.DEFER:
            # Immuta would refuse it one integration at a time, mid-apply: refuse it before the first write.
            return self._missing(value, path, f"{value} is empty: a secret needs a value", secret)
        return Secret(text) if secret else text

    def _missing(self, value: str, path: Path, message: str, secret: bool) -> Any:
        """A secret the sandbox gives a stand-in; otherwise an error (the references gate leaves no other
        reference than a secret's to read here, so nothing is ever planned unread)."""
        if secret and self.mode is SecretMode.PLACEHOLDER:
            self.placeholders.append(value)
            return Secret(PLACEHOLDER_VALUE)
        self.problems.append(Problem(self.doc.location(path), json_path(path), message))
        return Unresolved(value)
