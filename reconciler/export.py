"""Adoption: existing integrations → desired-state files in the format users write by hand.

Names are deterministic so that a re-export lands on the same files:
- the file is `<type>-<natural key values>.yaml`, lower-case, every run of other characters a `-`
  (Snowflake, host `acme.us-east-1.snowflakecomputing.com` → `snowflake-acme-us-east-1-snowflakecomputing-com.yaml`);
- each secret is `${env:<TYPE>_<KEY>_<FIELD>}`, upper snake case, FIELD being the path under `config`
  (`SNOWFLAKE_ACME_US_EAST_1_SNOWFLAKECOMPUTING_COM_PASSWORD`, `…_PRIVATE_KEY_CONTENT`).
Immuta never returns secrets, so the secret fields a file needs are the ones its schema requires for the
integration's authenticationType (those whose placeholder removes a schema error), plus a nested optional
password next to a user name (a proxy's).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

import yaml

from reconciler.actual import ActualIntegration, ActualState
from reconciler.errors import ReconcilerError
from reconciler.model import Path
from reconciler.validation.schema import SchemaSet, TypeSchema
from reconciler.validation.schema_messages import validate
from reconciler.walk import delete_path, get_path, set_path

MAX_FILE_NAME_BYTES = 255  # NAME_MAX of ext4, APFS, NTFS (in UTF-16 units there; ASCII names here)
_WORD_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True, slots=True)
class ExportedFile:
    name: str  # file name, no folder
    text: str  # YAML, with a header comment
    integration: ActualIntegration
    env_names: tuple[str, ...]  # the ${env:…} placeholders the file uses


def slug(text: str) -> str:
    return _NOT_ALNUM.sub("-", text).strip("-").lower()


def snake(text: str, *, split_camel: bool = False) -> str:
    if split_camel:
        text = _WORD_BREAK.sub("_", text)
    return _NOT_ALNUM.sub("_", text).strip("_").upper()


def key_values(integration: ActualIntegration) -> list[str]:
    return [value for name, value in integration.key.parts if name != "type" and value]


def file_name(integration: ActualIntegration) -> str:
    return "-".join(slug(part) for part in [integration.key.type, *key_values(integration)]) + ".yaml"


def env_name(integration: ActualIntegration, path: Path) -> str:
    field = path[1:] if path[:1] == ("config",) else path
    words = [snake(word) for word in [integration.key.type, *key_values(integration)]]
    return "_".join([*words, *(snake(str(part), split_camel=True) for part in field)])


def _errors(schemas: SchemaSet, document: dict[str, Any]) -> int:
    return len(validate(schemas, document))


def secret_placeholders(schemas: SchemaSet, integration: ActualIntegration, document: dict[str, Any]) -> list[Path]:
    """The secret fields this integration's authentication needs: each one whose placeholder removes an
    error, repeated until nothing more helps (a nested secret may need its parent object first)."""
    type_schema = integration.type_schema
    chosen: list[Path] = []
    remaining = sorted(type_schema.secret_paths)
    improved = True
    while improved and remaining:
        improved = False
        for path in list(remaining):
            before = _errors(schemas, document)
            candidate = copy.deepcopy(document)
            set_path(candidate, path, "${env:" + env_name(integration, path) + "}")
            after = _errors(schemas, candidate)
            if after < before or (after == before and _goes_with_a_user_name(document, path)):
                document.clear()
                document.update(candidate)
                chosen.append(path)
                remaining.remove(path)
                improved = True
    return chosen


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


def export_state(
    actual: ActualState, schemas: SchemaSet, *, target: str, with_defaults: bool = False
) -> list[ExportedFile]:
    files: list[ExportedFile] = []
    for integration in actual.integrations:
        payload = copy.deepcopy(integration.payload)
        if not with_defaults:
            payload = without_defaults(integration.type_schema, payload)
        document = {"type": integration.key.type, **{k: v for k, v in payload.items() if k != "type"}}
        secrets = secret_placeholders(schemas, integration, document)
        names = tuple(env_name(integration, path) for path in secrets)
        files.append(
            ExportedFile(file_name(integration), _text(document, integration, names, target), integration, names)
        )
    return files


def _text(document: dict[str, Any], integration: ActualIntegration, names: Sequence[str], target: str) -> str:
    header = [
        f"# {integration.key} — exported by `reconciler export` from {target} (Immuta id {integration.id}).",
        "# The body of POST/PUT /integrations; values equal to a schema default are left out.",
    ]
    if names:
        header.append("# Immuta never returns secrets: set these before `reconciler apply`:")
        header.extend(f"#   {name}" for name in names)
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)
    return "\n".join(header) + "\n" + body


def write(files: Sequence[ExportedFile], out_dir: str, *, force: bool) -> list[FsPath]:
    """Writes every file, or none: an existing file without `force` is an error naming all of them."""
    folder = FsPath(out_dir)
    too_long = [f for f in files if len(f.name.encode()) > MAX_FILE_NAME_BYTES]
    if too_long:  # checked before the first write: a half-written export is worse than none
        raise ReconcilerError(
            f"nothing was exported: the file name of {', '.join(str(f.integration.key) for f in too_long)} would be "
            f"longer than the {MAX_FILE_NAME_BYTES} bytes a file system allows"
        )
    paths = [folder / f.name for f in files]
    existing = [str(p) for p in paths if p.exists()]
    if existing and not force:
        raise ReconcilerError("not overwriting existing file(s) (pass --force to replace them): " + ", ".join(existing))
    folder.mkdir(parents=True, exist_ok=True)
    for exported, path in zip(files, paths, strict=True):
        path.write_text(exported.text, encoding="utf-8")
    return paths
