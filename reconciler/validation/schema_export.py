"""The schemas for editors and check-jsonschema: one self-contained folder, no network.

The installed schemas identify themselves as `https://reconciler.dev/schemas/…`, an address that serves
nothing; their `$ref`s are relative to that `$id`. Written without `$id`, each file's references resolve
against the file itself, so the folder works wherever it is copied (yaml-language-server, JetBrains,
`check-jsonschema --schemafile DIR/integration.schema.json`).

Editors validate the file as written, before the reconciler fills in an environment's values, so the written
schemas accept a reference wherever the reconciler accepts one, and no more:

- `${var:NAME}` in any non-secret value, the reconciler's own blocks (`lifecycle`) included (a whole-value
  reference keeps the value's type: `port: ${var:PORT}` is a number once filled in) — the value is checked by
  the reconciler after it is filled in;
- `${env:…}` / `${file:…}` nowhere but in a secret (writeOnly) field: the references gate
  (reconciler/references.py) refuses them in any other string;
- a secret only as `${env:…}` / `${file:…}` references, never a literal or a `${var:…}` (values files are in
  Git).
The reconciler's own validation reads the installed schemas, unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path as FsPath
from typing import Any

from reconciler import files
from reconciler.validation.schema import SCHEMA_BASE, SchemaSet, copy_json

VAR_DEF = "reconcilerVarReference"
VAR_REFERENCE: dict[str, Any] = {
    "type": "string",
    "pattern": r"\$\{var:[A-Za-z_][A-Za-z0-9_]*\}",
    "description": "A ${var:NAME} reference, filled in from the environment's values (environments/NAME.yaml).",
}
SECRET_REFERENCE_ONLY = r"^\s*(\$\{(env|file):[^}]+\}\s*)+$"
# Any other string holding one of these is refused, as the references gate refuses it.
NO_SECRET_REFERENCE: dict[str, Any] = {"type": "string", "pattern": r"\$\{(env|file):[^}]*\}"}
# Keywords that describe a value rather than constrain it: kept on the outer node, so hovers and
# completion still show them once the constraints move into `anyOf`.
_ANNOTATIONS = ("title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly", "$comment")
# Subschemas a value must satisfy. `if` (a condition) and `not` (a negation) are left as they are: a
# reference there would change which rule applies, or forbid what the file may write.
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_ONE = ("then", "else", "unevaluatedProperties", "contains")
_SCHEMA_MAPS = ("$defs", "dependentSchemas")
# The schemas of a field's value: `items` of a list, and the fields of a map (`previously`).
_VALUE_ONE = ("items", "additionalProperties")


def editor_schemas(schemas: SchemaSet) -> dict[str, dict[str, Any]]:
    """File name → self-contained schema document accepting references, for every installed schema."""
    written: dict[str, dict[str, Any]] = {}
    for uri, document in schemas.documents.items():
        name = uri.removeprefix(SCHEMA_BASE)
        root: dict[str, Any] = copy_json(document)
        root.pop("$id", None)
        converted = _Converter(root).node(root)
        converted.setdefault("$defs", {})[VAR_DEF] = dict(VAR_REFERENCE)
        written[name] = converted
    return dict(sorted(written.items()))


def write_schemas(folder: str | FsPath, schemas: SchemaSet) -> list[FsPath]:
    """Writes `editor_schemas()` into `folder` (created if needed); returns the files written, sorted."""
    target = FsPath(folder)
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, document in editor_schemas(schemas).items():
        path = target / name
        files.write_text(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n", what="JSON Schema")
        paths.append(path)
    return paths


class _Converter:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root

    def node(self, schema: Any) -> Any:
        """A copy of `schema` whose property and item values accept references as described above."""
        if not isinstance(schema, dict):
            return schema
        out = dict(schema)
        for key in ("properties", "patternProperties"):
            if isinstance(schema.get(key), dict):
                out[key] = {k: self.value(v) for k, v in schema[key].items()}
        for key in _VALUE_ONE:
            if isinstance(schema.get(key), dict):
                out[key] = self.value(schema[key])
        for key in _SCHEMA_LISTS:
            if isinstance(schema.get(key), list):
                out[key] = [self.node(member) for member in schema[key]]
        for key in _SCHEMA_ONE:
            if isinstance(schema.get(key), dict):
                out[key] = self.node(schema[key])
        for key in _SCHEMA_MAPS:
            if isinstance(schema.get(key), dict):
                out[key] = {k: self.node(v) for k, v in schema[key].items()}
        return out

    def value(self, schema: Any) -> Any:
        """The schema of one field's value."""
        if not isinstance(schema, dict):
            return schema
        if schema.get("writeOnly") is True:  # everything inside a secret is secret: left as it is
            return {**schema, "pattern": SECRET_REFERENCE_ONLY} if schema.get("type") == "string" else schema
        converted = self.node(schema)
        if self._types(converted) & {"object", "array"}:
            return converted  # a whole object cannot come from one value; its fields can
        annotations = {k: v for k, v in converted.items() if k in _ANNOTATIONS}
        rules = {k: v for k, v in converted.items() if k not in _ANNOTATIONS}
        accepted = {"anyOf": [rules, {"$ref": f"#/$defs/{VAR_DEF}"}]} if rules else {}
        return {**annotations, **accepted, "not": dict(NO_SECRET_REFERENCE)}

    def _types(self, schema: dict[str, Any], seen: int = 0) -> set[str]:
        """The JSON types a schema node declares, through local `$ref`s and `allOf`."""
        found: set[str] = set()
        declared = schema.get("type")
        found.update([declared] if isinstance(declared, str) else declared if isinstance(declared, list) else [])
        if "properties" in schema:
            found.add("object")
        for member in _members(schema):
            if seen < 8:  # the schemas nest a few levels; a cycle would be a schema bug, not a hang
                found |= self._types(self._resolve(member), seen + 1)
        return found

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            return target if isinstance(target, dict) else {}
        return schema


def _members(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if isinstance(schema.get("$ref"), str):
        yield {"$ref": schema["$ref"]}
    for member in schema.get("allOf", []):
        if isinstance(member, dict):
            yield member
