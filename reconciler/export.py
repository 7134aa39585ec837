"""Adoption: existing integrations → desired-state files in the format users write by hand.

Names (export_names.py) are deterministic, so a re-export lands on the same files, and never shared:
`<type>-<natural key values>.yaml`, each secret `${env:<TYPE>_<KEY>_<FIELD>}` in upper snake case, FIELD
being the path under `config` (`SNOWFLAKE_ACME_US_EAST_1_SNOWFLAKECOMPUTING_COM_PASSWORD`).

What Immuta reports is not trusted to be safe for Git:
- a secret field is written as a reference whatever came back for it (omitted, masked, in clear); the
  references a file holds are the secret fields Immuta reported plus those its schema requires for the
  integration's authenticationType (those whose placeholder removes a schema error), plus a nested optional
  password next to a user name (a proxy's);
- a field the schemas do not know is never written as a value (it may be a secret of a newer release, or
  the Immuta API key Trino's GET returns): a comment names it. Such fields are never compared, so the next
  plan is empty all the same;
- a reported value that holds `${` would be read back as a reference (and could make apply read a local
  file and send it): the export is refused, naming it.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

import yaml

from reconciler import export_names
from reconciler import files as writer
from reconciler.actual import ActualIntegration, ActualState
from reconciler.errors import ReconcilerError
from reconciler.model import Path, dotted
from reconciler.validation.schema import SchemaSet, TypeSchema
from reconciler.validation.schema_messages import validate
from reconciler.walk import MISSING, delete_path, get_path, set_path

MAX_FILE_NAME_BYTES = 255  # NAME_MAX of ext4, APFS, NTFS (in UTF-16 units there; ASCII names here)
# Line breaks YAML knows (PyYAML reads YAML 1.1: NEL, LS and PS too) and other control characters: a
# server-chosen text put into a comment must not end it.
_NOT_IN_COMMENT = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True, slots=True)
class ExportedFile:
    name: str  # file name, no folder
    text: str  # YAML, with a header comment
    integration: ActualIntegration
    env_names: tuple[str, ...]  # the ${env:…} placeholders the file uses


def file_name(integration: ActualIntegration) -> str:
    """The name of one integration exported alone."""
    return export_names.assign([integration], [integration.type_schema.secret_paths])[0].file


def env_name(integration: ActualIntegration, path: Path) -> str:
    """The variable of one secret of one integration exported alone."""
    return export_names.assign([integration], [[path]])[0].variable(path)


def _errors(schemas: SchemaSet, document: dict[str, Any]) -> int:
    return len(validate(schemas, document))


def secret_placeholders(
    schemas: SchemaSet, integration: ActualIntegration, document: dict[str, Any], names: export_names.Names
) -> list[Path]:
    """The secret fields this integration's authentication needs: each one whose placeholder removes an
    error, repeated until nothing more helps (a nested secret may need its parent object first)."""
    chosen: list[Path] = []
    remaining = sorted(integration.type_schema.secret_paths)
    improved = True
    while improved and remaining:
        improved = False
        for path in list(remaining):
            before = _errors(schemas, document)
            candidate = copy.deepcopy(document)
            set_path(candidate, path, _reference(names, path))
            after = _errors(schemas, candidate)
            if after < before or (after == before and _goes_with_a_user_name(document, path)):
                document.clear()
                document.update(candidate)
                chosen.append(path)
                remaining.remove(path)
                improved = True
    return chosen


def _reference(names: export_names.Names, path: Path) -> str:
    return "${env:" + names.variable(path) + "}"


def _goes_with_a_user_name(document: dict[str, Any], path: Path) -> bool:
    """An optional nested password next to a user name (a proxy's) is needed all the same."""
    parent = get_path(document, path[:-1])
    return len(path) > 2 and path[-1] == "password" and isinstance(parent, dict) and "username" in parent


def _leaf_paths(value: Any, path: Path) -> Iterator[Path]:
    """Deepest paths first, so children are dropped before their parent is considered."""
    if isinstance(value, dict):
        for name, child in value.items():
            yield from _leaf_paths(child, (*path, name))
    if path:
        yield path


def without_defaults(type_schema: TypeSchema, payload: dict[str, Any]) -> dict[str, Any]:
    """Drop every value the schema defaults would put back: the file reads as if written by hand, and
    normalising it (what plan compares) gives the reported payload again."""
    full = type_schema.apply_defaults(payload)
    trimmed = copy.deepcopy(payload)
    for path in list(_leaf_paths(payload, ())):
        if path[0] == "type" or path[-1] not in _keys_at(trimmed, path):
            continue
        candidate = copy.deepcopy(trimmed)
        delete_path(candidate, path)
        if type_schema.apply_defaults(candidate) == full:
            trimmed = candidate
    return trimmed


def _keys_at(value: dict[str, Any], path: Path) -> list[Any]:
    parent = get_path(value, path[:-1])
    return list(parent) if isinstance(parent, dict) else []


def known_only(type_schema: TypeSchema, value: Any, path: Path, unknown: list[Path]) -> Any:
    """A copy of `value` with only the object keys the schema declares; the others' paths go to `unknown`."""
    if isinstance(value, dict):
        kept: dict[str, Any] = {}
        for name, child in value.items():
            if not isinstance(name, str) or type_schema.field((*path, name)) is None:
                unknown.append((*path, str(name)))
            else:
                kept[name] = known_only(type_schema, child, (*path, name), unknown)
        return kept
    if isinstance(value, list):
        return [known_only(type_schema, item, (*path, index), unknown) for index, item in enumerate(value)]
    return copy.deepcopy(value)


def _references_in(value: Any, path: Path) -> Iterator[Path]:
    if isinstance(value, dict):
        for name, child in value.items():
            yield from _references_in(child, (*path, name))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _references_in(child, (*path, index))
    elif isinstance(value, str) and "${" in value:
        yield path


def _document(
    schemas: SchemaSet, integration: ActualIntegration, names: export_names.Names, with_defaults: bool
) -> tuple[dict[str, Any], list[Path], list[Path]]:
    """The file's document, the secret paths it references, and the reported paths left out as unknown."""
    type_schema = integration.type_schema
    unknown: list[Path] = list(integration.unknown)  # dropped as Immuta's answer was read (reconciler/shown.py)
    payload = known_only(type_schema, integration.payload, (), unknown)
    reported = [p for p in sorted(type_schema.secret_paths) if get_path(payload, p, MISSING) not in (MISSING, None)]
    for path in type_schema.secret_paths:
        delete_path(payload, path)  # whatever came back — omitted, masked, in clear — it is never written
    if not with_defaults:
        payload = without_defaults(type_schema, payload)
    quoting = [dotted(p) for p in _references_in(payload, ())]
    if quoting:
        raise ReconcilerError(
            f"cannot export {integration.key} (id {integration.id}): Immuta reports {', '.join(quoting)} "
            "with a `${` in the value, which a desired-state file would read as a reference; nothing was written"
        )
    document = {"type": integration.key.type, **{k: v for k, v in payload.items() if k != "type"}}
    for path in reported:
        set_path(document, path, _reference(names, path))
    needed = secret_placeholders(schemas, integration, document, names)
    return document, sorted({*reported, *needed}), sorted(unknown, key=dotted)


def export_state(
    actual: ActualState, schemas: SchemaSet, *, target: str, with_defaults: bool = False
) -> list[ExportedFile]:
    integrations = list(actual.integrations)
    all_names = export_names.assign(integrations, [i.type_schema.secret_paths for i in integrations])
    files: list[ExportedFile] = []
    for integration, names in zip(integrations, all_names, strict=True):
        document, secrets, unknown = _document(schemas, integration, names, with_defaults)
        variables = tuple(names.variable(path) for path in secrets)
        left_out = tuple(dotted(path) for path in unknown)
        text = _text(document, integration, variables, left_out, target)
        files.append(ExportedFile(names.file, text, integration, variables))
    return files


def _comment(text: str) -> str:
    return _NOT_IN_COMMENT.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _text(
    document: dict[str, Any],
    integration: ActualIntegration,
    names: Sequence[str],
    left_out: Sequence[str],
    target: str,
) -> str:
    header = [
        f"# {integration.key} — exported by `reconciler export` from {target} (Immuta id {integration.id}).",
        "# The body of POST/PUT /integrations; values equal to a schema default are left out.",
    ]
    if names:
        header.append("# Secrets are never exported, whatever Immuta returns: set these before `reconciler apply`:")
        header.extend(f"#   {name}" for name in names)
    if left_out:
        header.append("# Not exported: fields Immuta reports that the schemas do not know (never compared):")
        header.append(f"#   {', '.join(left_out)}")
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)
    return "\n".join(_comment(line) for line in header) + "\n" + body


def write(files: Sequence[ExportedFile], out_dir: str, *, force: bool) -> list[FsPath]:
    """Writes every file, or none: an existing file without `force` is an error naming all of them. Each
    file is created exclusively unless `force`, so nothing written meanwhile (or by this run) is replaced."""
    folder = FsPath(out_dir)
    too_long = [f for f in files if len(f.name.encode()) > MAX_FILE_NAME_BYTES]
    if too_long:  # checked before the first write: a half-written export is worse than none
        raise ReconcilerError(
            f"nothing was exported: the file name of {', '.join(str(f.integration.key) for f in too_long)} would be "
            f"longer than the {MAX_FILE_NAME_BYTES} bytes a file system allows"
        )
    paths = [folder / f.name for f in files]
    taken = [p.name.lower() for p in paths]
    shared = sorted({str(p) for p in paths if taken.count(p.name.lower()) > 1})
    if shared:  # export_names never lets this happen: refuse rather than let one file replace another
        raise ReconcilerError("two integrations would be written to one file: " + ", ".join(shared))
    existing = [str(p) for p in paths if os.path.lexists(p)]
    if existing and not force:
        raise ReconcilerError("not overwriting existing file(s) (pass --force to replace them): " + ", ".join(existing))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for exported, path in zip(files, paths, strict=True):
            writer.write_text(path, exported.text, what="exported integration", replace=force)
    except OSError as exc:
        raise ReconcilerError(f"cannot write {exc.filename or out_dir}: {exc.strerror or exc}") from None
    return paths
