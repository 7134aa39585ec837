"""Every check of the desired-state files that needs no API: schema, references, literal secrets, unknown
fields, and the cross-file rules (one file per natural key, unique S3 locations, one Trino)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any, Literal

from reconciler.assumptions import A17_EXACT
from reconciler.errors import Problem
from reconciler.loading.yaml_source import SourceDocument
from reconciler.model import IntegrationKey, Path, SourceLocation, dotted, json_path, normalised, parse_dotted
from reconciler.secrets import is_reference_only, references
from reconciler.validation.schema import SchemaSet, TypeSchema
from reconciler.validation.schema_messages import kind, validate
from reconciler.walk import get_path


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
    problems.extend(one_per_value(documents, schemas))
    return problems


def _check_one(doc: SourceDocument, schemas: SchemaSet, options: ValidationOptions) -> Iterator[Problem]:
    if not isinstance(doc.data, dict):
        yield Problem(
            doc.location(()),
            "$",
            "a document must be a mapping with `type` and, for most types, `autoBootstrap` and `config`"
            f", not {kind(doc.data)}",
        )
        return
    # A value the loader already rejected (an unsupported tag) is reported once, by the loader.
    reported: set[Path] = set(doc.invalid)
    yield from _schema_problems(doc, schemas, reported)
    yield from _reference_problems(doc, reported)
    type_schema = schemas.types.get(doc.data.get("type", ""))
    if type_schema is None:
        return
    if not options.allow_literal_secrets:
        yield from _literal_secrets(doc, type_schema, reported)
    yield from _schema_warnings(doc, type_schema)
    severity: Literal["error", "warning"] = "error" if options.strict else "warning"
    yield from _unknown_fields(doc, type_schema, reported, severity)
    yield from _ignored_changes(doc, type_schema, reported, severity)


def _schema_problems(doc: SourceDocument, schemas: SchemaSet, reported: set[Path]) -> Iterator[Problem]:
    for issue in validate(schemas, doc.data):
        if not _under(issue.path, doc.invalid):
            reported.add(issue.path)
            yield Problem(doc.location(issue.anchor), json_path(issue.path), issue.message)


def _reference_problems(doc: SourceDocument, reported: set[Path]) -> Iterator[Problem]:
    for path, text in strings_with_dollar(doc.data, ()):
        if path in reported:
            continue
        for message in references(text)[1]:
            reported.add(path)
            yield Problem(doc.location(path), json_path(path), message)


def _literal_secrets(doc: SourceDocument, type_schema: TypeSchema, reported: set[Path]) -> Iterator[Problem]:
    for path in sorted(type_schema.secret_paths):
        value = get_path(doc.data, path)
        if isinstance(value, str) and path not in reported and not is_reference_only(value):
            yield Problem(doc.location(path), json_path(path), _literal_secret_message(doc, path))


def _unknown_fields(
    doc: SourceDocument, type_schema: TypeSchema, reported: set[Path], severity: Literal["error", "warning"]
) -> Iterator[Problem]:
    for path, suggestion in type_schema.unknown_fields(doc.data):
        if path in reported:  # a misspelt required field: the schema check has said so
            continue
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        message = f"unknown field for {type_schema.name}{hint} (sent to Immuta as written)"
        yield Problem(doc.location(path), json_path(path), message, severity)


def _ignored_changes(
    doc: SourceDocument, type_schema: TypeSchema, reported: set[Path], severity: Literal["error", "warning"]
) -> Iterator[Problem]:
    lifecycle = doc.data.get("lifecycle")
    ignored = lifecycle.get("ignoreChanges", []) if isinstance(lifecycle, dict) else []
    for index, entry in enumerate(ignored if isinstance(ignored, list) else []):
        where: Path = ("lifecycle", "ignoreChanges", index)
        if where in reported or not isinstance(entry, str):
            continue
        field_path = parse_dotted(entry)
        if type_schema.field(field_path) is None:
            siblings = type_schema.properties(type_schema.field(field_path[:-1]) or {}) or {}
            import difflib  # only for a mistyped entry: not at start-up

            close = difflib.get_close_matches(str(field_path[-1]), list(siblings), n=1, cutoff=0.7)
            hint = f"; did you mean {dotted((*field_path[:-1], close[0]))}?" if close else ""
            yield Problem(
                doc.location(where),
                json_path(where),
                f"{entry} is not a field of {type_schema.name}{hint}",
                severity,
            )


def _under(path: Path, parents: frozenset[Path]) -> bool:
    return any(path[: len(parent)] == parent for parent in parents)


def _literal_secret_message(doc: SourceDocument, path: Path) -> str:
    field_name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(path[-1]))  # awsAccessKeyId → aws_Access_Key_Id
    name = "_".join(part for part in (FsPath(doc.file).stem, field_name) if part)
    env = "".join(c if c.isalnum() else "_" for c in name).upper()
    return (
        f"is a secret and must not be written in the file: use a reference such as "
        f"`{path[-1]}: ${{env:{env}}}` (or `${{file:PATH}}`, read inside the repository)"
    )


def strings_with_dollar(value: Any, path: Path) -> list[tuple[Path, str]]:
    """Every string value holding a `$` (where a reference `${…}` can be), with its path, in document order.
    Most strings hold none: their paths are never built."""
    found: list[tuple[Path, str]] = []
    _collect_strings(value, path, found)
    return found


def _collect_strings(value: Any, path: Path, found: list[tuple[Path, str]]) -> None:
    # Appending to one list, not nested generators: this visits every value of every file (#14.2).
    if isinstance(value, str):
        if "$" in value:
            found.append((path, value))
        return
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        if isinstance(child, str):
            if "$" in child:
                found.append(((*path, key), child))
        elif isinstance(child, dict | list):
            _collect_strings(child, (*path, key), found)


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


def _schema_warnings(doc: SourceDocument, type_schema: TypeSchema) -> Iterator[Problem]:
    """A schema's `x-warnings`: where the docs contradict themselves or are silent, a file is sent as written
    and the user is told what to check (docs/immuta-api.md §7)."""
    for path, applies, message in type_schema.warnings:
        if applies(doc.data):
            yield Problem(doc.location(path), json_path(path), message, "warning")


def _cross_file(documents: Sequence[SourceDocument], schemas: SchemaSet) -> Iterator[Problem]:
    # Where a value was written is looked up only for a clash: most files clash with none.
    first_by_key: dict[IntegrationKey, tuple[SourceDocument, Path, bool, IntegrationKey]] = {}
    first_by_unique: dict[tuple[str, str, object], tuple[SourceDocument, Path]] = {}
    for doc in documents:
        found = identity(doc, schemas)
        if found is None:
            continue
        type_schema, key = found
        key_path: Path = type_schema.natural_key[0] if type_schema.natural_key else ()
        absent = doc.data.get("ensure") == "absent"
        if key in first_by_key:
            other_doc, other_path, other_absent, other_key = first_by_key[key]
            message = _same_key_message(type_schema, key, absent, other_doc.location(other_path), other_absent)
            if other_key.parts != key.parts:
                message += f" (it writes {other_key}: host names compare without regard to letter case or a final dot)"
            yield Problem(doc.location(key_path), json_path(key_path), message)
        else:
            first_by_key[key] = (doc, key_path, absent, key)
        if absent:  # a tombstone frees its unique values rather than claiming them
            continue
        for path in type_schema.unique:
            value = get_path(doc.data, path)
            if value is None or isinstance(value, dict | list):  # a wrong type: the schema check said so
                continue
            slot = (type_schema.name, dotted(path), value)
            if slot in first_by_unique:
                other = first_by_unique[slot][0].location(first_by_unique[slot][1])
                yield Problem(
                    doc.location(path),
                    json_path(path),
                    f"{json.dumps(value)} is already used by {other.file}:{other.line}; "
                    f"{path[-1]} must be unique across {type_schema.name} integrations",
                )
            else:
                first_by_unique[slot] = (doc, path)


def _same_key_message(
    type_schema: TypeSchema, key: IntegrationKey, absent: bool, other: SourceLocation, other_absent: bool
) -> str:
    first = f"{other.file}:{other.line}"
    if absent != other_absent:
        if absent:
            return f"this tombstone (ensure: absent) deletes {key}, which {first} declares; keep one of the two"
        return f"{key} is deleted by the tombstone (ensure: absent) in {first}; keep one of the two"
    if type_schema.natural_key == (("type",),):
        return f"a second {type_schema.name} integration (Immuta allows one per tenant); the first is in {first}"
    return f"{key} is also declared in {first}; one integration, one file"


def one_per_value(documents: Sequence[SourceDocument], schemas: SchemaSet) -> Iterator[Problem]:
    """A type's `x-one-per`: Immuta allows one integration per value of a field that is not the whole natural key
    (Synapse: one per host, docs/immuta-api.md §9.7), so a second file with that value would fail at the POST,
    after other writes; refused here instead. Values compare as the key field does (a host name as DNS does,
    A17). Tombstones claim nothing: they free the value."""
    first: dict[tuple[str, str], SourceDocument] = {}
    for doc in documents:
        found = identity(doc, schemas)
        one_per = found[0].rules.one_per if found is not None else None
        if found is None or one_per is None or doc.data.get("ensure") == "absent":
            continue
        type_schema = found[0]
        path, why = one_per
        value = get_path(doc.data, path)
        rule = type_schema.rules.key_compare.get(str(path[-1]), A17_EXACT)
        other = first.setdefault((type_schema.name, normalised(str(value), rule)), doc)
        if other is not doc and identity(other, schemas) != found:  # the same key is reported once, above
            where = other.location(path)
            yield Problem(
                doc.location(path),
                json_path(path),
                f"a second {type_schema.name} integration on {value} (the first is in {where.file}:{where.line}): "
                + why,
            )
