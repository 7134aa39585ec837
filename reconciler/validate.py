"""Every check of the desired-state files that needs no API: schema, references, literal secrets, unknown
fields, and the cross-file rules (one file per natural key, unique S3 locations, one Trino)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any, Literal

from reconciler.errors import Problem
from reconciler.loader import SourceDocument
from reconciler.model import IntegrationKey, Path, SourceLocation, dotted, json_path
from reconciler.schema import SchemaSet, TypeSchema, get_path
from reconciler.secrets import is_reference_only, references


@dataclass(frozen=True, slots=True)
class ValidationOptions:
    strict: bool = False  # unknown fields are errors instead of warnings
    allow_literal_secrets: bool = False  # for local experiments only


def check_documents(
    documents: Sequence[SourceDocument], schemas: SchemaSet, options: ValidationOptions
) -> list[Problem]:
    problems: list[Problem] = []
    for doc in documents:
        problems.extend(_check_one(doc, schemas, options))
    problems.extend(_cross_file(documents, schemas))
    return problems


def _check_one(doc: SourceDocument, schemas: SchemaSet, options: ValidationOptions) -> Iterator[Problem]:
    if not isinstance(doc.data, dict):
        yield Problem(
            doc.location(()),
            "$",
            "a document must be a mapping with `type` and, for most types, `autoBootstrap` and `config`",
        )
        return
    for issue in schemas.validate(doc.data):
        yield Problem(doc.location(issue.anchor), json_path(issue.path), issue.message)
    for path, text in strings(doc.data, ()):
        for message in references(text)[1]:
            yield Problem(doc.location(path), json_path(path), message)
    type_schema = schemas.types.get(doc.data.get("type", ""))
    if type_schema is None:
        return
    if not options.allow_literal_secrets:
        for path in sorted(type_schema.secret_paths):
            value = get_path(doc.data, path)
            if isinstance(value, str) and not is_reference_only(value):
                yield Problem(doc.location(path), json_path(path), _literal_secret_message(doc, path))
    severity: Literal["error", "warning"] = "error" if options.strict else "warning"
    for path, suggestion in type_schema.unknown_fields(doc.data):
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        message = f"unknown field for {type_schema.name}{hint} (sent to Immuta as written)"
        yield Problem(doc.location(path), json_path(path), message, severity)
    lifecycle = doc.data.get("lifecycle")
    ignored = lifecycle.get("ignoreChanges", []) if isinstance(lifecycle, dict) else []
    for index, entry in enumerate(ignored if isinstance(ignored, list) else []):
        if isinstance(entry, str) and type_schema.field(tuple(entry.split("."))) is None:
            where: Path = ("lifecycle", "ignoreChanges", index)
            yield Problem(
                doc.location(where),
                json_path(where),
                f"{entry} is not a field of {type_schema.name}",
                severity,
            )


def _literal_secret_message(doc: SourceDocument, path: Path) -> str:
    stem = FsPath(doc.file).stem
    name = "_".join(part for part in (stem, str(path[-1])) if part)
    env = "".join(c if c.isalnum() else "_" for c in name).upper()
    return (
        f"is a secret and must not be written in the file: use a reference such as "
        f"`{path[-1]}: ${{env:{env}}}` or `${{file:/run/secrets/{env.lower()}}}`"
    )


def strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    """Every string value in a document, with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from strings(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from strings(child, (*path, index))


def identity(doc: SourceDocument, schemas: SchemaSet) -> tuple[TypeSchema, IntegrationKey] | None:
    """The type and natural key of a document, when both can be read."""
    if not isinstance(doc.data, dict):
        return None
    type_schema = schemas.types.get(doc.data.get("type", ""))
    if type_schema is None:
        return None
    if any(not isinstance(get_path(doc.data, path), (str, int)) for path in type_schema.natural_key):
        return None
    return type_schema, type_schema.key_of(doc.data)


def _cross_file(documents: Sequence[SourceDocument], schemas: SchemaSet) -> Iterator[Problem]:
    first_by_key: dict[IntegrationKey, SourceLocation] = {}
    first_by_unique: dict[tuple[str, str, object], SourceLocation] = {}
    for doc in documents:
        found = identity(doc, schemas)
        if found is None:
            continue
        type_schema, key = found
        here = doc.location(type_schema.natural_key[0] if type_schema.natural_key else ())
        if key in first_by_key:
            other = first_by_key[key]
            what = (
                f"a second {type_schema.name} integration: Immuta allows one per tenant"
                if type_schema.natural_key == (("type",),)
                else f"the same integration ({key}) as"
            )
            joiner = "; the first is in" if type_schema.natural_key == (("type",),) else ""
            yield Problem(here, "$", f"{what}{joiner} {other.file}:{other.line}")
        else:
            first_by_key[key] = here
        for path in type_schema.unique:
            value = get_path(doc.data, path)
            if value is None:
                continue
            slot = (type_schema.name, dotted(path), value)
            where = doc.location(path)
            if slot in first_by_unique:
                other = first_by_unique[slot]
                yield Problem(
                    where,
                    json_path(path),
                    f"{value!r} is already used by {other.file}:{other.line}; "
                    f"it must be unique across {type_schema.name} integrations",
                )
            else:
                first_by_unique[slot] = where
